import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseCidr } from './delivery/ssrf.js';
import { MissingUnitError, parseDuration, parseDurationList, unitHint } from './domain/duration.js';
import { secretKeyBytes } from './domain/signing.js';
import { DEFAULT_RETRY_SCHEDULE_MS } from './domain/retry.js';
import { ADAPTIVE_CEILING, DEFAULT_SCHEDULER_POLICY, type SchedulerPolicy } from './domain/scheduler.js';

/** Typed configuration, validated once at start-up and passed down. Nothing else reads process.env. */
export interface Config {
  host: string;
  port: number;
  database: DatabaseConfig;
  /**
   * The URL users reach hookd at (HOOKD_PUBLIC_URL, no trailing slash), for links hookd hands out (app-portal
   * access); null: taken from each request's own protocol and Host.
   */
  publicUrl: string | null;
  /**
   * Who may embed the app portal (/portal pages) in a frame: a CSP frame-ancestors source list
   * (HOOKD_PORTAL_FRAME_ANCESTORS, e.g. `https://app.example.com`), default `'none'`. Every other response keeps
   * `frame-ancestors 'none'` and X-Frame-Options DENY.
   */
  portalFrameAncestors: string;
  /** When set, this token is ensured as an admin API key at start-up (deployments, tests). */
  adminToken: string | null;
  logLevel: string;
  bodyLimitBytes: number;
  /**
   * How long a request may take to arrive whole, headers and body (HOOKD_API_REQUEST_TIMEOUT, default 60 s): a client
   * that stalls is answered 408 and its connection closed, so it holds neither a connection nor memory for ever.
   */
  apiRequestTimeoutMs: number;
  /** Grace period during which a rotated-out endpoint secret still signs. */
  secretGraceMs: number;
  idempotencyTtlMs: number;
  ingestMaxBatch: number;
  /** Most messages waiting for a group commit; beyond it ingest answers 503 at once (memory stays flat). */
  ingestQueueLimit: number;
  /** Most payload characters (bytes, for ASCII) waiting for a group commit; beyond it ingest answers 503 at once. */
  ingestQueuePayload: number;
  /** Most endpoints (not deleted) one application may have: each is a delivery row per message in the shared commit. */
  maxEndpointsPerApp: number;
  /**
   * Inbound sources / ingest rate limit (HOOKD_APP_RATE_LIMIT): messages per second per application for applications
   * without their own `ingestRateLimit`, enforced per API process; null = none.
   */
  appRateLimit: number | null;
  shutdownTimeoutMs: number;
  /**
   * How long after SIGTERM hookd goes on serving everything while /ready answers 503, before its graceful shutdown
   * begins: the time a load balancer polling /ready takes to send traffic elsewhere (0: none).
   */
  shutdownDelayMs: number;
  delivery: DeliveryConfig;
  /** Endpoint auto-disable, operational webhooks and retention (see OperationsConfig). */
  operations: OperationsConfig;
  /** Metrics (/metrics) and request logs (see ObservabilityConfig). */
  observability: ObservabilityConfig;
}

/**
 * Where the data lives. `timeoutMs` bounds every wait on the database (PostgreSQL: connect, statement and query
 * timeouts; SQLite: the busy timeout); `maxSizeBytes` caps the SQLite file (null: only the disk does).
 */
export type DatabaseConfig =
  | { kind: 'sqlite'; path: string; timeoutMs?: number; maxSizeBytes?: number | null }
  | { kind: 'postgres'; url: string; poolSize: number; timeoutMs?: number };

