import { useEffect, useState } from 'preact/hooks';
import { ApiError, get } from './api';
import { getToken } from './session';

/**
 * What the logged-in token may do. Admin-only routes answer a key scoped to one application 403, so the pages
 * hide what would only fail. Asked once per token: the API-key list is the cheapest admin-only read. The app
 * portal knows already (its session says whether the token is read-only) and says so with knownAccess.
 */
export type Access = 'admin' | 'scoped' | 'read-only';

let known: { token: string; access: Promise<Access>; value?: Access } | null = null;

/** Sets the access of `token` without asking the API (the portal's session told it). */
export function knownAccess(token: string, access: Access): void {
  known = { token, access: Promise.resolve(access), value: access };
}

function accessOf(token: string): Promise<Access> {
  if (known?.token !== token) {
    const access = get('/api/v1/api-key').then(
      (): Access => 'admin',
      (error: unknown): Access => {
        if (error instanceof ApiError && error.status === 403) return 'scoped';
        known = null; // not an answer about the key (offline): ask again next time
        throw error;
      },
    );
    known = { token, access };
  }
  return known.access;
}

/** The token's access, undefined until known (pages show admin-only controls only once it is 'admin'). */
export function useAccess(): Access | undefined {
  const [access, setAccess] = useState<Access | undefined>(() => (known?.token === getToken() ? known?.value : undefined));
  useEffect(() => {
    const token = getToken();
    if (!token) return;
    let current = true;
    accessOf(token).then(
      (value) => current && setAccess(value),
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, []);
  return access;
}

/** Whether the token may change things: every token but a read-only app-portal token (write controls hide). */
export function useCanWrite(): boolean {
  return useAccess() !== 'read-only';
}
