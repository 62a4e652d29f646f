import { hash } from 'node:crypto';
import { ConfigError } from '../config.js';
import { newId, randomToken } from '../domain/ids.js';
import type { ApiKey, PortalCapability } from '../domain/types.js';
import type { Store } from '../store/store.js';

/**
 * API keys are random tokens shown once at creation; only their SHA-256 is stored, and a request's token
 * is found by the hash of what it presents (an index lookup, so no secret-dependent comparison happens).
 */
export const TOKEN_PREFIX = 'hookd_';

export function hashToken(token: string): string {
  // One-shot hash (Node >= 20.12): no Hash object per request, 2.4x faster than createHash for a token.
  return hash('sha256', token, 'hex');
}

const newToken = (): string => `${TOKEN_PREFIX}${randomToken(32)}`;

type KeyOptions = { appId: string | null; name: string; nowMs?: number; expiresAt?: number | null; readOnly?: boolean; capabilities?: PortalCapability[] | null };

/** The stored record of a new key whose token is `token`. */
function newKey(options: KeyOptions, token: string): ApiKey {
  return {
    id: newId('key'),
    appId: options.appId,
    name: options.name,
    prefix: token.slice(0, TOKEN_PREFIX.length + 6),
    createdAt: options.nowMs ?? Date.now(),
    revokedAt: null,
    expiresAt: options.expiresAt ?? null,
    readOnly: options.readOnly ?? false,
    capabilities: options.capabilities ?? null,
  };
}

export async function createApiKey(
  store: Store,
  options: KeyOptions & { token?: string },
): Promise<{ key: ApiKey; token: string }> {
  const token = options.token ?? newToken();
  const key = newKey(options, token);
  await store.createApiKey(key, hashToken(token));
  return { key, token };
}

/**
 * An app-portal token (POST /api/v1/auth/app-portal-access/{app_id}): a key scoped to one application that
 * expires, and may be read-only or limited to Svix capabilities (src/api/capabilities.ts). It is the only kind of key that expires, and the only kind that may log itself
 * out (POST /api/v1/auth/logout); other keys are revoked through /api/v1/api-key.
 */
export async function createPortalToken(
  store: Store,
  options: { appId: string; nowMs: number; expiresInMs: number; readOnly: boolean; capabilities: PortalCapability[] | null },
): Promise<{ key: ApiKey; token: string }> {
  return createApiKey(store, {
    appId: options.appId,
    name: options.readOnly ? 'app portal (read-only)' : options.capabilities ? `app portal (${options.capabilities.join(', ')})` : 'app portal',
    nowMs: options.nowMs,
    expiresAt: options.nowMs + options.expiresInMs,
    readOnly: options.readOnly,
    capabilities: options.capabilities,
  });
}

export const isPortalToken = (key: Pick<ApiKey, 'expiresAt'>): boolean => key.expiresAt !== null;

/** Ensures `token` is an active admin key (HOOKD_ADMIN_TOKEN); returns true if it was created now. */
export async function ensureAdminToken(store: Store, token: string): Promise<boolean> {
  if (await store.findApiKeyByHash(hashToken(token))) return false;
  try {
    await createApiKey(store, { appId: null, name: 'HOOKD_ADMIN_TOKEN', token });
    return true;
  } catch (error) {
    // Several processes starting at once on one database race to insert it: losing that race is fine.
    if (await store.findApiKeyByHash(hashToken(token))) return false;
    // A unique violation without an active key: the hash belongs to a revoked key, and revocation is final.
    if (/unique/i.test((error as Error | null)?.message ?? '')) {
      throw new ConfigError('HOOKD_ADMIN_TOKEN was revoked and is never re-activated; set a new token (or unset it and use another admin key)', { cause: error });
    }
    throw error;
  }
}

/**
 * Creates a first admin key when none exists; returns its token (shown once) or null. Processes starting at once on
 * one empty database make one key between them (Store.createFirstAdminKey); the others print none.
 */
export async function bootstrapAdminKey(store: Store): Promise<string | null> {
  const token = newToken();
  const key = newKey({ appId: null, name: 'bootstrap' }, token);
  return (await store.createFirstAdminKey(key, hashToken(token))) ? token : null;
}
