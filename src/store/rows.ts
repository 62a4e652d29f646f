import { DEFAULT_SCHEDULER_POLICY, SLOW_START_FACTOR, initialQueueState, type EndpointQueueState, type ReadyEndpoint, type SchedulerPolicy } from '../domain/scheduler.js';
import type { ApiKey, App, Attempt, BackgroundTask, Delivery, Endpoint, EventType, Message } from '../domain/types.js';
import type { ClaimedDelivery, Source } from './store.js';

/**
 * Row <-> record mapping shared by both adapters: snake_case columns, epoch-millisecond integers.
 * JSON columns arrive as TEXT (SQLite) or already parsed (PostgreSQL jsonb); booleans as 0/1 or true/false.
 * Records are written with JSON as text and booleans as 0/1, which both databases accept.
 */

export type Row = Record<string, unknown>;

export const json = <T>(value: unknown): T => (value === null || value === undefined ? null : typeof value === 'string' ? JSON.parse(value) : value) as T;
/** A boolean column as either database returns it (SQLite 0/1, PostgreSQL boolean). */
export const bool = (value: unknown): boolean => value === 1 || value === true;
export const toJson = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

export const appFromRow = (r: Row): App => ({
  id: r.id as string,
  uid: (r.uid as string | null) ?? null,
  name: r.name as string,
  metadata: json(r.metadata),
  rateLimit: (r.rate_limit as number | null) ?? null,
  ingestRateLimit: (r.ingest_rate_limit as number | null) ?? null,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
});

export const apiKeyFromRow = (r: Row): ApiKey => ({
  id: r.id as string,
  appId: (r.app_id as string | null) ?? null,
  name: r.name as string,
  prefix: r.prefix as string,
  createdAt: r.created_at as number,
  revokedAt: (r.revoked_at as number | null) ?? null,
  expiresAt: (r.expires_at as number | null) ?? null,
  readOnly: bool(r.read_only),
  capabilities: json(r.capabilities),
});

export const API_KEY_COLUMNS = 'id, app_id, name, prefix, sha256_hash, created_at, revoked_at, expires_at, read_only, capabilities';

/** A key's values in API_KEY_COLUMNS's order; `boolean` writes read_only as the dialect stores it (SQLite: 0 or 1). */
export const apiKeyValues = (key: ApiKey, sha256Hash: string, boolean: (b: boolean) => unknown): unknown[] => [
  key.id,
  key.appId,
  key.name,
  key.prefix,
  sha256Hash,
  key.createdAt,
  key.revokedAt,
  key.expiresAt,
  boolean(key.readOnly),
  toJson(key.capabilities),
];

export const backgroundTaskFromRow = (r: Row): BackgroundTask => ({
  id: r.id as string,
  appId: r.app_id as string,
  task: r.task as BackgroundTask['task'],
  status: r.status as BackgroundTask['status'],
  data: json(r.data),
  updatedAt: Number(r.updated_at),
});

export const endpointFromRow = (r: Row): Endpoint => ({
  id: r.id as string,
  appId: r.app_id as string,
  uid: (r.uid as string | null) ?? null,
  url: r.url as string,
  description: r.description as string,
  version: r.version as number,
  disabled: bool(r.disabled),
  disabledReason: (r.disabled_reason as string | null) ?? null,
  filterTypes: json(r.filter_types),
  channels: json(r.channels),
  headers: json(r.headers),
  rateLimit: (r.rate_limit as number | null) ?? null,
  maxConcurrency: (r.max_concurrency as number | null) ?? null,
  secrets: json(r.secrets),
  metadata: json(r.metadata),
  firstFailureAt: (r.first_failure_at as number | null) ?? null,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
});

export const endpointToRow = (e: Endpoint): Row => ({
  id: e.id,
  app_id: e.appId,
  uid: e.uid,
  url: e.url,
  description: e.description,
  version: e.version,
  disabled: e.disabled ? 1 : 0,
  disabled_reason: e.disabledReason,
  filter_types: toJson(e.filterTypes),
  channels: toJson(e.channels),
  headers: toJson(e.headers),
  rate_limit: e.rateLimit,
  max_concurrency: e.maxConcurrency,
  secrets: toJson(e.secrets),
  metadata: toJson(e.metadata),
  first_failure_at: e.firstFailureAt,
  created_at: e.createdAt,
  updated_at: e.updatedAt,
});

