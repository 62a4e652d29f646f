import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hashToken } from '../auth/api-keys.js';
import { HookdError } from '../domain/errors.js';
import { checkCapabilities, limitsOf } from './capabilities.js';
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
    let principal: Principal;
    if (known && known.until > now) {
      principal = known.principal;
    } else {
      const key = await app.hookd.store.findApiKeyByHash(hash);
      if (!key) throw new HookdError('HOOKD_ERR_AUTHENTICATION', 'invalid or revoked token');
      principal = { keyId: key.id, appId: key.appId, expiresAt: key.expiresAt, readOnly: key.readOnly, capabilities: limitsOf(key) };
      if (remembered.size >= KEY_CACHE_MAX) remembered.clear();
      remembered.set(hash, { principal, until: now + KEY_CACHE_MS });
    }
    if (principal.expiresAt !== null && principal.expiresAt <= app.hookd.clock()) throw new HookdError('HOOKD_ERR_AUTHENTICATION', 'the token has expired');
    // A read-only token's limits are the read capabilities (limitsOf): one check serves both.
    if (principal.capabilities !== null) checkCapabilities(principal.capabilities, request.method, request.routeOptions.url === undefined ? undefined : request.routeOptions.config);
    request.principal = principal;
  });
}

/** Svix's health checks answer without a token. */
const PUBLIC_API_ROUTES = new Set(['/api/v1/health', '/api/v1/health/ping']);

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
  return path.startsWith('/api/') && !PUBLIC_API_ROUTES.has(path);
}
