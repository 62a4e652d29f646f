import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HookdError } from '../domain/errors.js';
import { TokenBuckets, retryAfterSeconds } from '../domain/rate-limit.js';
import type { App } from '../domain/types.js';

/**
 * The per-application ingest rate limit, on both ingest paths (POST /api/v1/app/{app}/msg and
 * POST /ingest/{source_id}): a token bucket per application holding one second's worth of messages (at least
 * one), refilled at the application's `ingestRateLimit` (messages/s; `HOOKD_APP_RATE_LIMIT` for applications without
 * one; `ingestRateLimit: 0` exempts an application from that default). A message over the limit answers 429 with
 * `Retry-After` and is not stored. (An application's `rateLimit` / `throttleRate` is not this: as in Svix, it is
 * the rate its endpoints are sent at.)
 *
 * The buckets live in each API process's memory: with N `hookd serve` processes behind a load balancer an
 * application may send up to N times its rate. Sharing them through the store would cost a write (and a row
 * lock on the application) per message, which is what group commit exists to avoid; SQLite runs in one process,
 * where the limit is exact.
 */
export class IngestRateLimit {
  private readonly buckets = new TokenBuckets();

  constructor(private readonly defaultRate: number | null) {}

  /** The application's limit in messages per second, or null when it has none. */
  rateOf(app: Pick<App, 'ingestRateLimit'>): number | null {
    if (app.ingestRateLimit === null) return this.defaultRate;
    return app.ingestRateLimit > 0 ? app.ingestRateLimit : null;
  }

  /** 0 when the application may ingest one message now (it is counted), else the milliseconds until it may. */
  take(app: Pick<App, 'id' | 'ingestRateLimit'>, nowMs: number): number {
    const rate = this.rateOf(app);
    return rate === null ? 0 : this.buckets.take(app.id, rate, nowMs);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    ingestRateLimit: IngestRateLimit;
  }
}

export function installIngestRateLimit(app: FastifyInstance): void {
  app.decorate('ingestRateLimit', new IngestRateLimit(app.hookd.config.appRateLimit));
}

/**
 * Counts one message against the application's limit, or refuses it: 429 `{code: "rate_limited", detail}` with
 * `Retry-After` in whole seconds (rounded up). (The idempotency hook does not store a 429, so a retry with the same
 * `idempotency-key` runs.)
 */
export async function enforceIngestRate(request: FastifyRequest, reply: FastifyReply, app: App): Promise<void> {
  const limiter = request.server.ingestRateLimit;
  const waitMs = limiter.take(app, request.server.hookd.clock());
  if (waitMs === 0) return;
  const seconds = retryAfterSeconds(waitMs);
  reply.header('retry-after', String(seconds));
  throw new HookdError(
    'HOOKD_ERR_RATE_LIMITED',
    `application ${app.uid ?? app.id} is over its ingest rate limit of ${limiter.rateOf(app)} messages/s: retry after ${seconds} s`,
  );
}