export const eventTypeFromRow = (r: Row): EventType => ({
  name: r.name as string,
  description: r.description as string,
  archived: bool(r.archived),
  deprecated: bool(r.deprecated),
  schemas: json(r.schemas),
  featureFlag: (r.feature_flag as string | null) ?? null,
  groupName: (r.group_name as string | null) ?? null,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
});

export const eventTypeToRow = (e: EventType): Row => ({
  name: e.name,
  description: e.description,
  archived: e.archived ? 1 : 0,
  deprecated: e.deprecated ? 1 : 0,
  schemas: toJson(e.schemas),
  feature_flag: e.featureFlag,
  group_name: e.groupName,
  created_at: e.createdAt,
  updated_at: e.updatedAt,
});

export const messageFromRow = (r: Row): Message => ({
  id: r.id as string,
  appId: r.app_id as string,
  eventId: (r.event_id as string | null) ?? null,
  eventType: r.event_type as string,
  payload: r.payload as string,
  channels: json(r.channels),
  tags: json(r.tags),
  createdAt: r.created_at as number,
  expungedAt: (r.expunged_at as number | null) ?? null,
});

export const deliveryFromRow = (r: Row): Delivery => ({
  id: r.id as string,
  messageId: r.message_id as string,
  endpointId: r.endpoint_id as string,
  status: r.status as Delivery['status'],
  attempts: r.attempts as number,
  nextAttemptAt: r.next_attempt_at as number,
  nextTrigger: r.next_trigger as Delivery['nextTrigger'],
  leaseOwner: (r.lease_owner as string | null) ?? null,
  leaseExpiresAt: (r.lease_expires_at as number | null) ?? null,
  lastError: (r.last_error as string | null) ?? null,
  updatedAt: r.updated_at as number,
});

export const attemptFromRow = (r: Row): Attempt => ({
  id: r.id as string,
  messageId: r.message_id as string,
  endpointId: r.endpoint_id as string,
  deliveryId: r.delivery_id as string,
  appId: r.app_id as string,
  url: r.url as string,
  status: r.status as Attempt['status'],
  responseStatusCode: r.response_status_code as number,
  response: r.response as string,
  responseDurationMs: r.response_duration_ms as number,
  triggerType: r.trigger_type as Attempt['triggerType'],
  error: (r.error as string | null) ?? null,
  requestHeaders: headersFromText(r.request_headers),
  responseHeaders: headersFromText(r.response_headers),
  createdAt: r.created_at as number,
});

/** A headers column: JSON text of an object of strings, or NULL. */
const headersFromText = (value: unknown): Record<string, string> | null => (typeof value === 'string' ? (JSON.parse(value) as Record<string, string>) : null);

/** The attempt table's columns, in the order attemptValues gives them. */
export const ATTEMPT_COLUMNS = [
  'id',
  'message_id',
  'endpoint_id',
  'delivery_id',
  'app_id',
  'url',
  'status',
  'response_status_code',
  'response',
  'response_duration_ms',
  'trigger_type',
  'error',
  'request_headers',
  'response_headers',
  'created_at',
] as const;

/** One value per element of T (mapped over a tuple type parameter, so the result is a tuple of the same length). */
type ValuesOf<T extends readonly unknown[]> = { [K in keyof T]: unknown };
/** One value per attempt column, a tuple as long as ATTEMPT_COLUMNS: the compiler checks the count. */
export type AttemptValues = ValuesOf<typeof ATTEMPT_COLUMNS>;

/**
 * An attempt's column values, in ATTEMPT_COLUMNS order: bound by position (every ack inserts one per result, and
 * better-sqlite3 binds a named parameter by looking its name up in the object, a cost per column and row).
 */
export const attemptValues = (a: Attempt): AttemptValues => [
  a.id,
  a.messageId,
  a.endpointId,
  a.deliveryId,
  a.appId,
  a.url,
  a.status,
  a.responseStatusCode,
  a.response,
  a.responseDurationMs,
  a.triggerType,
  a.error,
  a.requestHeaders === null ? null : JSON.stringify(a.requestHeaders),
  a.responseHeaders === null ? null : JSON.stringify(a.responseHeaders),
  a.createdAt,
];

