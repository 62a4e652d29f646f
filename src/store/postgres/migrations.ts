import type { Migration } from '../sqlite/migrations.js';

/**
 * Numbered PostgreSQL migrations (append only). Times are epoch milliseconds (BIGINT) as in SQLite, so both
 * adapters share one contract; JSON columns are jsonb except the payload, kept as TEXT so the bytes signed
 * and sent are exactly the bytes stored.
 */
export const postgresMigrations: Migration[] = [
  {
    version: 1,
    name: 'init',
    sql: `
CREATE TABLE app (
  id TEXT PRIMARY KEY,
  uid TEXT UNIQUE,
  name TEXT NOT NULL,
  metadata JSONB NOT NULL DEFAULT '{}',
  rate_limit INTEGER,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE api_key (
  id TEXT PRIMARY KEY,
  app_id TEXT REFERENCES app(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  sha256_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);

CREATE TABLE endpoint (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES app(id) ON DELETE CASCADE,
  uid TEXT,
  url TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  version INTEGER NOT NULL DEFAULT 1,
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  disabled_reason TEXT,
  filter_types JSONB,
  channels JSONB,
  headers JSONB NOT NULL DEFAULT '{}',
  rate_limit INTEGER,
  secrets JSONB NOT NULL,
  metadata JSONB NOT NULL DEFAULT '{}',
  first_failure_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deleted_at BIGINT
);
CREATE INDEX endpoint_app ON endpoint (app_id, id);
CREATE UNIQUE INDEX endpoint_app_uid ON endpoint (app_id, uid) WHERE uid IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE event_type (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  archived BOOLEAN NOT NULL DEFAULT FALSE,
  deprecated BOOLEAN NOT NULL DEFAULT FALSE,
  schemas JSONB,
  feature_flag TEXT,
  group_name TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE message (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES app(id) ON DELETE CASCADE,
  event_id TEXT,
  event_type TEXT NOT NULL,
  payload TEXT NOT NULL,
  channels JSONB,
  tags JSONB,
  created_at BIGINT NOT NULL
);
CREATE INDEX message_app ON message (app_id, id);
CREATE UNIQUE INDEX message_app_event_id ON message (app_id, event_id) WHERE event_id IS NOT NULL;

CREATE TABLE delivery (
  id TEXT PRIMARY KEY,
  message_id TEXT NOT NULL REFERENCES message(id) ON DELETE CASCADE,
  endpoint_id TEXT NOT NULL REFERENCES endpoint(id) ON DELETE CASCADE,
  app_id TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  next_trigger INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_expires_at BIGINT,
  last_error TEXT,
  updated_at BIGINT NOT NULL,
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
  created_at BIGINT NOT NULL
);
CREATE INDEX attempt_message ON attempt (message_id, id);
CREATE INDEX attempt_endpoint ON attempt (endpoint_id, id);
CREATE INDEX attempt_app ON attempt (app_id, id);

CREATE TABLE idempotency (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  response_status INTEGER,
  response_body TEXT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (scope, key)
);
`,
  },
  {
    version: 2,
    name: 'endpoint flow control',
    sql: `
ALTER TABLE endpoint ADD COLUMN max_concurrency INTEGER;
ALTER TABLE endpoint ADD COLUMN throttle_next_at BIGINT;
ALTER TABLE delivery ADD COLUMN rate_reserved INTEGER NOT NULL DEFAULT 0;
CREATE INDEX delivery_leased ON delivery (endpoint_id) WHERE lease_owner IS NOT NULL;
`,
  },
  {
    version: 3,
    name: 'delivery status views',
    sql: `
CREATE INDEX delivery_app_status ON delivery (app_id, status, id);
CREATE INDEX attempt_app_time ON attempt (app_id, created_at);
`,
  },
  // ---- Issue 7 (inbound sources): POST /ingest/{source_id} turns a sender's signed webhook into a message.
  {
    version: 4,
    name: 'inbound sources',
    sql: `
CREATE TABLE source (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES app(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  verification JSONB NOT NULL,
  idempotency_header TEXT,
  event_type JSONB NOT NULL,
  channels JSONB,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX source_app ON source (app_id, id);
`,
  },
  // ---- Issue 7 (operations): endpoint auto-disable, operational webhooks, retention.
  {
    version: 5,
    name: 'operational webhooks and retention',
    sql: `
ALTER TABLE delivery ADD COLUMN failure_notified BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX idempotency_created ON idempotency (created_at);
`,
  },
  // ---- Issue 11 (tenant isolation): per-endpoint scheduling, adaptive budgets, circuit breaking.
  {
    version: 6,
    name: 'endpoint queue',
    sql: `
CREATE TABLE endpoint_queue (
  endpoint_id TEXT PRIMARY KEY REFERENCES endpoint(id) ON DELETE CASCADE,
  app_id TEXT NOT NULL,
  ready_at BIGINT,
  concurrency DOUBLE PRECISION,
  slow_start_limit DOUBLE PRECISION,
  saturated BOOLEAN NOT NULL DEFAULT FALSE,
  last_decrease_at BIGINT,
  failure_streak INTEGER NOT NULL DEFAULT 0,
  circuit_opened_at BIGINT,
  circuit_retry_at BIGINT,
  circuit_openings INTEGER NOT NULL DEFAULT 0,
  rate_next_at BIGINT,
  in_flight INTEGER NOT NULL DEFAULT 0,
  latency_ms DOUBLE PRECISION
);
CREATE INDEX endpoint_queue_ready ON endpoint_queue (ready_at) WHERE ready_at IS NOT NULL;
DROP INDEX delivery_due;
CREATE INDEX delivery_queue ON delivery (endpoint_id, next_attempt_at) WHERE status = 'pending';
DROP INDEX delivery_leased;
-- An endpoint's deliveries by id (stats, recovery, deleting an endpoint): keys that never change, so acks write
-- no entry here (the (endpoint_id, status) index moved one on every status change).
DROP INDEX delivery_endpoint_status;
CREATE INDEX delivery_endpoint ON delivery (endpoint_id, id);
INSERT INTO endpoint_queue (endpoint_id, app_id, ready_at, rate_next_at, in_flight)
  SELECT e.id, e.app_id, (SELECT min(d.next_attempt_at) FROM delivery d WHERE d.endpoint_id = e.id AND d.status = 'pending'), e.throttle_next_at,
    (SELECT count(*) FROM delivery d WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.lease_owner IS NOT NULL)
  FROM endpoint e;
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
CREATE TABLE readiness_probe (id INTEGER PRIMARY KEY, at BIGINT NOT NULL);
`,
  },
  // ---- Issue 13 (Svix compatibility): app-portal tokens, expunged content.
  {
    version: 8,
    name: 'portal tokens and expunged messages',
    sql: `
-- App-portal tokens are API keys scoped to one application that expire (expires_at) and may only read (read_only).
ALTER TABLE api_key ADD COLUMN expires_at BIGINT;
ALTER TABLE api_key ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;
-- When a message's payload was expunged (DELETE .../msg/{id}/content): it is then never sent again.
ALTER TABLE message ADD COLUMN expunged_at BIGINT;
`,
  },
  // ---- A resend while the delivery is on the wire: the attempt's ack makes it pending again instead of final.
  {
    version: 9,
    name: 'resend requested in flight',
    sql: `
-- Set by a resend of a delivery leased right now; its ack records the attempt, then leaves it pending for a new one.
ALTER TABLE delivery ADD COLUMN resend_requested BOOLEAN NOT NULL DEFAULT FALSE;
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
  // ---- Ids sort in creation order whatever the database's collation.
  {
    version: 14,
    name: 'ids in byte order',
    sql: `
-- Ids are time-sortable (KSUID, base62 in ASCII order), and every list, its cursor and "newest first" rely on ORDER BY
-- id. Under a database collation other than C (en_US.UTF-8, as in the official image and managed services; ICU) upper
-- and lower case letters interleave ('a' < 'B'), and lists came out of creation order. There, ids and the columns that
-- refer to them are made to compare byte by byte (the same collation on both sides, so joins keep their indexes): no
-- table rewrite, but their indexes are rebuilt under an exclusive lock, a pause in proportion to the history kept. A
-- database whose collation already orders the id alphabet byte by byte (C, POSIX, C.UTF-8) is left alone.
DO $$
BEGIN
  IF NOT (SELECT bool_and(substr(a, i, 1) < substr(a, i + 1, 1))
          FROM (SELECT '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'::text AS a) alphabet, generate_series(1, 61) AS i) THEN
    ALTER TABLE app ALTER COLUMN id TYPE text COLLATE "C";
    ALTER TABLE api_key ALTER COLUMN id TYPE text COLLATE "C", ALTER COLUMN app_id TYPE text COLLATE "C";
    ALTER TABLE endpoint ALTER COLUMN id TYPE text COLLATE "C", ALTER COLUMN app_id TYPE text COLLATE "C";
    ALTER TABLE endpoint_queue ALTER COLUMN endpoint_id TYPE text COLLATE "C", ALTER COLUMN app_id TYPE text COLLATE "C";
    ALTER TABLE message ALTER COLUMN id TYPE text COLLATE "C", ALTER COLUMN app_id TYPE text COLLATE "C";
    ALTER TABLE delivery ALTER COLUMN id TYPE text COLLATE "C", ALTER COLUMN message_id TYPE text COLLATE "C", ALTER COLUMN endpoint_id TYPE text COLLATE "C", ALTER COLUMN app_id TYPE text COLLATE "C";
    ALTER TABLE attempt ALTER COLUMN id TYPE text COLLATE "C", ALTER COLUMN message_id TYPE text COLLATE "C", ALTER COLUMN endpoint_id TYPE text COLLATE "C", ALTER COLUMN delivery_id TYPE text COLLATE "C", ALTER COLUMN app_id TYPE text COLLATE "C";
    ALTER TABLE source ALTER COLUMN id TYPE text COLLATE "C", ALTER COLUMN app_id TYPE text COLLATE "C";
  END IF;
END
$$;
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
-- it the deliveries of every endpoint are walked in message id order to find them (UNIQUE (message_id, endpoint_id)).
-- Built in the migration's transaction: writes to delivery wait for it, a pause in proportion to the history kept.
CREATE INDEX delivery_endpoint_message ON delivery (endpoint_id, message_id);
`,
  },
  // ---- A message sent to one endpoint (send-example) says so: a replay to another endpoint passes it over. A
  // nullable column without a default: no table rewrite.
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
  data JSONB NOT NULL,
  updated_at BIGINT NOT NULL
);
-- An application's tasks, newest first (an application-scoped key's list; deleting an application).
CREATE INDEX background_task_app ON background_task (app_id, id);
CREATE INDEX background_task_updated ON background_task (updated_at);
`,
  },
  // ---- PostgreSQL alone (SQLite's ack reads an endpoint's URL inside the one write transaction): the URL an
  // endpoint's scheduler state is about, so an ack reads it with the state's row lock (src/store/postgres/ack.ts).
  {
    version: 20,
    name: 'endpoint queue url',
    sql: `
-- Set when the endpoint's URL changes, in the change's transaction, by the database itself, whichever hookd makes the
-- change (an older one still running during a rolling upgrade knows no such column). NULL: the URL has not changed
-- since this migration, so the endpoint row's is the one. No backfill: this only adds a column (no rewrite) and a
-- trigger, each under a brief lock.
ALTER TABLE endpoint_queue ADD COLUMN url TEXT;
CREATE FUNCTION endpoint_queue_url_follows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The table's own schema (hookd's "schema" setting), not the session's search_path.
  EXECUTE format('UPDATE %I.endpoint_queue SET url = $1 WHERE endpoint_id = $2', TG_TABLE_SCHEMA) USING NEW.url, NEW.id;
  RETURN NULL;
END $$;
-- After the endpoint's row, as every writer of both takes their locks: the endpoint's, then its queue row's.
CREATE TRIGGER endpoint_url_to_queue AFTER UPDATE OF url ON endpoint FOR EACH ROW WHEN (OLD.url IS DISTINCT FROM NEW.url)
  EXECUTE FUNCTION endpoint_queue_url_follows();
`,
  },
];
