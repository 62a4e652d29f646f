import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { EndpointQueueView } from '../domain/scheduler.js';
import { validationError } from '../domain/errors.js';
import type { DeliveryCounts } from '../store/store.js';
import { parseDate, resolveApp, resolveEndpoint } from './context.js';
import { AppParams, EndpointParams, errorResponses } from './schemas.js';

/** Delivery figures: Svix's endpoint stats, and (hookd extension) attempts over time for a chart. */

const DateTime = Type.String({ format: 'date-time' });
const HOUR_MS = 3_600_000;
/** Most buckets one series answers. */
export const MAX_BUCKETS = 1440;

const NullableDateTime = Type.Union([DateTime, Type.Null()]);

export const EndpointStatsOut = Type.Object(
  {
    success: Type.Integer(),
    pending: Type.Integer(),
    sending: Type.Integer(),
    fail: Type.Integer(),
    canceled: Type.Integer({ description: 'Always 0: hookd does not cancel deliveries' }),
    circuit: Type.Object(
      {
        state: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half-open')], {
          description: 'open: nothing is sent until nextProbeAt; half-open: one probe at a time; an HTTP answer closes it',
        }),
        failureStreak: Type.Integer({ description: 'Timeouts and connection failures in a row' }),
        openedAt: NullableDateTime,
        nextProbeAt: NullableDateTime,
      },
      { description: 'hookd extension: the endpoint circuit breaker. Deliveries held back while it is open spend no attempt.' },
    ),
    concurrency: Type.Object(
      {
        limit: Type.Integer({ description: 'Deliveries it may have in flight now, across all workers (0 while the circuit is open)' }),
        adaptive: Type.Integer({ description: 'The adaptive limit: grows while answers are fast, halves on timeouts, 429/503 and queueing' }),
        inFlight: Type.Integer(),
      },
      { description: 'hookd extension: the endpoint in-flight budget' },
    ),
  },
  { $id: 'EndpointStats' },
);

/** Delivery counts and the scheduler's view of an endpoint on the wire (also used by the endpoint-health list). */
export function endpointStatsOut(counts: DeliveryCounts, queue: EndpointQueueView | null): Static<typeof EndpointStatsOut> {
  const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
  return {
    ...counts,
    canceled: 0,
    circuit: { state: queue?.circuit ?? 'closed', failureStreak: queue?.failureStreak ?? 0, openedAt: iso(queue?.circuitOpenedAt), nextProbeAt: iso(queue?.nextProbeAt) },
    concurrency: { limit: queue?.budget ?? 0, adaptive: queue?.adaptiveLimit ?? 0, inFlight: queue?.inFlight ?? 0 },
  };
}

const AttemptSeriesOut = Type.Object(
  {
    since: DateTime,
    until: DateTime,
    intervalSeconds: Type.Integer(),
    data: Type.Array(
      Type.Object({ start: DateTime, success: Type.Integer(), fail: Type.Integer() }),
      { description: 'One bucket per interval from since, empty ones included' },
    ),
  },
  { $id: 'AttemptSeriesOut' },
);

// ---- Endpoint latency and success rate (hookd extension)

const DAY_MS = 24 * HOUR_MS;
/** The widest window the latency stats read (they scan the app's attempts in it). */
export const MAX_LATENCY_WINDOW_MS = 7 * DAY_MS;
const NullableMs = Type.Union([Type.Integer(), Type.Null()]);

const EndpointLatencyOut = Type.Object(
  {
    since: DateTime,
    until: DateTime,
    attempts: Type.Integer({ description: 'Attempts to the endpoint made in [since, until)' }),
    succeeded: Type.Integer(),
    failed: Type.Integer(),
    successRate: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], { description: 'succeeded / attempts; null without attempts' }),
    latencyMs: Type.Object(
      { p50: NullableMs, p90: NullableMs, p99: NullableMs, max: NullableMs },
      { description: 'Attempt durations in ms, nearest-rank percentiles over every attempt (failed ones included); null without attempts' },
    ),
  },
  { $id: 'EndpointLatencyStats' },
);

/** An endpoint's stats without `since` count this many days back, as Svix's do (all of its history was read before). */
const STATS_DEFAULT_DAYS = 28;

