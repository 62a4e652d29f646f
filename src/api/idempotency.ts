import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HookdError } from '../domain/errors.js';

/** An in-progress key older than this is taken over: its first request died before answering. */
const STALE_IN_PROGRESS_MS = 60_000;
const MAX_KEY_LENGTH = 256;

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { scope: string; key: string } | null;
  }
}

/**
 * `idempotency-key` on every POST: the first request with a key runs and its response is stored; a repeat
 * (same caller, same key, same request) gets the stored response replayed; a repeat while the first still
 * runs gets 409; reusing a key for a different request gets 422. Responses that say "try again" are not stored
 * (5xx, and 429 Too Many Requests): the key is forgotten, so the retry with it runs.
 */
export function installIdempotency(app: FastifyInstance): void {
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || typeof key !== 'string' || !request.principal) return;
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new HookdError('HOOKD_ERR_VALIDATION', 'invalid idempotency-key', [
        { loc: ['header', 'idempotency-key'], msg: `must be 1 to ${MAX_KEY_LENGTH} characters`, type: 'value_error' },
      ]);
    }
    const { store, clock, config } = app.hookd;
    const scope = request.principal.keyId;
    // The body as sent, not re-serialised: a payload that differs in any byte is delivered differently.
    const requestHash = createHash('sha256').update(`${request.method} ${request.url}\n${request.bodyText ?? ''}`).digest('hex');
    const state = await store.beginIdempotent(scope, key, requestHash, clock(), STALE_IN_PROGRESS_MS, config.idempotencyTtlMs);
    switch (state.state) {
      case 'new':
        request.idempotency = { scope, key };
        return;
      case 'done':
        return reply.code(state.response.status).header('idempotent-replayed', 'true').type('application/json').send(state.response.body);
      case 'in_progress':
        throw new HookdError('HOOKD_ERR_IDEMPOTENCY_IN_PROGRESS', 'a request with this idempotency-key is still in progress');
      case 'mismatch':
        throw new HookdError('HOOKD_ERR_VALIDATION', 'idempotency-key reused for a different request', [
          { loc: ['header', 'idempotency-key'], msg: 'this key was already used for a different request', type: 'value_error.idempotency' },
        ]);
    }
  });

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const idempotency = request.idempotency;
    if (!idempotency) return payload;
    request.idempotency = null;
    const retryable = reply.statusCode >= 500 || reply.statusCode === 429;
    const stored = retryable ? null : { status: reply.statusCode, body: typeof payload === 'string' ? payload : '' };
    try {
      await app.hookd.store.finishIdempotent(idempotency.scope, idempotency.key, stored);
    } catch (error) {
      // The request's own work is done (a message stored): its answer must say so, not "try again" (a 503 here sent
      // the client's retry into a second message). The key stays in progress: a repeat within STALE_IN_PROGRESS_MS
      // gets 409, a later one runs again.
      request.log.warn({ err: error }, 'could not record the response of an idempotency-key; the response is sent anyway');
    }
    return payload;
  });
}
