import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hashToken } from '../auth/api-keys.js';
import { HookdError } from '../domain/errors.js';

/** Authenticates every /api/ request by bearer token; sets request.principal. */
export function installAuth(app: FastifyInstance): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (!needsAuth(request)) return;
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new HookdError('HOOKD_ERR_AUTHENTICATION', 'missing bearer token (Authorization: Bearer <token>)');
    const key = await app.hookd.store.findApiKeyByHash(hashToken(match[1]!));
    if (!key) throw new HookdError('HOOKD_ERR_AUTHENTICATION', 'invalid or revoked token');
    request.principal = { keyId: key.id, appId: key.appId };
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
