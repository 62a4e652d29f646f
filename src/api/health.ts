import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { withTimeout } from '../deadline.js';
import { RepeatedWarning } from '../observability/log-throttle.js';
import { storeFailureOf } from '../store/failures.js';

/** /ready answers within this, whatever the database does. */
export const READY_TIMEOUT_MS = 1000;
/**
 * A probe's outcome answers every /ready that arrives while it runs and this long after it started: the probe is a
 * write and, on SQLite, a sync on the event loop every tenant's requests share, and /ready needs no token. Without
 * this, a loop of unauthenticated requests was a loop of syncs.
 */
export const READY_REUSE_MS = 500;

/**
 * Liveness (/health: the process serves requests), readiness (/ready: a write commits now, answered within
 * READY_TIMEOUT_MS; a load balancer should send traffic elsewhere while it is 503) and the Svix SDK's
 * /api/v1/health.
 */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const tags = ['Health'];
  app.get('/health', { schema: { tags, summary: 'Liveness', response: { 200: Type.Object({ status: Type.String() }) } } }, async () => ({ status: 'ok' }));
  app.get('/api/v1/health', { schema: { tags, summary: 'Svix-compatible health check', response: { 204: Type.Null() } } }, async (_request, reply) => reply.code(204).send(null));
  app.get('/api/v1/health/ping', { schema: { tags, summary: 'Svix-compatible ping (no token needed)', response: { 204: Type.Null() } } }, async (_request, reply) =>
    reply.code(204).send(null),
  );
  const NotReady = Type.Object({ code: Type.String(), detail: Type.String() });
  let last: { startedAt: number; outcome: Promise<void> } | null = null;
  // A load balancer asks every second or so: one line per interval while hookd is not ready, not one per probe.
  const notReady = new RepeatedWarning();
  const probe = (): Promise<void> => {
    const now = Date.now();
    if (last && now - last.startedAt < READY_REUSE_MS) return last.outcome;
    const outcome = withTimeout(app.hookd.store.probe(), READY_TIMEOUT_MS, `the database did not commit a write within ${READY_TIMEOUT_MS} ms`);
    outcome.catch(() => undefined); // answered by each request that awaits it
    last = { startedAt: now, outcome };
    return outcome;
  };
  app.get(
    '/ready',
    {
      schema: {
        tags,
        summary: 'Readiness: the database commits a write now',
        description: `Answers within ${READY_TIMEOUT_MS} ms, with the outcome of a probe started at most ${READY_REUSE_MS} ms before: 200 when a small write commits; 503 {code: "unavailable"} when the database is away, too slow or its file was removed; 503 {code: "insufficient_storage"} when it is out of space; 503 {code: "shutting_down"} from a SIGTERM until the listener closes (HOOKD_SHUTDOWN_DELAY, during which everything else still serves).`,
        response: { 200: Type.Object({ status: Type.String() }), 503: NotReady },
      },
    },
    async (request, reply) => {
      if (app.hookd.lifecycle.draining) return reply.code(503).send({ code: 'shutting_down', detail: 'hookd is shutting down: send new requests to another instance' });
      try {
        await probe();
        return { status: 'ready' };
      } catch (error) {
        notReady.warn(request.log, { err: error }, 'not ready');
        reply.header('retry-after', '1');
        if (storeFailureOf(error) === 'full') return reply.code(503).send({ code: 'insufficient_storage', detail: 'the database is out of space: writes fail' });
        return reply.code(503).send({ code: 'unavailable', detail: 'the database cannot take writes now (the hookd log says why)' });
      }
    },
  );
}
