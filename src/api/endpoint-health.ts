import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { attemptStartedAt, type Endpoint } from '../domain/types.js';
import { parseDate, resolveApp, resolveEndpoint } from './context.js';
import { AppParams, EndpointOut, EndpointParams, ListOf, ListQueryOf, errorResponses } from './schemas.js';
import { EndpointStatsOut, endpointStatsOut } from './stats.js';
import { endpointOut } from './wire.js';

/**
 * hookd extension for the dashboard: endpoints together with their health, so a page of 60 endpoints costs one
 * request per poll instead of two per endpoint. Each item is the endpoint, why it was disabled, its delivery
 * counts of messages since `since` (default: the last 24 h), its circuit and in-flight budget (as in .../stats),
 * and its latest attempt.
 */

const tags = ['Endpoint'];
const DAY_MS = 86_400_000;
const DateTime = Type.String({ format: 'date-time' });

const EndpointHealthOut = Type.Object(
  {
    // Copies without the $id: a schema id may be defined once.
    endpoint: Type.Object(EndpointOut.properties),
    disabledReason: Type.Optional(Type.String({ description: 'Why the endpoint is disabled (410 Gone, failing continuously since ..., disabled by API)' })),
    failingSince: Type.Optional(Type.String({ format: 'date-time', description: 'Start of its current failure streak (auto-disable counts from here)' })),
    stats: Type.Object(EndpointStatsOut.properties),
    lastAttempt: Type.Optional(
      Type.Object({ id: Type.String(), msgId: Type.String(), responseStatusCode: Type.Integer(), statusText: Type.String(), timestamp: DateTime }),
    ),
  },
  { $id: 'EndpointHealth' },
);

const HealthQuery = Type.Object({ ...ListQueryOf('ep').properties, since: Type.Optional(DateTime) });
const OneHealthQuery = Type.Object({ since: Type.Optional(DateTime) });

export async function endpointHealthRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock, config } = fastify.hookd;

  async function healthOf(appId: string, endpoint: Endpoint, sinceMs: number, nowMs: number) {
    const [counts, queue, attempts] = await Promise.all([
      store.endpointStats(endpoint.id, { sinceMs }, nowMs),
      store.endpointQueueState(endpoint.id, nowMs, config.delivery.scheduler),
      store.listAttempts({ appId, endpointId: endpoint.id }, { limit: 1 }),
    ]);
    const last = attempts.data[0];
    return {
      endpoint: endpointOut(endpoint),
      disabledReason: endpoint.disabled && endpoint.disabledReason ? endpoint.disabledReason : undefined,
      failingSince: endpoint.firstFailureAt === null ? undefined : new Date(endpoint.firstFailureAt).toISOString(),
      stats: endpointStatsOut(counts, queue),
      lastAttempt: last && {
        id: last.id,
        msgId: last.messageId,
        responseStatusCode: last.responseStatusCode,
        statusText: last.status,
        timestamp: new Date(attemptStartedAt(last)).toISOString(),
      },
    };
  }

  const sinceOf = (since: string | undefined, nowMs: number) => parseDate(since, ['query', 'since']) ?? nowMs - DAY_MS;

  app.get(
    '/api/v1/app/:app_id/endpoint-health',
    {
      schema: {
        tags,
        summary: "List an application's endpoints with their health",
        description: 'hookd extension. Delivery counts are of messages created since `since` (default: the last 24 h).',
        params: AppParams,
        querystring: HealthQuery,
        response: { 200: ListOf(EndpointHealthOut), ...errorResponses },
      },
    },
    async (request) => {
      const owner = await resolveApp(request, request.params.app_id);
      const q = request.query;
      const now = clock();
      const sinceMs = sinceOf(q.since, now);
      const page = await store.listEndpoints(owner.id, { limit: q.limit ?? 50, iterator: q.iterator, order: q.order });
      const data = await Promise.all(page.data.map((endpoint) => healthOf(owner.id, endpoint, sinceMs, now)));
      return { data, iterator: page.iterator, prevIterator: page.prevIterator, done: page.done };
    },
  );

  app.get(
    '/api/v1/app/:app_id/endpoint-health/:endpoint_id',
    {
      schema: {
        tags,
        summary: 'Get an endpoint with its health',
        description: 'hookd extension. As one item of the endpoint-health list.',
        params: EndpointParams,
        querystring: OneHealthQuery,
        response: { 200: EndpointHealthOut, ...errorResponses },
      },
    },
    async (request) => {
      const { app: owner, endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
      const now = clock();
      return healthOf(owner.id, endpoint, sinceOf(request.query.since, now), now);
    },
  );
}
