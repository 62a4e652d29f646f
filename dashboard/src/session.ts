/**
 * The API token lives in this tab's sessionStorage only: never localStorage, never a cookie. Closing the tab
 * forgets it, and since the browser never attaches it by itself, there is no CSRF surface. The dashboard and the
 * app portal keep theirs under different names (setTokenKey), so one never signs the other in. Where the browser
 * refuses sessionStorage (some framed contexts), the token lives in this page's memory until it is left.
 */
let KEY = 'hookd.token';
/** Where the token stays when sessionStorage is refused (a framed page whose storage the browser blocks). */
let memory: string | null = null;

/** The sessionStorage name of this page's token; called once, before the first render. */
export function setTokenKey(key: string): void {
  KEY = key;
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(KEY) ?? memory;
  } catch {
    return memory;
  }
}

export function setToken(token: string): void {
  try {
    sessionStorage.setItem(KEY, token);
  } catch {
    memory = token;
  }
}

export function clearToken(): void {
  memory = null;
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // Nothing was stored there.
  }
}
