import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hashToken } from '../auth/api-keys.js';
import { HookdError } from '../domain/errors.js';
import type { Principal } from './context.js';

/**
 * How long a valid key is remembered by this process. Every request used to cost a database round trip for its
 * key (a tenth of ingest CPU on SQLite, a round trip each on PostgreSQL); a revocation now takes effect at once
 * in the process that revoked the key and within this time in the others.
 */
export const KEY_CACHE_MS = 1000;
const KEY_CACHE_MAX = 10_000;

declare module 'fastify' {
  interface FastifyInstance {
    /** Drops this process's remembered keys (after a revocation). */
    forgetApiKeys(): void;
  }
}

/** Authenticates every /api/ request by bearer token; sets request.principal. */
export function installAuth(app: FastifyInstance): void {
  const remembered = new Map<string, { principal: Principal; until: number }>();
  app.decorate('forgetApiKeys', () => remembered.clear());
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (!needsAuth(request)) return;
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new HookdError('HOOKD_ERR_AUTHENTICATION', 'missing bearer token (Authorization: Bearer <token>)');
    const hash = hashToken(match[1]!);
    const now = performance.now();
    const known = remembered.get(hash);
    if (known && known.until > now) {
      request.principal = known.principal;
      return;
    }
    const key = await app.hookd.store.findApiKeyByHash(hash);
    if (!key) throw new HookdError('HOOKD_ERR_AUTHENTICATION', 'invalid or revoked token');
    request.principal = { keyId: key.id, appId: key.appId };
    if (remembered.size >= KEY_CACHE_MAX) remembered.clear();
    remembered.set(hash, { principal: request.principal, until: now + KEY_CACHE_MS });
  });
}

/**
 * Decided on the route the router matched, not on the raw URL: the router percent-decodes paths, so a raw-URL
 * check would let `/%61pi/v1/event-type` reach an /api/ route unauthenticated. Unmatched URLs (404s) under
 * /api/ still need a token, so route existence is not revealed to anonymous callers.
 */
function needsAuth(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  let path = route ?? request.url.split('?')[0]!;
  if (route === undefined) {
    try {
      path = decodeURIComponent(path);
    } catch {
      // Undecodable: judged as sent.
    }
  }
  return path.startsWith('/api/') && path !== '/api/v1/health';
}