/** An endpoint_queue row's scheduler state; an endpoint not adapted yet starts from the policy's initial limit. */
export const queueStateFromRow = (r: Row, policy: SchedulerPolicy): EndpointQueueState => ({
  readyAt: numberOrNull(r.ready_at),
  concurrency: numberOrNull(r.concurrency) ?? policy.initialConcurrency,
  slowStartLimit: numberOrNull(r.slow_start_limit) ?? policy.initialConcurrency * SLOW_START_FACTOR,
  saturated: bool(r.saturated),
  lastDecreaseAt: numberOrNull(r.last_decrease_at),
  failureStreak: r.failure_streak as number,
  circuitOpenedAt: numberOrNull(r.circuit_opened_at),
  circuitRetryAt: numberOrNull(r.circuit_retry_at),
  circuitOpenings: r.circuit_openings as number,
  rateNextAt: numberOrNull(r.rate_next_at),
  inFlight: Number(r.in_flight),
  latencyMs: numberOrNull(r.latency_ms),
});

/** The endpoint_queue columns of a state, in a fixed order (both adapters write them this way). */
export const queueStateToRow = (s: EndpointQueueState): Row => ({
  ready_at: s.readyAt,
  concurrency: s.concurrency,
  slow_start_limit: s.slowStartLimit,
  saturated: s.saturated ? 1 : 0,
  last_decrease_at: s.lastDecreaseAt,
  failure_streak: s.failureStreak,
  circuit_opened_at: s.circuitOpenedAt,
  circuit_retry_at: s.circuitRetryAt,
  circuit_openings: s.circuitOpenings,
  rate_next_at: s.rateNextAt,
  in_flight: s.inFlight,
  latency_ms: s.latencyMs,
});

export const QUEUE_STATE_COLUMNS = Object.keys(queueStateToRow(initialQueueState(DEFAULT_SCHEDULER_POLICY)));

/**
 * A ready endpoint as a claim sees it, from an endpoint_queue row joined with its endpoint's url, rate_limit (its
 * own, else its application's), max_concurrency, disabled and deleted_at.
 */
export const readyEndpointFromRow = (r: Row, policy: SchedulerPolicy): ReadyEndpoint => ({
  endpointId: r.endpoint_id as string,
  appId: r.app_id as string,
  url: r.url as string,
  rateLimit: (r.rate_limit as number | null) ?? null,
  maxConcurrency: (r.max_concurrency as number | null) ?? null,
  unsendable: unsendableReason(r) !== null,
  state: queueStateFromRow(r, policy),
});

const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/**
 * Claimed deliveries with what the sender needs. Each message and endpoint becomes one object shared by all its
 * deliveries of the claim (a fan-out's payload is held once, an endpoint's secrets and headers parsed once), read
 * from a row with app_id, event_type and payload (`messageRow`) and one with app_id, url, secrets and headers
 * (`endpointRow`).
 */
export function claimedOf(leased: readonly Delivery[], messageRow: (id: string) => Row, endpointRow: (id: string) => Row): ClaimedDelivery[] {
  const messages = new Map<string, ClaimedDelivery['message']>();
  const endpoints = new Map<string, ClaimedDelivery['endpoint']>();
  return leased.map((delivery) => {
    let message = messages.get(delivery.messageId);
    if (!message) {
      const r = messageRow(delivery.messageId);
      message = { id: delivery.messageId, appId: r.app_id as string, eventType: r.event_type as string, payload: r.payload as string };
      messages.set(delivery.messageId, message);
    }
    let endpoint = endpoints.get(delivery.endpointId);
    if (!endpoint) {
      const r = endpointRow(delivery.endpointId);
      endpoint = { id: delivery.endpointId, appId: r.app_id as string, url: r.url as string, secrets: json(r.secrets), headers: json(r.headers) };
      endpoints.set(delivery.endpointId, endpoint);
    }
    return { delivery, message, endpoint };
  });
}

/** Why a claimed delivery cannot be sent (its endpoint was deleted or disabled meanwhile), or null. */
export const unsendableReason = (r: Row): string | null =>
  r.deleted_at !== null ? 'endpoint deleted' : bool(r.disabled) ? 'endpoint disabled' : null;

export const sourceFromRow = (r: Row): Source => ({
  id: r.id as string,
  appId: r.app_id as string,
  name: r.name as string,
  verification: json(r.verification),
  idempotencyHeader: (r.idempotency_header as string | null) ?? null,
  eventType: json(r.event_type),
  channels: json(r.channels),
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
});

export const sourceToRow = (s: Source): Row => ({
  id: s.id,
  app_id: s.appId,
  name: s.name,
  verification: toJson(s.verification),
  idempotency_header: s.idempotencyHeader,
  event_type: toJson(s.eventType),
  channels: toJson(s.channels),
  created_at: s.createdAt,
  updated_at: s.updatedAt,
});
