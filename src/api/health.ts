import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

/** Liveness (/health), readiness (/ready: the store answers) and the Svix SDK's /api/v1/health. */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const tags = ['Health'];
  app.get('/health', { schema: { tags, summary: 'Liveness', response: { 200: Type.Object({ status: Type.String() }) } } }, async () => ({ status: 'ok' }));
  app.get('/api/v1/health', { schema: { tags, summary: 'Svix-compatible health check', response: { 204: Type.Null() } } }, async (_request, reply) => reply.code(204).send(null));
  app.get(
    '/ready',
    { schema: { tags, summary: 'Readiness: the database answers', response: { 200: Type.Object({ status: Type.String() }), 503: Type.Object({ code: Type.String(), detail: Type.String() }) } } },
    async (request, reply) => {
      try {
        await app.hookd.store.ping();
        return { status: 'ready' };
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed');
        return reply.code(503).send({ code: 'unavailable', detail: 'database unreachable' });
      }
    },
  );
}
