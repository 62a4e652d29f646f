/**
 * The API token lives in this tab's sessionStorage only: never localStorage, never a cookie. Closing the tab
 * forgets it, and since the browser never attaches it by itself, there is no CSRF surface.
 */
const KEY = 'hookd.token';

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
