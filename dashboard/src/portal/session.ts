import { ApiError, get } from '../api';
import { setToken } from '../session';
import type { ThemeInput } from './theme';

/** GET /api/v1/auth/app-portal-session: whose token this is. */
export interface PortalSession {
  app: { id: string; uid?: string; name: string };
  readOnly: boolean;
  /** The Svix capabilities the token has (all, unless it was given some). */
  capabilities: string[];
  expiresAt: string | null;
  theme: ThemeInput;
}

/** The link's theme parameters, kept for this tab like the token (the fragment is gone after the first load). */
const THEME_KEY = 'hookd.portal.theme';
let fromLink: ThemeInput | null = null;

/**
 * Takes the token (and theme parameters) out of the URL fragment: into sessionStorage, and off the address bar
 * and history (replaceState), so the token is never in a URL that is sent, bookmarked or shared by accident.
 */
export function takeLinkFragment(): void {
  if (!location.hash) return;
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (token) {
    setToken(token);
    fromLink = { accent: params.get('accent'), logo: params.get('logo'), theme: params.get('theme') };
    try {
      sessionStorage.setItem(THEME_KEY, JSON.stringify(fromLink));
    } catch {
      // Storage refused: the theme holds for this page only.
    }
  }
  history.replaceState(history.state, '', `${location.pathname}${location.search}`);
}

/** The theme parameters of the link this tab was opened with. */
export function linkTheme(): ThemeInput {
  if (fromLink) return fromLink;
  try {
    const stored = JSON.parse(sessionStorage.getItem(THEME_KEY) ?? '{}') as unknown;
    return stored && typeof stored === 'object' ? (stored as ThemeInput) : {};
  } catch {
    return {};
  }
}

export type SessionResult = { kind: 'ok'; session: PortalSession } | { kind: 'refused'; expired: boolean } | { kind: 'error'; message: string };

export async function loadSession(): Promise<SessionResult> {
  try {
    return { kind: 'ok', session: await get<PortalSession>('/api/v1/auth/app-portal-session') };
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return { kind: 'refused', expired: /expired/.test(error.message) };
    return { kind: 'error', message: (error as Error).message };
  }
}
