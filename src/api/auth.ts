import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hashToken } from '../auth/api-keys.js';
import { HookdError } from '../domain/errors.js';

/** Authenticates every /api/ request by bearer token; sets request.principal. */
export function installAuth(app: FastifyInstance): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (!request.url.startsWith('/api/') || request.url.startsWith('/api/v1/health')) return;
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new HookdError('HOOKD_ERR_AUTHENTICATION', 'missing bearer token (Authorization: Bearer <token>)');
    const key = await app.hookd.store.findApiKeyByHash(hashToken(match[1]!));
    if (!key) throw new HookdError('HOOKD_ERR_AUTHENTICATION', 'invalid or revoked token');
    request.principal = { keyId: key.id, appId: key.appId };
  });
}
