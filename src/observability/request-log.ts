import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/**
 * Request ids and request logs. Every request gets an id: the caller's `x-request-id` when it is 1 to 128
 * visible ASCII characters (so it can be matched with the caller's own logs), otherwise a new UUID. Fastify puts
 * it on every line logged through `request.log` as `reqId`, and it is echoed as the `x-request-id` response
 * header. With `logRequests`, one info line per completed request says what happened, never with headers,
 * query strings or bodies: `{reqId, method, route, status, durationMs}` ("request completed").
 */

export const REQUEST_ID_HEADER = 'x-request-id';
const ACCEPTABLE_ID = /^[\x21-\x7e]{1,128}$/;

/** Fastify's `genReqId`: the caller's id when acceptable, else a fresh one. */
export function requestIdFor(request: IncomingMessage): string {
  const supplied = request.headers[REQUEST_ID_HEADER];
  return typeof supplied === 'string' && ACCEPTABLE_ID.test(supplied) ? supplied : randomUUID();
}

export function installRequestLogging(app: FastifyInstance, options: { logRequests: boolean }): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  if (!options.logRequests) return;
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      {
        method: request.method,
        // The route pattern (/api/v1/app/:app_id/msg), not the URL: bounded, and free of query strings.
        route: request.routeOptions.url ?? null,
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request completed',
    );
    done();
  });
}
