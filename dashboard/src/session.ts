/**
 * The API token lives in this tab's sessionStorage only: never localStorage, never a cookie. Closing the tab
 * forgets it, and since the browser never attaches it by itself, there is no CSRF surface. The dashboard and the
 * app portal keep theirs under different names (setTokenKey), so one never signs the other in.
 */
let KEY = 'hookd.token';

/** The sessionStorage name of this page's token; called once, before the first render. */
export function setTokenKey(key: string): void {
  KEY = key;
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}
