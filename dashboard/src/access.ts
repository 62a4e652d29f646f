import { useEffect, useState } from 'preact/hooks';
import { ApiError, get } from './api';
import { getToken } from './session';

/**
 * What the logged-in token may do. Admin-only routes answer a key scoped to one application 403, so the pages
 * hide what would only fail. Asked once per token: the API-key list is the cheapest admin-only read.
 */
export type Access = 'admin' | 'scoped';

let known: { token: string; access: Promise<Access> } | null = null;

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
  const [access, setAccess] = useState<Access | undefined>(undefined);
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
