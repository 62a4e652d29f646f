import { useEffect, useState } from 'preact/hooks';
import { ApiError, get } from './api';
import { getToken } from './session';

/**
 * What the logged-in token may do. Admin-only routes answer a key scoped to one application 403, so the pages
 * hide what would only fail. Asked once per token: the API-key list is the cheapest admin-only read. The app
 * portal knows already (its session says whether the token is read-only, and its Svix capabilities) and says so
 * with knownAccess.
 */
export type Access = 'admin' | 'scoped' | 'read-only';

/** Svix's app-portal capabilities (the API enforces them route by route: src/api/capabilities.ts). */
export type Capability = 'ViewBase' | 'ViewEndpointSecret' | 'ManageEndpointSecret' | 'ManageTransformations' | 'CreateAttempts' | 'ManageEndpoint';

let known: { token: string; access: Promise<Access>; value?: Access } | null = null;
/** The portal token's capabilities; null: not limited (the dashboard's keys). */
let capabilities: { token: string; granted: ReadonlySet<string> } | null = null;

/** Sets the access of `token` without asking the API (the portal's session told it), and what it may do. */
export function knownAccess(token: string, access: Access, granted?: readonly string[]): void {
  known = { token, access: Promise.resolve(access), value: access };
  capabilities = granted ? { token, granted: new Set(granted) } : null;
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

/**
 * Whether the token may change the application itself (its name and throttle): a dashboard key that may write. An
 * app-portal token never shows it: its customer manages endpoints, not the application (one given capabilities
 * would be refused).
 */
export function useCanEditApp(): boolean {
  const canWrite = useCanWrite();
  return canWrite && (capabilities === null || capabilities.token !== getToken());
}

/**
 * Whether the token has `capability`: a portal token only those its session names (the API lists the ones a
 * capability includes too); other tokens all.
 */
export function useCan(capability: Capability): boolean {
  const canWrite = useCanWrite();
  if (capabilities === null || capabilities.token !== getToken()) return canWrite || capability.startsWith('View');
  return capabilities.granted.has(capability);
}
