/**
 * Numbered SQLite migrations. Append only: a released migration is never edited.
 * Times are epoch milliseconds (INTEGER); JSON columns are TEXT.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const sqliteMigrations: Migration[] = [
  {
    version: 1,
    name: 'init',
    sql: `
CREATE TABLE app (
  id TEXT PRIMARY KEY,
  uid TEXT UNIQUE,
  name TEXT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  rate_limit INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE api_key (
  id TEXT PRIMARY KEY,
  app_id TEXT REFERENCES app(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  sha256_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);

CREATE TABLE endpoint (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES app(id) ON DELETE CASCADE,
  uid TEXT,
  url TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  version INTEGER NOT NULL DEFAULT 1,
  disabled INTEGER NOT NULL DEFAULT 0,
  disabled_reason TEXT,
  filter_types TEXT,
  channels TEXT,
  headers TEXT NOT NULL DEFAULT '{}',
  rate_limit INTEGER,
  secrets TEXT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  first_failure_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER
);
CREATE INDEX endpoint_app ON endpoint (app_id, id);
CREATE UNIQUE INDEX endpoint_app_uid ON endpoint (app_id, uid) WHERE uid IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE event_type (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  archived INTEGER NOT NULL DEFAULT 0,
  deprecated INTEGER NOT NULL DEFAULT 0,
  schemas TEXT,
  feature_flag TEXT,
  group_name TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE message (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES app(id) ON DELETE CASCADE,
  event_id TEXT,
  event_type TEXT NOT NULL,
  payload TEXT NOT NULL,
  channels TEXT,
  tags TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX message_app ON message (app_id, id);
CREATE UNIQUE INDEX message_app_event_id ON message (app_id, event_id) WHERE event_id IS NOT NULL;

-- The queue: one row per (message, endpoint). A pending row is due at next_attempt_at; claiming it moves
-- next_attempt_at to the lease expiry, so an expired lease makes it due again with no extra condition.
CREATE TABLE delivery (
  id TEXT PRIMARY KEY,
  message_id TEXT NOT NULL REFERENCES message(id) ON DELETE CASCADE,
  endpoint_id TEXT NOT NULL REFERENCES endpoint(id) ON DELETE CASCADE,
  app_id TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  next_trigger INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_expires_at INTEGER,
  last_error TEXT,
  updated_at INTEGER NOT NULL,
  UNIQUE (message_id, endpoint_id)
);
CREATE INDEX delivery_due ON delivery (next_attempt_at) WHERE status = 'pending';
CREATE INDEX delivery_endpoint_status ON delivery (endpoint_id, status);

CREATE TABLE attempt (
  id TEXT PRIMARY KEY,
  message_id TEXT NOT NULL REFERENCES message(id) ON DELETE CASCADE,
  endpoint_id TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  app_id TEXT NOT NULL,
  url TEXT NOT NULL,
  status TEXT NOT NULL,
  response_status_code INTEGER NOT NULL,
  response TEXT NOT NULL,
  response_duration_ms INTEGER NOT NULL,
  trigger_type INTEGER NOT NULL,
  error TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX attempt_message ON attempt (message_id, id);
CREATE INDEX attempt_endpoint ON attempt (endpoint_id, id);

CREATE TABLE idempotency (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  response_status INTEGER,
  response_body TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
);
`,
  },
  {
    version: 2,
    name: 'endpoint flow control',
    sql: `
-- Per-endpoint concurrency cap and the rate limiter's slot clock; a delivery deferred to a rate-limit slot owns it.
ALTER TABLE endpoint ADD COLUMN max_concurrency INTEGER;
ALTER TABLE endpoint ADD COLUMN throttle_next_at INTEGER;
ALTER TABLE delivery ADD COLUMN rate_reserved INTEGER NOT NULL DEFAULT 0;
CREATE INDEX delivery_leased ON delivery (endpoint_id) WHERE lease_owner IS NOT NULL;
`,
  },
  {
    version: 3,
    name: 'delivery status views',
    sql: `
-- The dashboard's lists: an app's deliveries by status, newest first (dead letters), and its attempts over time.
CREATE INDEX delivery_app_status ON delivery (app_id, status, id);
CREATE INDEX attempt_app_time ON attempt (app_id, created_at);
`,
  },
  // ---- Issue 7 (inbound sources): POST /ingest/{source_id} turns a sender's signed webhook into a message.
  {
    version: 4,
    name: 'inbound sources',
    sql: `
-- Inbound sources (POST /ingest/{source_id}): verification holds the write-only secret; JSON as TEXT.
CREATE TABLE source (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES app(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  verification TEXT NOT NULL,
  idempotency_header TEXT,
  event_type TEXT NOT NULL,
  channels TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX source_app ON source (app_id, id);
`,
  },
  // ---- Issue 7 (operations): endpoint auto-disable, operational webhooks, retention.
  {
    version: 5,
    name: 'operational webhooks and retention',
    sql: `
-- Operational webhooks: whether a failing/exhausted notice went out for the delivery since its last success
-- (a later success then raises message.attempt.recovered).
ALTER TABLE delivery ADD COLUMN failure_notified INTEGER NOT NULL DEFAULT 0;
-- Retention: expired idempotency keys are deleted by age (messages are purged in id order, which needs no index).
CREATE INDEX idempotency_created ON idempotency (created_at);
`,
  },
  // ---- Issue 11 (tenant isolation): per-endpoint scheduling, adaptive budgets, circuit breaking.
  {
    version: 6,
    name: 'endpoint queue',
    sql: `
-- The scheduler's state per endpoint (src/domain/scheduler.ts): claims walk the endpoints that have work
-- (ready_at <= now), not the deliveries, so one endpoint's backlog is never in front of another's work.
-- concurrency / slow_start_limit NULL: not adapted yet (they follow the configured initial limit).
CREATE TABLE endpoint_queue (
  endpoint_id TEXT PRIMARY KEY REFERENCES endpoint(id) ON DELETE CASCADE,
  app_id TEXT NOT NULL,
  ready_at INTEGER,
  concurrency REAL,
  slow_start_limit REAL,
  saturated INTEGER NOT NULL DEFAULT 0,
  last_decrease_at INTEGER,
  failure_streak INTEGER NOT NULL DEFAULT 0,
  circuit_opened_at INTEGER,
  circuit_retry_at INTEGER,
  circuit_openings INTEGER NOT NULL DEFAULT 0,
  rate_next_at INTEGER,
  in_flight INTEGER NOT NULL DEFAULT 0,
  latency_ms REAL
);
CREATE INDEX endpoint_queue_ready ON endpoint_queue (ready_at) WHERE ready_at IS NOT NULL;
-- One endpoint's pending deliveries in due order (what a claim takes); replaces the global due index.
DROP INDEX delivery_due;
CREATE INDEX delivery_queue ON delivery (endpoint_id, next_attempt_at) WHERE status = 'pending';
-- In flight is counted in endpoint_queue.in_flight now; a recount walks delivery_queue.
DROP INDEX delivery_leased;
-- An endpoint's deliveries by id (stats, recovery, deleting an endpoint): keys that never change, so acks write
-- no entry here (the (endpoint_id, status) index moved one on every status change).
DROP INDEX delivery_endpoint_status;
CREATE INDEX delivery_endpoint ON delivery (endpoint_id, id);
INSERT INTO endpoint_queue (endpoint_id, app_id, ready_at, rate_next_at, in_flight)
  SELECT e.id, e.app_id, (SELECT min(d.next_attempt_at) FROM delivery d WHERE d.endpoint_id = e.id AND d.status = 'pending'), e.throttle_next_at,
    (SELECT count(*) FROM delivery d WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.lease_owner IS NOT NULL)
  FROM endpoint e;
-- The rate limiter's slot clock moved to endpoint_queue; deliveries no longer reserve slots.
ALTER TABLE endpoint DROP COLUMN throttle_next_at;
ALTER TABLE delivery DROP COLUMN rate_reserved;
`,
  },
  // ---- Issue 12 (database faults): /ready commits a small write.
  {
    version: 7,
    name: 'readiness probe',
    sql: `
-- /ready writes here (and, on SQLite, deletes again in the same transaction): it answers whether a write commits now.
CREATE TABLE readiness_probe (id INTEGER PRIMARY KEY, filler BLOB);
`,
  },
  // ---- Issue 13 (Svix compatibility): app-portal tokens, expunged content.
  {
    version: 8,
    name: 'portal tokens and expunged messages',
    sql: `
-- App-portal tokens are API keys scoped to one application that expire (expires_at) and may only read (read_only).
ALTER TABLE api_key ADD COLUMN expires_at INTEGER;
ALTER TABLE api_key ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;
-- When a message's payload was expunged (DELETE .../msg/{id}/content): it is then never sent again.
ALTER TABLE message ADD COLUMN expunged_at INTEGER;
`,
  },
  // ---- A resend while the delivery is on the wire: the attempt's ack makes it pending again instead of final.
  {
    version: 9,
    name: 'resend requested in flight',
    sql: `
-- Set by a resend of a delivery leased right now; its ack records the attempt, then leaves it pending for a new one.
ALTER TABLE delivery ADD COLUMN resend_requested INTEGER NOT NULL DEFAULT 0;
`,
  },
  // ---- Issue 14 (portal and dashboard): an attempt's request and response headers, for its detail page.
  {
    version: 10,
    name: 'attempt headers',
    sql: `
-- JSON objects of header name -> value: what was sent (sensitive custom headers redacted) and what came back.
-- NULL for attempts recorded before this version (and response_headers when no response arrived).
ALTER TABLE attempt ADD COLUMN request_headers TEXT;
ALTER TABLE attempt ADD COLUMN response_headers TEXT;
`,
  },
  // ---- Issue 15 (throughput): an ack changes a delivery's status; the app's index no longer moves with it.
  {
    version: 11,
    name: 'delivery app index without status',
    sql: `
-- An application's deliveries newest first (the dashboard's lists) by keys that never change, so an ack writes no
-- entry here; dead letters (status failed) keep an index of their own, written only when a delivery fails.
DROP INDEX delivery_app_status;
CREATE INDEX delivery_app ON delivery (app_id, id);
CREATE INDEX delivery_app_failed ON delivery (app_id, id) WHERE status = 'failed';
`,
  },
  // ---- Expired app-portal tokens are deleted by the maintenance loop (purgeExpiredApiKeys).
  {
    version: 12,
    name: 'api key expiry index',
    sql: `
-- Only keys that expire (app-portal tokens): the maintenance loop finds the expired ones without reading the others.
CREATE INDEX api_key_expires ON api_key (expires_at) WHERE expires_at IS NOT NULL;
`,
  },
  // ---- Recovering an endpoint's dead letters in bounded transactions (Store.recoverFailed).
  {
    version: 13,
    name: 'delivery endpoint failed index',
    sql: `
-- An endpoint's dead letters in id order: a recovery reads them a batch at a time from where the last batch ended,
-- instead of one statement over every message of every application created in its range. Written only when a
-- delivery fails for good (or is recovered).
CREATE INDEX delivery_endpoint_failed ON delivery (endpoint_id, id) WHERE status = 'failed';
`,
  },
  // ---- An application's rateLimit / throttleRate throttles its endpoints, as in Svix; its ingest limit is its own field.
  {
    version: 15,
    name: 'app ingest rate limit',
    sql: `
-- Until now an application's rate_limit limited how fast it may ingest (429). Svix's field of that name (throttleRate in
-- the v2 SDKs) is the rate at which each of its endpoints is sent, and an SDK user who set it met 429s instead: it
-- means that now, and the ingest limit moves to a column of its own, keeping the value each application had.
ALTER TABLE app ADD COLUMN ingest_rate_limit INTEGER;
UPDATE app SET ingest_rate_limit = rate_limit, rate_limit = NULL WHERE rate_limit IS NOT NULL;
`,
  },
  // ---- App-portal tokens keep the Svix capabilities they were given, and each is enforced.
  {
    version: 16,
    name: 'api key capabilities',
    sql: `
-- A JSON array of Svix app-portal capabilities (ViewBase, ViewEndpointSecret, ManageEndpointSecret,
-- ManageTransformations, CreateAttempts, ManageEndpoint) an app-portal token is limited to; NULL: not limited (every
-- key before this version, API keys, portal tokens asked for without capabilities).
ALTER TABLE api_key ADD COLUMN capabilities TEXT;
`,
  },
  // ---- An endpoint's messages (Svix's list-attempted-messages) are paged by message id, as in Svix.
  {
    version: 17,
    name: 'delivery endpoint message index',
    sql: `
-- An endpoint's deliveries in message id order: each page of the list reads the endpoint's rows only, where without
-- it every delivery of the application is read and sorted. Keys that never change: an ack writes no entry here.
CREATE INDEX delivery_endpoint_message ON delivery (endpoint_id, message_id);
`,
  },
  // ---- A message sent to one endpoint (send-example) says so: a replay to another endpoint passes it over.
  {
    version: 18,
    name: 'message only endpoint',
    sql: `
ALTER TABLE message ADD COLUMN only_endpoint_id TEXT;
`,
  },
  // ---- Recoveries and replays are kept as Svix's background tasks, for an SDK that polls the task it was given.
  {
    version: 19,
    name: 'background tasks',
    sql: `
-- One row per recovery, replay, bulk replay or expunge of every payload (task: endpoint.recover, endpoint.replay,
-- endpoint.bulk-replay, application.purge_content), finished when answered; data is JSON (what it did; for an
-- endpoint's task its endpoint and window). Purged with the message retention.
CREATE TABLE background_task (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES app(id) ON DELETE CASCADE,
  task TEXT NOT NULL,
  status TEXT NOT NULL,
  data TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
-- An application's tasks, newest first (an application-scoped key's list; deleting an application).
CREATE INDEX background_task_app ON background_task (app_id, id);
CREATE INDEX background_task_updated ON background_task (updated_at);
`,
  },
];