export interface DeliveryConfig {
  /** Delays after each failed attempt; n delays allow n + 1 attempts. */
  retryScheduleMs: number[];
  requestTimeoutMs: number;
  /** How long a claimed delivery stays leased; always longer than the request timeout. */
  leaseMs: number;
  batchSize: number;
  /** Requests on the wire at once in one worker process. */
  concurrency: number;
  /** Fallback poll interval when nothing wakes the worker. */
  pollIntervalMs: number;
  responseBodyLimitBytes: number;
  /** Requests on the wire at once to one origin from one worker process (and its keep-alive sockets). */
  connectionsPerOrigin: number;
  /** Per-endpoint budgets and circuit breaking (src/domain/scheduler.ts). */
  scheduler: SchedulerPolicy;
  /** CIDRs deliveries may reach although the SSRF guard blocks them by default (loopback, private, ...). */
  ssrfAllow: string[];
  userAgent: string;
  /** `hookd start` runs the worker on a thread of its own (a second core) rather than beside the API (default: no). */
  thread: boolean;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

// ---- settings-list start (test/config.test.ts reads what is between these lines)
/** Every HOOKD_ variable hookd reads (docs/configuration.md documents each); any other is a mistake, warned of at start. */
export const SETTINGS: ReadonlySet<string> = new Set([
  'HOOKD_ADMIN_TOKEN', 'HOOKD_API_REQUEST_TIMEOUT', 'HOOKD_APP_RATE_LIMIT', 'HOOKD_BODY_LIMIT',
  'HOOKD_CIRCUIT_COOLDOWN', 'HOOKD_CIRCUIT_FAILURES', 'HOOKD_CIRCUIT_MAX_COOLDOWN', 'HOOKD_CONNECTIONS_PER_ORIGIN',
  'HOOKD_DATABASE_URL', 'HOOKD_DATA_DIR', 'HOOKD_DB_TIMEOUT', 'HOOKD_DELIVERY_THREAD',
  'HOOKD_ENDPOINT_DISABLE_AFTER', 'HOOKD_ENDPOINT_INITIAL_CONCURRENCY', 'HOOKD_ENDPOINT_MAX_CONCURRENCY',
  'HOOKD_HOST', 'HOOKD_IDEMPOTENCY_TTL', 'HOOKD_INGEST_MAX_BATCH', 'HOOKD_INGEST_QUEUE', 'HOOKD_INGEST_QUEUE_BYTES',
  'HOOKD_LEASE', 'HOOKD_LOG_LEVEL', 'HOOKD_LOG_REQUESTS', 'HOOKD_MAINTENANCE_INTERVAL',
  'HOOKD_MAX_ENDPOINTS_PER_APP', 'HOOKD_METRICS_MAX_LABELS', 'HOOKD_METRICS_PORT', 'HOOKD_METRICS_TOKEN',
  'HOOKD_OPERATIONAL_WEBHOOK_SECRET', 'HOOKD_OPERATIONAL_WEBHOOK_URL', 'HOOKD_PG_POOL_SIZE', 'HOOKD_POLL_INTERVAL',
  'HOOKD_PORT', 'HOOKD_PORTAL_FRAME_ANCESTORS', 'HOOKD_PUBLIC_URL', 'HOOKD_REQUEST_TIMEOUT', 'HOOKD_RETENTION',
  'HOOKD_RETENTION_BATCH', 'HOOKD_RETRY_SCHEDULE', 'HOOKD_SECRET_GRACE', 'HOOKD_SHUTDOWN_DELAY',
  'HOOKD_SHUTDOWN_TIMEOUT', 'HOOKD_SQLITE_MAX_SIZE', 'HOOKD_SQLITE_PATH', 'HOOKD_SSRF_ALLOW', 'HOOKD_WORKER_BATCH',
  'HOOKD_WORKER_CONCURRENCY',
]);
// ---- settings-list end

/**
 * The HOOKD_ variables of `env` hookd does not read (a misspelling it would otherwise ignore without a word), each with
 * the setting it most likely meant ("..._RETRY (did you mean ..._RETRY_SCHEDULE?)"). The tests' own (prefix below) pass.
 */
export function unknownSettings(env: Env = process.env): string[] {
  return Object.keys(env)
    .filter((name) => name.startsWith('HOOKD_') && !name.startsWith('HOOKD_TEST_') && !SETTINGS.has(name))
    .sort()
    .map((name) => {
      const meant = closestSetting(name);
      return meant ? `${name} (did you mean ${meant}?)` : name;
    });
}

/** The setting `name` most likely misspells: one it starts or ends, or is within 3 edits of; null if none. */
function closestSetting(name: string): string | null {
  let best: { setting: string; distance: number } | null = null;
  for (const setting of SETTINGS) {
    const distance = setting.startsWith(name) || name.startsWith(setting) ? 1 : editDistance(name, setting);
    if (distance <= 3 && (best === null || distance < best.distance)) best = { setting, distance };
  }
  return best?.setting ?? null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

export function loadConfig(env: Env = process.env): Config {
  const timeoutMs = timerDuration(env, 'HOOKD_REQUEST_TIMEOUT', '15s');
  if (timeoutMs < 100) fail(`HOOKD_REQUEST_TIMEOUT=${env.HOOKD_REQUEST_TIMEOUT} is under 100ms: no receiver answers that fast across a network`);
  if (timeoutMs > 3_600_000) fail(`HOOKD_REQUEST_TIMEOUT=${env.HOOKD_REQUEST_TIMEOUT} is over 1h: a delivery holds a worker slot and its lease that long`);
  const leaseMs = timerDuration(env, 'HOOKD_LEASE', `${Math.max(timeoutMs * 2, timeoutMs + 5000)}ms`);
  if (leaseMs <= timeoutMs) throw new ConfigError(`HOOKD_LEASE (${leaseMs} ms) must be longer than HOOKD_REQUEST_TIMEOUT (${timeoutMs} ms${env.HOOKD_REQUEST_TIMEOUT ? '' : ', its default'})`);
  const databaseUrl = env.DATABASE_URL ?? env.HOOKD_DATABASE_URL;
  const dbTimeoutMs = timerDuration(env, 'HOOKD_DB_TIMEOUT', '5s');
  if (dbTimeoutMs < 100) fail(`HOOKD_DB_TIMEOUT=${env.HOOKD_DB_TIMEOUT} is under 100ms`);
  const dataDir = resolve(env.HOOKD_DATA_DIR || 'data');
  const schedule = env.HOOKD_RETRY_SCHEDULE;
  const concurrency = integer(env, 'HOOKD_WORKER_CONCURRENCY', 512, 1, 10_000);
  // PORT (as platforms set it) when HOOKD_PORT is not: checked the same way.
  const port = integer(env, 'HOOKD_PORT', integer(env, 'PORT', 8080, 0, 65535), 0, 65535);
  const observability = observabilityConfig(env);
  if (observability.metricsPort !== null && observability.metricsPort !== 0 && observability.metricsPort === port) {
    fail(`HOOKD_METRICS_PORT=${port} is the API's port (HOOKD_PORT or PORT): give the metrics a port of their own`);
  }
  return {
    host: host(env.HOOKD_HOST),
    port,
    database: databaseUrl
      ? databaseUrl.startsWith('postgres://') || databaseUrl.startsWith('postgresql://')
        ? { kind: 'postgres', url: databaseUrl, poolSize: integer(env, 'HOOKD_PG_POOL_SIZE', 10, 1, 1000), timeoutMs: dbTimeoutMs }
        : fail(`DATABASE_URL must be a postgres:// URL (got "${databaseUrl.split(':')[0]}:...")`)
      : {
          kind: 'sqlite',
          path: resolve(env.HOOKD_SQLITE_PATH || `${dataDir}/hookd.db`),
          timeoutMs: dbTimeoutMs,
          maxSizeBytes: integer(env, 'HOOKD_SQLITE_MAX_SIZE', 0, 0, Number.MAX_SAFE_INTEGER) || null,
        },
    publicUrl: publicUrl(env.HOOKD_PUBLIC_URL),
    portalFrameAncestors: frameAncestors(env.HOOKD_PORTAL_FRAME_ANCESTORS),
    adminToken: adminToken(env.HOOKD_ADMIN_TOKEN),
    logLevel: logLevel(env.HOOKD_LOG_LEVEL),
    bodyLimitBytes: integer(env, 'HOOKD_BODY_LIMIT', 1024 * 1024, 1024, 64 * 1024 * 1024),
    apiRequestTimeoutMs: apiRequestTimeout(env),
    secretGraceMs: duration(env, 'HOOKD_SECRET_GRACE', '24h'),
    idempotencyTtlMs: duration(env, 'HOOKD_IDEMPOTENCY_TTL', '24h'),
    ingestMaxBatch: integer(env, 'HOOKD_INGEST_MAX_BATCH', 512, 1, 10_000),
    ingestQueueLimit: integer(env, 'HOOKD_INGEST_QUEUE', 10_000, 1, 1_000_000),
    ingestQueuePayload: integer(env, 'HOOKD_INGEST_QUEUE_BYTES', 64 * 1024 * 1024, 1024, 16 * 1024 * 1024 * 1024),
    maxEndpointsPerApp: integer(env, 'HOOKD_MAX_ENDPOINTS_PER_APP', 1000, 1, 1_000_000),
    // Ingest rate limit: 0 or unset = none.
    appRateLimit: integer(env, 'HOOKD_APP_RATE_LIMIT', 0, 0, 1_000_000) || null,
    shutdownTimeoutMs: timerDuration(env, 'HOOKD_SHUTDOWN_TIMEOUT', '20s'),
    shutdownDelayMs: timerDuration(env, 'HOOKD_SHUTDOWN_DELAY', '0s'),
    delivery: {
      retryScheduleMs: retrySchedule(schedule),
      requestTimeoutMs: timeoutMs,
      leaseMs,
      batchSize: integer(env, 'HOOKD_WORKER_BATCH', 250, 1, 10_000),
      concurrency,
      pollIntervalMs: pollInterval(env),
      responseBodyLimitBytes: 20 * 1024,
      connectionsPerOrigin: connectionsPerOrigin(env, concurrency),
      scheduler: schedulerPolicy(env, timeoutMs),
      ssrfAllow: parse('HOOKD_SSRF_ALLOW', () => cidrList(env.HOOKD_SSRF_ALLOW)),
      userAgent: 'hookd/0.1 (+https://github.com/hookd/hookd)',
      thread: boolean(env, 'HOOKD_DELIVERY_THREAD', true),
    },
    operations: operationsConfig(env),
    observability,
  };
}

/** Per-endpoint budgets and circuit breaking; slow answers (over half the request timeout) never grow a budget. */
function schedulerPolicy(env: Env, requestTimeoutMs: number): SchedulerPolicy {
  const circuitCooldownMs = timerDuration(env, 'HOOKD_CIRCUIT_COOLDOWN', '5s');
  const circuitMaxCooldownMs = timerDuration(env, 'HOOKD_CIRCUIT_MAX_COOLDOWN', '5m');
  if (circuitCooldownMs < 1) fail('HOOKD_CIRCUIT_COOLDOWN must be at least 1ms');
  if (circuitMaxCooldownMs < circuitCooldownMs) {
    fail(`HOOKD_CIRCUIT_MAX_COOLDOWN (${circuitMaxCooldownMs} ms${env.HOOKD_CIRCUIT_MAX_COOLDOWN ? '' : ', its default'}) must be at least HOOKD_CIRCUIT_COOLDOWN (${circuitCooldownMs} ms)`);
  }
  return {
    initialConcurrency: integer(env, 'HOOKD_ENDPOINT_INITIAL_CONCURRENCY', DEFAULT_SCHEDULER_POLICY.initialConcurrency, 1, ADAPTIVE_CEILING),
    endpointMaxConcurrency: integer(env, 'HOOKD_ENDPOINT_MAX_CONCURRENCY', 0, 0, 10_000),
    circuitFailureThreshold: integer(env, 'HOOKD_CIRCUIT_FAILURES', DEFAULT_SCHEDULER_POLICY.circuitFailureThreshold, 1, 10_000),
    circuitCooldownMs,
    circuitMaxCooldownMs,
    slowAnswerMs: Math.floor(requestTimeoutMs / 2),
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
function publicUrl(raw: string | undefined): string | null {
  if (!raw) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail(`HOOKD_PUBLIC_URL=${raw} is not a URL (e.g. https://hooks.example.com)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`HOOKD_PUBLIC_URL=${raw} must be an http or https URL`);
  if (url.search || url.hash || url.username) fail(`HOOKD_PUBLIC_URL=${raw} must hold no query, fragment or credentials`);
  return url.href.replace(/\/+$/, '');
}

/**
 * A CSP frame-ancestors source list, checked source by source since it is written into a header: `'none'` alone,
 * `'self'`, a scheme (`https:`) or an origin with an optional `*.` host wildcard and port, without a path.
 */
function frameAncestors(raw: string | undefined): string {
  const sources = (raw ?? '').split(/\s+/).filter((s) => s.length > 0);
  if (sources.length === 0) return "'none'";
  const origin = /^(https?:\/\/)?(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:(\d{1,5}|\*))?\/?$/i;
  const ipv6 = /^https?:\/\/\[[0-9a-f:.]+\](:\d{1,5})?\/?$/i;
  for (const source of sources) {
    const ok = source === "'self'" || source === "'none'" || /^https?:$/.test(source) || origin.test(source) || ipv6.test(source);
    if (!ok) fail(`HOOKD_PORTAL_FRAME_ANCESTORS: "${source}" is not a frame-ancestors source ('self', https:, or an origin such as https://app.example.com)`);
  }
  if (sources.includes("'none'") && sources.length > 1) fail("HOOKD_PORTAL_FRAME_ANCESTORS: 'none' cannot be combined with other sources");
  return sources.join(' ');
}

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

/** A duration with a unit (or 0); unset or empty means the default. */
/** HOOKD_POLL_INTERVAL: the fallback claim poll (wake-ups do the rest); under 10ms it would only burn the database. */
function pollInterval(env: Env): number {
  const ms = timerDuration(env, 'HOOKD_POLL_INTERVAL', '1s');
  if (ms < 10) fail(`HOOKD_POLL_INTERVAL=${env.HOOKD_POLL_INTERVAL} is under 10ms: workers are woken when work arrives; the poll is only a fallback`);
  return ms;
}

/** The longest wait Node's timers keep (2^31 - 1 ms, about 24.8 days): a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration hookd waits with a timer (a timeout, an interval): at most MAX_TIMER_MS. */
function timerDuration(env: Env, name: string, fallback: string): number {
  const ms = duration(env, name, fallback);
  if (ms > MAX_TIMER_MS) fail(`${name}=${env[name] ?? fallback} is longer than 24 days, the longest wait Node's timers keep (a longer one fires at once)`);
  return ms;
}

/**
 * HOOKD_CONNECTIONS_PER_ORIGIN: by default half the worker's concurrency, so one receiver's origin (many tenants'
 * endpoints may share it) never holds every slot; more than the concurrency could never be used.
 */
function connectionsPerOrigin(env: Env, concurrency: number): number {
  const perOrigin = integer(env, 'HOOKD_CONNECTIONS_PER_ORIGIN', Math.max(1, Math.floor(concurrency / 2)), 1, 10_000);
  if (perOrigin > concurrency) fail(`HOOKD_CONNECTIONS_PER_ORIGIN=${perOrigin} is more than HOOKD_WORKER_CONCURRENCY=${concurrency}: a worker never has more requests on the wire than that`);
  return perOrigin;
}

function apiRequestTimeout(env: Env): number {
  const ms = timerDuration(env, 'HOOKD_API_REQUEST_TIMEOUT', '60s');
  if (ms < 1000) fail(`HOOKD_API_REQUEST_TIMEOUT=${env.HOOKD_API_REQUEST_TIMEOUT} is under 1s`);
  return ms;
}

function duration(env: Env, name: string, fallback: string): number {
  const raw = env[name];
  const text = raw === undefined || raw.trim() === '' ? fallback : raw;
  try {
    return parseDuration(text);
  } catch (error) {
    if (error instanceof MissingUnitError) fail(`${name}=${raw} has no unit: ${unitHint(error.value)}`);
    throw new ConfigError(`${name}: ${(error as Error).message}`);
  }
}

/**
 * HOOKD_RETRY_SCHEDULE: the delays after each failed attempt, or `none` for a single attempt. Empty is refused:
 * it used to mean "no retries" silently, which is never what an operator who left it blank meant.
 */
function retrySchedule(raw: string | undefined): number[] {
  if (raw === undefined) return [...DEFAULT_RETRY_SCHEDULE_MS];
  if (raw.trim() === '') fail('HOOKD_RETRY_SCHEDULE is empty: give the delays after each failed attempt (e.g. 5s,5m,30m) or none for a single attempt');
  if (raw.trim().toLowerCase() === 'none') return [];
  try {
    return parseDurationList(raw);
  } catch (error) {
    if (error instanceof MissingUnitError) fail(`HOOKD_RETRY_SCHEDULE=${raw}: ${error.value} has no unit: ${unitHint(error.value)}`);
    throw new ConfigError(`HOOKD_RETRY_SCHEDULE=${raw}: ${(error as Error).message}`);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(raw: string | undefined): string {
  const level = raw === undefined || raw.trim() === '' ? 'info' : raw.trim().toLowerCase();
  if (!LOG_LEVELS.includes(level)) fail(`HOOKD_LOG_LEVEL=${raw} is not a log level (one of ${LOG_LEVELS.join(', ')})`);
  return level;
}

/** An IP address or a host name (resolved when hookd listens; a name that does not resolve is reported then). */
function host(raw: string | undefined): string {
  const value = raw === undefined || raw.trim() === '' ? '127.0.0.1' : raw.trim();
  if (isIP(value) === 0 && !/^(?=.{1,253}$)([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/.test(value)) {
    fail(`HOOKD_HOST=${raw} is neither an IP address nor a host name (e.g. 127.0.0.1, 0.0.0.0, ::)`);
  }
  return value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) fail(`${name} must be an integer in [${min}, ${max}] (got "${raw}")`);
  return value;
}

// ---- Operations: endpoint auto-disable, operational webhooks, retention. Used by src/operations and
// src/maintenance in worker-role processes.

export interface OperationsConfig {
  /** A failed attempt disables its endpoint once the endpoint has been failing continuously this long; 0 = never. */
  endpointDisableAfterMs: number;
  /** Where operational webhooks (endpoint.disabled, message.attempt.*) go, signed with `secret`; null = none. */
  operationalWebhook: { url: string; secret: string } | null;
  /** Messages (with their deliveries and attempts) older than this are purged; 0 = keep forever. */
  retentionMs: number;
  /** How often the maintenance loop runs (retention purge, expired idempotency keys). */
  maintenanceIntervalMs: number;
  /** Messages (or idempotency keys) deleted per purge transaction. */
  retentionBatch: number;
}

function operationsConfig(env: Env): OperationsConfig {
  const url = env.HOOKD_OPERATIONAL_WEBHOOK_URL;
  const secret = env.HOOKD_OPERATIONAL_WEBHOOK_SECRET;
  let operationalWebhook: OperationsConfig['operationalWebhook'] = null;
  if (url) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      fail(`HOOKD_OPERATIONAL_WEBHOOK_URL must be an http(s) URL (got "${url}")`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') fail(`HOOKD_OPERATIONAL_WEBHOOK_URL must be an http(s) URL (got "${url}")`);
    if (!secret || !secretKeyBytes(secret)) {
      fail('HOOKD_OPERATIONAL_WEBHOOK_SECRET must be set with HOOKD_OPERATIONAL_WEBHOOK_URL: whsec_ + base64 of 24-64 random bytes');
    }
    operationalWebhook = { url, secret };
  } else if (secret) {
    fail('HOOKD_OPERATIONAL_WEBHOOK_SECRET is set but HOOKD_OPERATIONAL_WEBHOOK_URL is not');
  }
  const maintenanceIntervalMs = timerDuration(env, 'HOOKD_MAINTENANCE_INTERVAL', '1m');
  if (maintenanceIntervalMs < 10) fail('HOOKD_MAINTENANCE_INTERVAL must be at least 10ms');
  return {
    endpointDisableAfterMs: duration(env, 'HOOKD_ENDPOINT_DISABLE_AFTER', '5d'),
    operationalWebhook,
    retentionMs: duration(env, 'HOOKD_RETENTION', '30d'),
    maintenanceIntervalMs,
    retentionBatch: integer(env, 'HOOKD_RETENTION_BATCH', 1000, 1, 100_000),
  };
}

// ---- Observability: Prometheus metrics and request logs. Used by src/observability.

export interface ObservabilityConfig {
  /** Distinct apps and endpoints that get their own metric label values; the rest share `other`. */
  metricsMaxLabels: number;
  /** When set, /metrics requires `Authorization: Bearer <token>`; otherwise it is open (like /health). */
  metricsToken: string | null;
  /** A separate port serving only /metrics (the way to scrape `hookd worker`, which has no API); null = none. */
  metricsPort: number | null;
  /** One info line per completed API request (method, route, status, duration, reqId). */
  logRequests: boolean;
}

function observabilityConfig(env: Env): ObservabilityConfig {
  const token = env.HOOKD_METRICS_TOKEN;
  if (token !== undefined && token !== '' && (token.length < 16 || /\s/.test(token))) fail('HOOKD_METRICS_TOKEN must be at least 16 characters without whitespace');
  const port = env.HOOKD_METRICS_PORT;
  return {
    metricsMaxLabels: integer(env, 'HOOKD_METRICS_MAX_LABELS', 100, 0, 10_000),
    metricsToken: token ? token : null,
    metricsPort: port === undefined || port === '' ? null : integer(env, 'HOOKD_METRICS_PORT', 0, 0, 65535),
    // Off by default: a line per request costs about a tenth of SQLite ingest throughput (measured; see docs/operations.md, Metrics and logs).
    logRequests: boolean(env, 'HOOKD_LOG_REQUESTS', false),
  };
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'on', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'off', 'no'].includes(raw)) return false;
  return fail(`${name} must be true or false (got "${env[name]}")`);
}
