import { useEffect, useState } from 'preact/hooks';

/**
 * A small history-API router for paths under /dashboard (hookd answers index.html for every page path). A page's
 * filters and list position live in the query string, so bookmarks and Back bring them back.
 *
 * The app portal uses the same routes under /portal with the pages it has (configureRouter): the pages and their
 * links are shared, and a path naming a page the portal does not have is not found.
 */

let BASE = '/dashboard';
let available: ReadonlySet<Route['page']> | null = null;

/** Where the routes live, and which pages exist there (default: all). Called once, before the first render. */
export function configureRouter(options: { base: string; pages?: Route['page'][] }): void {
  BASE = options.base;
  available = options.pages ? new Set<Route['page']>([...options.pages, 'not-found']) : null;
}

/** Whether this surface has the page (the portal has no dead letters, sources, API keys or application list). */
export function hasPage(page: Route['page']): boolean {
  return available === null || available.has(page);
}

export type Route =
  | { page: 'login' }
  | { page: 'apps' }
  | { page: 'event-types' }
  | { page: 'api-keys' }
  | { page: 'endpoints'; appId: string }
  | { page: 'endpoint'; appId: string; endpointId: string }
  | { page: 'messages'; appId: string }
  | { page: 'message'; appId: string; msgId: string }
  | { page: 'attempt'; appId: string; msgId: string; attemptId: string }
  | { page: 'dead-letters'; appId: string }
  | { page: 'sources'; appId: string }
  | { page: 'not-found' };

export function parse(pathname: string): Route {
  const route = parseAll(pathname);
  return hasPage(route.page) ? route : { page: 'not-found' };
}

function parseAll(pathname: string): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  const parts = rest.split('/').filter((p) => p.length > 0).map(decodeURIComponent);
  const [first, appId, section, id, sub, subId] = parts;
  if (parts.length === 0) return { page: 'apps' };
  if (parts.length === 1 && (first === 'login' || first === 'event-types' || first === 'api-keys')) return { page: first };
  if (first !== 'app' || !appId) return { page: 'not-found' };
  if (parts.length === 2 || (parts.length === 3 && section === 'messages')) return { page: 'messages', appId };
  if (parts.length === 3 && (section === 'endpoints' || section === 'dead-letters' || section === 'sources')) return { page: section, appId };
  if (parts.length === 4 && section === 'endpoints' && id) return { page: 'endpoint', appId, endpointId: id };
  if (parts.length === 4 && section === 'messages' && id) return { page: 'message', appId, msgId: id };
  if (parts.length === 6 && section === 'messages' && id && sub === 'attempts' && subId) return { page: 'attempt', appId, msgId: id, attemptId: subId };
  return { page: 'not-found' };
}

export function href(route: Route, search?: URLSearchParams): string {
  const e = encodeURIComponent;
  const app = 'appId' in route ? `${BASE}/app/${e(route.appId)}` : '';
  let path: string;
  switch (route.page) {
    case 'login':
    case 'event-types':
    case 'api-keys':
      path = `${BASE}/${route.page}`;
      break;
    case 'apps':
    case 'not-found':
      path = `${BASE}/`;
      break;
    case 'endpoints':
    case 'messages':
    case 'dead-letters':
    case 'sources':
      path = `${app}/${route.page}`;
      break;
    case 'endpoint':
      path = `${app}/endpoints/${e(route.endpointId)}`;
      break;
    case 'message':
      path = `${app}/messages/${e(route.msgId)}`;
      break;
    case 'attempt':
      path = `${app}/messages/${e(route.msgId)}/attempts/${e(route.attemptId)}`;
      break;
  }
  const query = search?.toString();
  return query ? `${path}?${query}` : path;
}

const listeners = new Set<() => void>();

export function navigate(to: Route | string, replace = false): void {
  const url = typeof to === 'string' ? to : href(to);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const listener of listeners) listener();
}

/** The same page with another query string: a history entry of its own, so Back returns to the previous one. */
export function setQuery(params: Record<string, string | undefined>): void {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) search.set(name, value);
  const text = search.toString();
  navigate(`${location.pathname}${text ? `?${text}` : ''}`);
}

window.addEventListener('popstate', () => {
  for (const listener of listeners) listener();
});

/** Re-renders on every navigation and returns what `read` makes of the location. */
function useLocation<T>(read: () => T): T {
  const [value, setValue] = useState(read);
  useEffect(() => {
    const update = () => setValue(read);
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return value;
}

/** The current route; re-renders on navigation. */
export function useRoute(): Route {
  return useLocation(() => parse(location.pathname));
}

/** The query string as text (stable for hook dependencies); re-renders on navigation. */
export function useSearch(): string {
  return useLocation(() => location.search);
}