export async function statsRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock, config } = fastify.hookd;

  app.get(
    '/api/v1/app/:app_id/endpoint/:endpoint_id/stats',
    {
      schema: {
        tags: ['Endpoint'],
        summary: "Get an endpoint's delivery counts by status",
        description: `Deliveries to the endpoint of messages created in [since, until), by status (sending: in flight now). since defaults to ${STATS_DEFAULT_DAYS} days before until (or now), as in Svix.`,
        params: EndpointParams,
        querystring: Type.Object({ since: Type.Optional(DateTime), until: Type.Optional(DateTime) }),
        response: { 200: EndpointStatsOut, ...errorResponses },
      },
    },
    async (request) => {
      const { endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
      const now = clock();
      const untilMs = parseDate(request.query.until, ['query', 'until']);
      const sinceMs = parseDate(request.query.since, ['query', 'since']) ?? Math.min(now, untilMs ?? now) - STATS_DEFAULT_DAYS * 86_400_000;
      if (untilMs !== undefined && untilMs <= sinceMs) throw validationError(['query', 'until'], 'until must be after since');
      const [counts, queue] = await Promise.all([
        store.endpointStats(endpoint.id, { sinceMs, untilMs }, now),
        store.endpointQueueState(endpoint.id, now, config.delivery.scheduler),
      ]);
      return endpointStatsOut(counts, queue);
    },
  );

  app.get(
    '/api/v1/app/:app_id/stats/attempt',
    {
      schema: {
        tags: ['Message Attempt'],
        summary: "Count an application's attempts over time (succeeded / failed per interval)",
        description: `hookd extension. Buckets of interval seconds from since to until (default: now), at most ${MAX_BUCKETS}. Without since: the last hour, in buckets aligned to the interval.`,
        params: AppParams,
        querystring: Type.Object({
          since: Type.Optional(DateTime),
          until: Type.Optional(DateTime),
          interval: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, default: 60, description: 'Seconds per bucket' })),
          endpoint_id: Type.Optional(Type.String({ maxLength: 256, description: 'Only attempts to this endpoint (id or uid)' })),
        }),
        response: { 200: AttemptSeriesOut, ...errorResponses },
      },
    },
    async (request) => {
      const owner = await resolveApp(request, request.params.app_id);
      const q = request.query;
      const bucketMs = (q.interval ?? 60) * 1000;
      const untilMs = parseDate(q.until, ['query', 'until']) ?? clock();
      // By default the hour before until, with buckets on interval boundaries (the last one is the current, partial one).
      const sinceMs = parseDate(q.since, ['query', 'since']) ?? Math.ceil(untilMs / bucketMs) * bucketMs - Math.max(HOUR_MS, bucketMs);
      if (untilMs <= sinceMs) throw validationError(['query', 'until'], 'until must be after since');
      const count = Math.ceil((untilMs - sinceMs) / bucketMs);
      if (count > MAX_BUCKETS) throw validationError(['query', 'interval'], `at most ${MAX_BUCKETS} intervals between since and until`);
      let endpointId: string | undefined;
      if (q.endpoint_id) endpointId = (await store.getEndpoint(owner.id, q.endpoint_id))?.id ?? q.endpoint_id;
      const buckets = new Map((await store.attemptSeries(owner.id, { sinceMs, untilMs, bucketMs, endpointId })).map((b) => [b.startMs, b]));
      const data = Array.from({ length: count }, (_, i) => {
        const startMs = sinceMs + i * bucketMs;
        const bucket = buckets.get(startMs);
        return { start: new Date(startMs).toISOString(), success: bucket?.success ?? 0, fail: bucket?.fail ?? 0 };
      });
      return { since: new Date(sinceMs).toISOString(), until: new Date(untilMs).toISOString(), intervalSeconds: bucketMs / 1000, data };
    },
  );
  app.get(
    '/api/v1/app/:app_id/endpoint/:endpoint_id/stats/latency',
    {
      schema: {
        tags: ['Endpoint'],
        summary: "Get an endpoint's success rate and attempt latency percentiles",
        description: `hookd extension. Attempts to the endpoint made in [since, until): counts by outcome, success rate, and duration percentiles (p50, p90, p99, max). Default: the 24 hours before until (default: now); at most ${MAX_LATENCY_WINDOW_MS / DAY_MS} days.`,
        params: EndpointParams,
        querystring: Type.Object({ since: Type.Optional(DateTime), until: Type.Optional(DateTime) }),
        response: { 200: EndpointLatencyOut, ...errorResponses },
      },
    },
    async (request) => {
      const { app: owner, endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
      const untilMs = parseDate(request.query.until, ['query', 'until']) ?? clock();
      const sinceMs = parseDate(request.query.since, ['query', 'since']) ?? untilMs - DAY_MS;
      if (untilMs <= sinceMs) throw validationError(['query', 'until'], 'until must be after since');
      if (untilMs - sinceMs > MAX_LATENCY_WINDOW_MS) throw validationError(['query', 'since'], `at most ${MAX_LATENCY_WINDOW_MS / DAY_MS} days between since and until`);
      const stats = await store.endpointLatency(owner.id, endpoint.id, { sinceMs, untilMs });
      return {
        since: new Date(sinceMs).toISOString(),
        until: new Date(untilMs).toISOString(),
        attempts: stats.attempts,
        succeeded: stats.succeeded,
        failed: stats.failed,
        successRate: stats.attempts === 0 ? null : stats.succeeded / stats.attempts,
        latencyMs: { p50: stats.p50Ms, p90: stats.p90Ms, p99: stats.p99Ms, max: stats.maxMs },
      };
    },
  );
}
