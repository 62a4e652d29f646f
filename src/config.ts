import { resolve } from 'node:path';
import { parseCidr } from './delivery/ssrf.js';
import { parseDuration, parseDurationList } from './domain/duration.js';
import { DEFAULT_RETRY_SCHEDULE_MS } from './domain/retry.js';

/** Typed configuration, validated once at start-up and passed down. Nothing else reads process.env. */
export interface Config {
  host: string;
  port: number;
  database: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; poolSize: number };
  /** When set, this token is ensured as an admin API key at start-up (deployments, tests). */
  adminToken: string | null;
  logLevel: string;
  bodyLimitBytes: number;
  /** Grace period during which a rotated-out endpoint secret still signs. */
  secretGraceMs: number;
  idempotencyTtlMs: number;
  ingestMaxBatch: number;
  shutdownTimeoutMs: number;
  delivery: DeliveryConfig;
}

export interface DeliveryConfig {
  /** Delays after each failed attempt; n delays allow n + 1 attempts. */
  retryScheduleMs: number[];
  requestTimeoutMs: number;
  /** How long a claimed delivery stays leased; always longer than the request timeout. */
  leaseMs: number;
  batchSize: number;
  /** Deliveries in flight at once in one worker process. */
  concurrency: number;
  /** Fallback poll interval when nothing wakes the worker. */
  pollIntervalMs: number;
  responseBodyLimitBytes: number;
  connectionsPerOrigin: number;
  /** Concurrency cap for endpoints without their own `maxConcurrency`, across all workers; 0 = none. */
  endpointMaxConcurrency: number;
  /** CIDRs deliveries may reach although the SSRF guard blocks them by default (loopback, private, ...). */
  ssrfAllow: string[];
  userAgent: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const timeoutMs = duration(env, 'HOOKD_REQUEST_TIMEOUT', '15s');
  const leaseMs = duration(env, 'HOOKD_LEASE', `${Math.max(timeoutMs * 2, timeoutMs + 5000)}ms`);
  if (leaseMs <= timeoutMs) throw new ConfigError('HOOKD_LEASE must be longer than HOOKD_REQUEST_TIMEOUT');
  const databaseUrl = env.DATABASE_URL ?? env.HOOKD_DATABASE_URL;
  const dataDir = resolve(env.HOOKD_DATA_DIR ?? 'data');
  const schedule = env.HOOKD_RETRY_SCHEDULE;
  return {
    host: env.HOOKD_HOST ?? '127.0.0.1',
    port: integer(env, 'HOOKD_PORT', Number(env.PORT ?? 8080), 0, 65535),
    database: databaseUrl
      ? databaseUrl.startsWith('postgres://') || databaseUrl.startsWith('postgresql://')
        ? { kind: 'postgres', url: databaseUrl, poolSize: integer(env, 'HOOKD_PG_POOL_SIZE', 10, 1, 1000) }
        : fail(`DATABASE_URL must be a postgres:// URL (got "${databaseUrl.split(':')[0]}:...")`)
      : { kind: 'sqlite', path: resolve(env.HOOKD_SQLITE_PATH ?? `${dataDir}/hookd.db`) },
    adminToken: adminToken(env.HOOKD_ADMIN_TOKEN),
    logLevel: env.HOOKD_LOG_LEVEL ?? 'info',
    bodyLimitBytes: integer(env, 'HOOKD_BODY_LIMIT', 1024 * 1024, 1024, 64 * 1024 * 1024),
    secretGraceMs: duration(env, 'HOOKD_SECRET_GRACE', '24h'),
    idempotencyTtlMs: duration(env, 'HOOKD_IDEMPOTENCY_TTL', '24h'),
    ingestMaxBatch: integer(env, 'HOOKD_INGEST_MAX_BATCH', 512, 1, 10_000),
    shutdownTimeoutMs: duration(env, 'HOOKD_SHUTDOWN_TIMEOUT', '20s'),
    delivery: {
      retryScheduleMs: schedule === undefined ? [...DEFAULT_RETRY_SCHEDULE_MS] : parse('HOOKD_RETRY_SCHEDULE', () => parseDurationList(schedule)),
      requestTimeoutMs: timeoutMs,
      leaseMs,
      batchSize: integer(env, 'HOOKD_WORKER_BATCH', 100, 1, 10_000),
      concurrency: integer(env, 'HOOKD_WORKER_CONCURRENCY', 128, 1, 10_000),
      pollIntervalMs: duration(env, 'HOOKD_POLL_INTERVAL', '1s'),
      responseBodyLimitBytes: 20 * 1024,
      connectionsPerOrigin: integer(env, 'HOOKD_CONNECTIONS_PER_ORIGIN', 16, 1, 1024),
      endpointMaxConcurrency: integer(env, 'HOOKD_ENDPOINT_MAX_CONCURRENCY', 0, 0, 10_000),
      ssrfAllow: parse('HOOKD_SSRF_ALLOW', () => cidrList(env.HOOKD_SSRF_ALLOW)),
      userAgent: 'hookd/0.1 (+https://github.com/hookd/hookd)',
    },
  };
}

function fail(message: string): never {
  throw new ConfigError(message);
}

function parse<T>(name: string, parser: () => T): T {
  try {
    return parser();
  } catch (error) {
    throw new ConfigError(`${name}: ${(error as Error).message}`);
  }
}

/**
 * HOOKD_ADMIN_TOKEN is stored as a fast SHA-256 like every key, which is safe only for a token that cannot be
 * guessed: refuse short ones and whitespace (generated keys carry 256 random bits).
 */
function adminToken(raw: string | undefined): string | null {
  if (!raw) return null;
  if (raw.length < 20 || /\s/.test(raw)) fail('HOOKD_ADMIN_TOKEN must be at least 20 characters without whitespace (e.g. `openssl rand -hex 32`)');
  return raw;
}

/** A comma-separated list of CIDRs (or single addresses), each checked. */
function cidrList(raw: string | undefined): string[] {
  const entries = (raw ?? '').split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  for (const entry of entries) parseCidr(entry);
  return entries;
}

function duration(env: Env, name: string, fallback: string): number {
  return parse(name, () => parseDuration(env[name] ?? fallback));
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) fail(`${name} must be an integer in [${min}, ${max}] (got "${raw}")`);
  return value;
}
