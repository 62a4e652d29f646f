import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorOut, ValidationErrorOut } from '../api/schemas.js';
import { HookdError, notFound } from '../domain/errors.js';
import { isId, newId } from '../domain/ids.js';
import type { Message } from '../domain/types.js';
import { eventIdOf, eventTypeOf, payloadOf } from './payload.js';
import { enforceIngestRate } from './rate-limit.js';
import { verifyRequest } from './verify.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The raw request body of POST /ingest/{source_id}, exactly as received (signatures cover these bytes). */
    ingestBody: Buffer | null;
  }
}

export const IngestOut = Type.Object(
  {
    id: Type.String({ description: 'The message id', examples: ['msg_1srOrx2ZWZBpBUvZwXKQmoEYga2'] }),
    eventType: Type.String(),
    eventId: Type.Optional(Type.String({ description: "The idempotency header's value, when the source has one" })),
    timestamp: Type.String({ format: 'date-time' }),
  },
  { $id: 'IngestOut' },
);

const description = [
  "A webhook from an external system becomes a message of the source's application, delivered like any other. No bearer token:",
  "the request must carry the source's signature (hmac-sha256, slack, standard-webhooks) or key (api-key), checked over the raw body;",
  'a missing or wrong one, or a timestamp outside the tolerance, answers 401 and stores nothing. Then the body becomes the payload:',
  'JSON (a JSON or text/plain content type, or none) must be an object (422 otherwise) and is delivered byte for byte;',
  'an application/x-www-form-urlencoded form gives the JSON in its only field `payload` (GitHub, Slack), else its fields as a JSON',
  'object of strings; multipart/form-data, or a body of another type that is not JSON, answers 415.',
  '202: stored, durably. 200: a request whose idempotency header value was seen before;',
  'the existing message is answered and nothing is stored twice. 429: the application is over its ingest rate limit (Retry-After).',
].join(' ');

/**
 * POST /ingest/{source_id}, in its own encapsulated context: its only body parser keeps the raw bytes of any
 * content type (limited by HOOKD_BODY_LIMIT like every body), because the sender's signature covers exactly
 * those bytes. The body is read (as JSON or a form, payload.ts) only after the signature checked out, so an
 * unsigned request gets a 401 whatever it holds. The message goes through the same group commit as
 * POST /api/v1/app/{app}/msg.
 */
export async function ingestRoutes(fastify: FastifyInstance): Promise<void> {
  fastify.removeAllContentTypeParsers();
  fastify.decorateRequest('ingestBody', null);
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    request.ingestBody = body as Buffer;
    done(null, undefined);
  });

  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock, ingest } = fastify.hookd;

  app.post(
    '/ingest/:source_id',
    {
      schema: {
        tags: ['Inbound source'],
        summary: 'Receive a webhook from an external system (signed for the source; no bearer token)',
        description,
        security: [],
        params: Type.Object({ source_id: Type.String({ minLength: 1, maxLength: 256 }) }),
        response: { 200: IngestOut, 202: IngestOut, 401: ErrorOut, 404: ErrorOut, 413: ErrorOut, 415: ErrorOut, 422: ValidationErrorOut, 429: ErrorOut },
      },
    },
    async (request, reply) => {
      const sourceId = request.params.source_id;
      // Source ids carry 80 random bits: a 404 tells whether one exists, but they cannot be enumerated.
      const source = isId(sourceId, 'src') ? await store.findSource(sourceId) : null;
      if (!source) throw notFound('source');
      const body = request.ingestBody ?? Buffer.alloc(0);
      const now = clock();
      const verdict = verifyRequest(source.verification, request.headers, body, now);
      if (!verdict.ok) throw new HookdError('HOOKD_ERR_AUTHENTICATION', verdict.reason);

      const payload = payloadOf(body, request.headers);
      const eventType = eventTypeOf(source, request.headers, payload.value);
      const eventId = eventIdOf(source, request.headers);
      // By id, which is never reused: a lookup remembered for up to a second is safe (the insert checks again).
      const owner = await store.getApp(source.appId, { recent: true });
      if (!owner) throw notFound('source');
      await enforceIngestRate(request, reply, owner);
      const message: Message = {
        id: newId('msg', now),
        appId: owner.id,
        eventId,
        eventType,
        payload: payload.text,
        channels: source.channels,
        tags: null,
        createdAt: now,
      };
      const result = await ingest.submit(message);
      if (result.kind === 'no-app') throw notFound('source');
      const stored = result.kind === 'duplicate' ? result.existing : message;
      return reply.code(result.kind === 'duplicate' ? 200 : 202).send({
        id: stored.id,
        eventType: stored.eventType,
        eventId: stored.eventId ?? undefined,
        timestamp: new Date(stored.createdAt).toISOString(),
      });
    },
  );
}
