import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HookdError } from '../domain/errors.js';

/** An in-progress key older than this is taken over: its first request died before answering. */
const STALE_IN_PROGRESS_MS = 60_000;
const MAX_KEY_LENGTH = 256;
/** How long a repeat waits for the first request with its key to finish before it answers 409 (Svix waits too). */
const IN_PROGRESS_WAIT_MS = 5_000;
/**
 * A key's outcome that could not be recorded (the database away when the request ended) is tried again every
 * second, until well before another request could take the key over as stale.
 */
const FINISH_RETRY_MS = 1_000;
const FINISH_RETRY_FOR_MS = STALE_IN_PROGRESS_MS - 10_000;

declare module 'fastify' {
  interface FastifyRequest {
    /** The key this request holds, and when it took it. */
    idempotency: { scope: string; key: string; takenAt: number } | null;
  }
}

/**
 * `idempotency-key` on every POST: the first request with a key runs and its response is stored; a repeat
 * (same caller, same key, same URL, same body) gets the stored response replayed. As in Svix, a key belongs to the API
 * key and the URL it was sent to: the same key sent to another URL (one event id used as the key when it is sent to
 * several applications) is another request, not a reuse; a repeat while the first still runs
 * waits for it up to IN_PROGRESS_WAIT_MS, then gets 409; reusing a key on the same URL with a different body gets 422. As in
 * Svix, only a success (2xx) is stored: after any other answer the key is forgotten, so a retry with it runs (a 404
 * for an application not created yet, a 503 while the database was away, a 429).
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
    // The caller and the URL (path and query, as Svix's key has them), hashed: a URL may be longer than an index entry.
    const scope = `${request.principal.keyId}:${createHash('sha256').update(request.url).digest('base64url')}`;
    // The body as sent, not re-serialised: a payload that differs in any byte is delivered differently.
    const requestHash = createHash('sha256').update(`${request.method} ${request.url}\n${request.bodyText ?? ''}`).digest('hex');
    let takenAt = clock();
    const begin = () => store.beginIdempotent(scope, key, requestHash, (takenAt = clock()), STALE_IN_PROGRESS_MS, config.idempotencyTtlMs);
    let state = await begin();
    // A repeat while the first request runs (or while its outcome waits to be recorded) waits for it, briefly.
    const waitUntil = clock() + IN_PROGRESS_WAIT_MS;
    for (let pause = 50; state.state === 'in_progress' && clock() + pause <= waitUntil; pause = Math.min(pause * 2, 500)) {
      await new Promise((resolve) => setTimeout(resolve, pause));
      state = await begin();
    }
    switch (state.state) {
      case 'new':
        request.idempotency = { scope, key, takenAt };
        return;
      case 'done':
        return reply.code(state.response.status).header('idempotent-replayed', 'true').type('application/json').send(state.response.body);
      case 'in_progress':
        reply.header('retry-after', '1');
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
    const stored = reply.statusCode >= 200 && reply.statusCode < 300 ? { status: reply.statusCode, body: typeof payload === 'string' ? payload : '' } : null;
    const finish = () => app.hookd.store.finishIdempotent(idempotency.scope, idempotency.key, stored);
    try {
      await finish();
    } catch (error) {
      // The request's own work is done (a message stored): its answer must say so, not "try again" (a 503 here sent
      // the client's retry into a second message). The key stays in progress, and its outcome is recorded once the
      // database takes it: a repeat meanwhile waits, then gets 409.
      request.log.warn({ err: error }, 'could not record the outcome of an idempotency-key; the response is sent anyway, and the outcome recorded later');
      // Until well before another request could take the key over as stale (counted from when this one took it).
      finishLater(finish, idempotency.takenAt + FINISH_RETRY_FOR_MS, app.hookd.clock, request.log);
    }
    return payload;
  });
}

/** Tries `finish` every FINISH_RETRY_MS until it succeeds or `until` passes (then the key becomes stale in time). */
function finishLater(finish: () => Promise<void>, until: number, clock: () => number, log: FastifyRequest['log']): void {
  const timer = setTimeout(() => {
    finish().catch((error: unknown) => {
      if (clock() + FINISH_RETRY_MS < until) finishLater(finish, until, clock, log);
      else log.warn({ err: error }, 'gave up recording the outcome of an idempotency-key; it is taken over as stale in a minute');
    });
  }, FINISH_RETRY_MS);
  timer.unref();
}
