import { useEffect, useState } from 'preact/hooks';

/** A small history-API router for paths under /dashboard (hookd answers index.html for every page path). */

export const BASE = '/dashboard';

export type Route =
  | { page: 'login' }
  | { page: 'apps' }
  | { page: 'endpoints'; appId: string }
  | { page: 'messages'; appId: string }
  | { page: 'message'; appId: string; msgId: string }
  | { page: 'dead-letters'; appId: string }
  | { page: 'not-found' };

export function parse(pathname: string): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  const parts = rest.split('/').filter((p) => p.length > 0).map(decodeURIComponent);
  if (parts.length === 0) return { page: 'apps' };
  if (parts.length === 1 && parts[0] === 'login') return { page: 'login' };
  if (parts[0] === 'app' && parts[1]) {
    const appId = parts[1];
    if (parts.length === 2 || (parts.length === 3 && parts[2] === 'messages')) return { page: 'messages', appId };
    if (parts.length === 3 && parts[2] === 'endpoints') return { page: 'endpoints', appId };
    if (parts.length === 3 && parts[2] === 'dead-letters') return { page: 'dead-letters', appId };
    if (parts.length === 4 && parts[2] === 'messages' && parts[3]) return { page: 'message', appId, msgId: parts[3] };
  }
  return { page: 'not-found' };
}

export function href(route: Route): string {
  const e = encodeURIComponent;
  switch (route.page) {
    case 'login':
      return `${BASE}/login`;
    case 'apps':
    case 'not-found':
      return `${BASE}/`;
    case 'endpoints':
      return `${BASE}/app/${e(route.appId)}/endpoints`;
    case 'messages':
      return `${BASE}/app/${e(route.appId)}/messages`;
    case 'message':
      return `${BASE}/app/${e(route.appId)}/messages/${e(route.msgId)}`;
    case 'dead-letters':
      return `${BASE}/app/${e(route.appId)}/dead-letters`;
  }
}

const listeners = new Set<() => void>();

export function navigate(to: Route | string, replace = false): void {
  const url = typeof to === 'string' ? to : href(to);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const listener of listeners) listener();
}

window.addEventListener('popstate', () => {
  for (const listener of listeners) listener();
});

/** The current route; re-renders on navigation. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.pathname));
  useEffect(() => {
    const update = () => setRoute(parse(location.pathname));
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return route;
}
