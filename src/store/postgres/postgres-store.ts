import pg from 'pg';
import { conflict } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import { endpointMatches } from '../../domain/matching.js';
import { admit, type EndpointLimits } from '../../domain/throttle.js';
import type { ApiKey, App, Attempt, Delivery, Endpoint, EventType, Message, Page } from '../../domain/types.js';
import { endpointStreaks } from '../endpoint-streaks.js';
import { idLowerBound } from '../retention.js';
import { pageQuery, pagedSql, timeRange, toPage, type PageQuery } from '../paging.js';
import {
  apiKeyFromRow,
  appFromRow,
  attemptFromRow,
  attemptToRow,
  claimedFromRow,
  deliveryFromRow,
  endpointFromRow,
  endpointLimitsFromRow,
  endpointToRow,
  eventTypeFromRow,
  eventTypeToRow,
  messageFromRow,
  sourceFromRow,
  sourceToRow,
  toJson,
  unsendableReason,
} from '../rows.js';
import {
  bucketsFromRows,
  countsByMessage,
  countsFromRows,
  deliveryListItemFromRow,
  deliveryListSelect,
  messageStatusCondition,
  statusTextCondition,
  statusTextSql,
} from '../delivery-status.js';
import type {
  AckedResult,
  AckOutcome,
  AckPolicy,
  AttemptBucket,
  AttemptFilter,
  AttemptNotice,
  AttemptNoticeFact,
  AttemptSeriesQuery,
  ClaimedDelivery,
  DeliveryCounts,
  DeliveryFilter,
  DeliveryListItem,
  DeliveryResult,
  DisabledEndpointFact,
  EndpointLatency,
  IdempotencyState,
  InsertMessageResult,
  MessageFilter,
  OperationalEventSource,
  PageRequest,
  PurgeResult,
  QueueStats,
  Source,
  Store,
  StoredResponse,
} from '../store.js';
import { postgresMigrations } from './migrations.js';

type Row = Record<string, unknown>;

/** The NOTIFY channel that wakes workers when deliveries become due. */
export const DELIVERIES_CHANNEL = 'hookd_deliveries';
const MIGRATION_LOCK = 7_243_519; // pg_advisory_xact_lock key for migrations
const $ = (n: number): string => `$${n}`;

export interface PostgresStoreOptions {
  url: string;
  /** Schema to use (created if missing); default "public". Tests use one schema per file. */
  schema?: string;
  poolSize?: number;
}

// BIGINT (epoch milliseconds, counts) as numbers: every value we store is far below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * The scale-out store: many API and worker processes on one PostgreSQL. Workers claim with
 * FOR UPDATE SKIP LOCKED under a lease; commits that make deliveries due NOTIFY waiting workers.
 */
export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private readonly listeners = new Set<() => void>();
  private listenClient: pg.Client | null = null;
  private closed = false;

  constructor(private readonly options: PostgresStoreOptions) {
    this.schema = options.schema ?? 'public';
    if (!/^[a-z_][a-z0-9_]*$/.test(this.schema)) throw new Error(`invalid schema name "${this.schema}"`);
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      types,
      options: `-c search_path=${this.schema}`,
    });
    // An idle client's error (server restart) must not crash the process; the pool replaces it.
    this.pool.on('error', () => undefined);
  }

  async migrate(): Promise<number[]> {
    return this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const done = new Set((await client.query('SELECT version FROM schema_migrations')).rows.map((r) => r.version as number));
      const applied: number[] = [];
      for (const migration of postgresMigrations) {
        if (done.has(migration.version)) continue;
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
        applied.push(migration.version);
      }
      return applied;
    });
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.listenClient?.end().catch(() => undefined);
    await this.pool.end();
  }

  /**
   * Calls `listener` whenever any process commits deliveries that are due now (LISTEN/NOTIFY). A lost
   * connection is re-established; meanwhile the worker's slow poll covers the gap.
   */
  async subscribeDeliveriesDue(listener: () => void): Promise<() => void> {
    this.listeners.add(listener);
    if (!this.listenClient) await this.listen();
    return () => this.listeners.delete(listener);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.url });
    this.listenClient = client;
    const reconnect = (): void => {
      if (this.listenClient !== client || this.closed) return;
      this.listenClient = null;
      client.end().catch(() => undefined);
      setTimeout(() => {
        if (!this.closed && this.listeners.size > 0) this.listen().catch(() => reconnect());
      }, 1000).unref();
    };
    client.on('error', reconnect);
    client.on('end', reconnect);
    client.on('notification', () => {
      for (const listener of this.listeners) listener();
    });
    await client.connect();
    await client.query(`LISTEN ${DELIVERIES_CHANNEL}`);
  }

  // ---- API keys

  async createApiKey(key: ApiKey, sha256Hash: string): Promise<void> {
    await this.pool.query('INSERT INTO api_key (id, app_id, name, prefix, sha256_hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      key.id,
      key.appId,
      key.name,
      key.prefix,
      sha256Hash,
      key.createdAt,
      key.revokedAt,
    ]);
  }

  async findApiKeyByHash(sha256Hash: string): Promise<ApiKey | null> {
    return this.one('SELECT * FROM api_key WHERE sha256_hash = $1 AND revoked_at IS NULL', [sha256Hash], apiKeyFromRow);
  }

  async listApiKeys(): Promise<ApiKey[]> {
    return (await this.pool.query('SELECT * FROM api_key ORDER BY id')).rows.map(apiKeyFromRow);
  }

  async revokeApiKey(id: string, nowMs: number): Promise<boolean> {
    return ((await this.pool.query('UPDATE api_key SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [nowMs, id])).rowCount ?? 0) > 0;
  }

  // ---- Applications

  async createApp(app: App): Promise<void> {
    await this.uniqueOrConflict(`an application with uid "${app.uid}" already exists`, () =>
      this.pool.query('INSERT INTO app (id, uid, name, metadata, rate_limit, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        app.id,
        app.uid,
        app.name,
        toJson(app.metadata),
        app.rateLimit,
        app.createdAt,
        app.updatedAt,
      ]),
    );
  }

  async getApp(idOrUid: string): Promise<App | null> {
    return this.one('SELECT * FROM app WHERE id = $1 OR uid = $1 ORDER BY (id = $1) DESC LIMIT 1', [idOrUid], appFromRow);
  }

  async listApps(page: PageRequest): Promise<Page<App>> {
    return this.paged('SELECT * FROM app', [], 'id', pageQuery(page, 'ascending'), appFromRow, (a) => a.id);
  }

  async updateApp(app: App): Promise<void> {
    await this.uniqueOrConflict(`an application with uid "${app.uid}" already exists`, () =>
      this.pool.query('UPDATE app SET uid = $1, name = $2, metadata = $3, rate_limit = $4, updated_at = $5 WHERE id = $6', [
        app.uid,
        app.name,
        toJson(app.metadata),
        app.rateLimit,
        app.updatedAt,
        app.id,
      ]),
    );
  }

  async deleteApp(id: string): Promise<void> {
    await this.transaction(async (client) => {
      await client.query('DELETE FROM attempt WHERE app_id = $1', [id]);
      await client.query('DELETE FROM app WHERE id = $1', [id]);
    });
  }

  // ---- Endpoints

  async createEndpoint(endpoint: Endpoint): Promise<void> {
    const row = endpointToRow(endpoint);
    const columns = Object.keys(row);
    await this.uniqueOrConflict(`an endpoint with uid "${endpoint.uid}" already exists`, () =>
      this.pool.query(`INSERT INTO endpoint (${columns.join(', ')}) VALUES (${columns.map((_, i) => $(i + 1)).join(', ')})`, Object.values(row)),
    );
  }

  async getEndpoint(appId: string, idOrUid: string): Promise<Endpoint | null> {
    return this.one(
      'SELECT * FROM endpoint WHERE app_id = $1 AND (id = $2 OR uid = $2) AND deleted_at IS NULL ORDER BY (id = $2) DESC LIMIT 1',
      [appId, idOrUid],
      endpointFromRow,
    );
  }

  async listEndpoints(appId: string, page: PageRequest): Promise<Page<Endpoint>> {
    return this.paged('SELECT * FROM endpoint WHERE app_id = $1 AND deleted_at IS NULL', [appId], 'id', pageQuery(page, 'ascending'), endpointFromRow, (e) => e.id);
  }

  async updateEndpoint(endpoint: Endpoint): Promise<void> {
    const row = endpointToRow(endpoint);
    const columns = Object.keys(row).filter((c) => c !== 'id' && c !== 'app_id' && c !== 'created_at');
    await this.uniqueOrConflict(`an endpoint with uid "${endpoint.uid}" already exists`, () =>
      this.pool.query(`UPDATE endpoint SET ${columns.map((c, i) => `${c} = ${$(i + 2)}`).join(', ')} WHERE id = $1`, [endpoint.id, ...columns.map((c) => row[c])]),
    );
  }

  async deleteEndpoint(appId: string, id: string, nowMs: number): Promise<void> {
    await this.transaction(async (client) => {
      await client.query('UPDATE endpoint SET deleted_at = $1, uid = NULL, updated_at = $1 WHERE id = $2 AND app_id = $3', [nowMs, id, appId]);
      await client.query(
        "UPDATE delivery SET status = 'failed', last_error = 'endpoint deleted', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 WHERE endpoint_id = $2 AND status = 'pending'",
        [nowMs, id],
      );
    });
  }

  // ---- Event types

  async createEventType(eventType: EventType): Promise<void> {
    const row = eventTypeToRow(eventType);
    const columns = Object.keys(row);
    await this.uniqueOrConflict(`event type "${eventType.name}" already exists`, () =>
      this.pool.query(`INSERT INTO event_type (${columns.join(', ')}) VALUES (${columns.map((_, i) => $(i + 1)).join(', ')})`, Object.values(row)),
    );
  }

  async getEventType(name: string): Promise<EventType | null> {
    return this.one('SELECT * FROM event_type WHERE name = $1', [name], eventTypeFromRow);
  }

  async listEventTypes(page: PageRequest & { includeArchived: boolean }): Promise<Page<EventType>> {
    const select = page.includeArchived ? 'SELECT * FROM event_type' : 'SELECT * FROM event_type WHERE archived = FALSE';
    return this.paged(select, [], 'name', pageQuery(page, 'ascending'), eventTypeFromRow, (e) => e.name);
  }

  async updateEventType(eventType: EventType): Promise<void> {
    const row = eventTypeToRow(eventType);
    const columns = Object.keys(row).filter((c) => c !== 'name' && c !== 'created_at');
    await this.pool.query(`UPDATE event_type SET ${columns.map((c, i) => `${c} = ${$(i + 2)}`).join(', ')} WHERE name = $1`, [eventType.name, ...columns.map((c) => row[c])]);
  }

  async deleteEventType(name: string, expunge: boolean, nowMs: number): Promise<boolean> {
    const result = expunge
      ? await this.pool.query('DELETE FROM event_type WHERE name = $1', [name])
      : await this.pool.query('UPDATE event_type SET archived = TRUE, updated_at = $2 WHERE name = $1', [name, nowMs]);
    return (result.rowCount ?? 0) > 0;
  }

  // ---- Messages (ingest + fan-out): a fixed number of round trips per batch, whatever its size.

  async insertMessages(messages: Message[]): Promise<InsertMessageResult[]> {
    if (messages.length === 0) return [];
    return this.transaction((client) => this.insertMessagesIn(client, messages));
  }

  /** insertMessages inside the caller's transaction (ingest; operational events in an ack). */
  private async insertMessagesIn(client: pg.PoolClient, messages: Message[]): Promise<InsertMessageResult[]> {
    const inserted = new Set(
      (
        await client.query(
          `INSERT INTO message (id, app_id, event_id, event_type, payload, channels, tags, created_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[], $8::bigint[])
           ON CONFLICT DO NOTHING RETURNING id`,
          [
            messages.map((m) => m.id),
            messages.map((m) => m.appId),
            messages.map((m) => m.eventId),
            messages.map((m) => m.eventType),
            messages.map((m) => m.payload),
            messages.map((m) => toJson(m.channels)),
            messages.map((m) => toJson(m.tags)),
            messages.map((m) => m.createdAt),
          ],
        )
      ).rows.map((r) => r.id as string),
    );
    // Within one batch, a later message repeating an earlier one's eventId is a duplicate of it.
    const endpoints = (
      await client.query('SELECT id, app_id, disabled, filter_types, channels FROM endpoint WHERE app_id = ANY($1) AND deleted_at IS NULL', [
        [...new Set(messages.map((m) => m.appId))],
      ])
    ).rows;
    const deliveries: { id: string; messageId: string; endpointId: string; appId: string; at: number }[] = [];
    const counts = new Map<string, number>();
    for (const m of messages) {
      if (!inserted.has(m.id)) continue;
      let count = 0;
      for (const e of endpoints) {
        if (e.app_id !== m.appId) continue;
        if (!endpointMatches({ disabled: e.disabled, filterTypes: e.filter_types, channels: e.channels }, m.eventType, m.channels)) continue;
        deliveries.push({ id: newId('dlv', m.createdAt), messageId: m.id, endpointId: e.id, appId: m.appId, at: m.createdAt });
        count++;
      }
      counts.set(m.id, count);
    }
    if (deliveries.length > 0) {
      await client.query(
        `INSERT INTO delivery (id, message_id, endpoint_id, app_id, status, attempts, next_attempt_at, next_trigger, updated_at)
         SELECT id, message_id, endpoint_id, app_id, 'pending', 0, at, 0, at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS d(id, message_id, endpoint_id, app_id, at)`,
        [deliveries.map((d) => d.id), deliveries.map((d) => d.messageId), deliveries.map((d) => d.endpointId), deliveries.map((d) => d.appId), deliveries.map((d) => d.at)],
      );
      await client.query('SELECT pg_notify($1, $2)', [DELIVERIES_CHANNEL, '']);
    }
    const duplicates = messages.filter((m) => !inserted.has(m.id));
    const existing = new Map<string, Message>();
    if (duplicates.length > 0) {
      const rows = (
        await client.query('SELECT * FROM message WHERE (app_id, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))', [
          duplicates.map((m) => m.appId),
          duplicates.map((m) => m.eventId),
        ])
      ).rows.map(messageFromRow);
      for (const m of rows) existing.set(`${m.appId}\u0000${m.eventId}`, m);
    }
    return messages.map((m): InsertMessageResult =>
      inserted.has(m.id) ? { kind: 'inserted', deliveries: counts.get(m.id) ?? 0 } : { kind: 'duplicate', existing: existing.get(`${m.appId}\u0000${m.eventId}`)! },
    );
  }

  async getMessage(appId: string, idOrEventId: string): Promise<Message | null> {
    return this.one('SELECT * FROM message WHERE app_id = $1 AND (id = $2 OR event_id = $2) ORDER BY (id = $2) DESC LIMIT 1', [appId, idOrEventId], messageFromRow);
  }

  async listMessages(appId: string, filter: MessageFilter, page: PageRequest): Promise<Page<Message>> {
    const params: unknown[] = [appId];
    const clauses = ['app_id = $1'];
    if (filter.channel) {
      params.push(JSON.stringify([filter.channel]));
      clauses.push(`channels @> ${$(params.length)}::jsonb`);
    }
    if (filter.tag) {
      params.push(JSON.stringify([filter.tag]));
      clauses.push(`tags @> ${$(params.length)}::jsonb`);
    }
    if (filter.eventTypes && filter.eventTypes.length > 0) {
      params.push(filter.eventTypes);
      clauses.push(`event_type = ANY(${$(params.length)})`);
    }
    if (filter.deliveryStatus) clauses.push(messageStatusCondition(filter.deliveryStatus));
    timeRange(clauses, params, filter, $);
    return this.paged(`SELECT * FROM message WHERE ${clauses.join(' AND ')}`, params, 'id', pageQuery(page, 'descending'), messageFromRow, (m) => m.id);
  }

  // ---- Queue

  async claimDeliveries(owner: string, limit: number, leaseMs: number, nowMs: number, defaultMaxConcurrency = 0): Promise<ClaimedDelivery[]> {
    const leaseExpiresAt = nowMs + leaseMs;
    return this.transaction(async (client) => {
      // Due rows other workers are claiming right now are skipped, not waited for.
      const due = (
        await client.query(
          `SELECT id, endpoint_id, rate_reserved, next_attempt_at FROM delivery WHERE status = 'pending' AND next_attempt_at <= $1
           ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [nowMs, limit],
        )
      ).rows.map((r) => ({ deliveryId: r.id as string, endpointId: r.endpoint_id as string, reserved: r.rate_reserved === 1, dueAt: r.next_attempt_at as number }));
      if (due.length === 0) return [];
      // Limited endpoints are locked (in id order: no deadlocks) so their in-flight count and slot clock are
      // decided by one worker at a time; unlimited endpoints take no lock.
      const limits = new Map<string, EndpointLimits>();
      for (const e of (
        await client.query(
          `SELECT id, rate_limit, max_concurrency, throttle_next_at FROM endpoint
           WHERE id = ANY($1) AND (rate_limit > 0 OR max_concurrency > 0 OR $2::int > 0) ORDER BY id FOR UPDATE`,
          [[...new Set(due.map((c) => c.endpointId))], defaultMaxConcurrency],
        )
      ).rows) {
        limits.set(e.id as string, endpointLimitsFromRow(e));
      }
      if (limits.size > 0) {
        for (const r of (
          await client.query(
            `SELECT endpoint_id, count(*) AS n FROM delivery
             WHERE endpoint_id = ANY($1) AND lease_owner IS NOT NULL AND status = 'pending' AND next_attempt_at > $2 GROUP BY endpoint_id`,
            [[...limits.keys()], nowMs],
          )
        ).rows) {
          limits.get(r.endpoint_id as string)!.inFlight = r.n as number;
        }
      }
      const admission = admit(due, limits, nowMs, defaultMaxConcurrency);
      if (admission.deferred.length > 0) {
        await client.query(
          `UPDATE delivery d SET next_attempt_at = u.until, rate_reserved = u.reserved
           FROM unnest($1::text[], $2::bigint[], $3::int[]) AS u(id, until, reserved) WHERE d.id = u.id`,
          [admission.deferred.map((d) => d.deliveryId), admission.deferred.map((d) => d.until), admission.deferred.map((d) => (d.reserved ? 1 : 0))],
        );
      }
      if (admission.nextSlots.size > 0) {
        await client.query(
          'UPDATE endpoint e SET throttle_next_at = u.next FROM unnest($1::text[], $2::bigint[]) AS u(id, next) WHERE e.id = u.id',
          [[...admission.nextSlots.keys()], [...admission.nextSlots.values()].map((v) => Math.ceil(v))],
        );
      }
      if (admission.accepted.length === 0) return [];
      const order = new Map(admission.accepted.map((id, i) => [id, i]));
      const deliveries = (
        await client.query(
          `UPDATE delivery SET lease_owner = $1, lease_expires_at = $2, next_attempt_at = $2, rate_reserved = 0, updated_at = $3
           WHERE id = ANY($4) RETURNING *`,
          [owner, leaseExpiresAt, nowMs, admission.accepted],
        )
      ).rows
        .map(deliveryFromRow)
        .sort((a, b) => order.get(a.id)! - order.get(b.id)!);
      const details = new Map<string, Row>();
      for (const row of (
        await client.query(
          `SELECT d.id AS delivery_id, m.app_id, m.event_type, m.payload, e.url, e.secrets, e.headers, e.disabled, e.deleted_at
           FROM delivery d JOIN message m ON m.id = d.message_id JOIN endpoint e ON e.id = d.endpoint_id WHERE d.id = ANY($1)`,
          [deliveries.map((d) => d.id)],
        )
      ).rows) {
        details.set(row.delivery_id as string, row);
      }
      const claimed: ClaimedDelivery[] = [];
      const unsendable: { id: string; reason: string }[] = [];
      for (const delivery of deliveries) {
        const row = details.get(delivery.id)!;
        const reason = unsendableReason(row);
        if (reason) unsendable.push({ id: delivery.id, reason });
        else claimed.push(claimedFromRow(delivery, row));
      }
      if (unsendable.length > 0) {
        await client.query(
          `UPDATE delivery d SET status = 'failed', last_error = u.reason, lease_owner = NULL, lease_expires_at = NULL
           FROM unnest($1::text[], $2::text[]) AS u(id, reason) WHERE d.id = u.id`,
          [unsendable.map((u) => u.id), unsendable.map((u) => u.reason)],
        );
      }
      return claimed;
    });
  }

  async completeDeliveries(results: DeliveryResult[], policy?: AckPolicy): Promise<AckOutcome> {
    const outcome: AckOutcome = { operationalEvents: 0, disabledEndpoints: [] };
    if (results.length === 0) return outcome;
    const attempts = results.map((r) => attemptToRow(r.attempt));
    const columns = Object.keys(attempts[0]!);
    const arrayTypes: Record<string, string> = {
      response_status_code: 'int[]',
      response_duration_ms: 'int[]',
      trigger_type: 'int[]',
      created_at: 'bigint[]',
    };
    const operatorAppId = policy?.operatorAppId ?? null;
    await this.transaction(async (client) => {
      // The attempt happened, so it is always recorded, even when the lease was lost meanwhile.
      await client.query(
        `INSERT INTO attempt (${columns.join(', ')}) SELECT * FROM unnest(${columns.map((c, i) => `${$(i + 1)}::${arrayTypes[c] ?? 'text[]'}`).join(', ')})`,
        columns.map((c) => attempts.map((a) => a[c])),
      );
      // RETURNING: the deliveries whose ack applied (the lease still held), with their state for operational events.
      const applied = (
        await client.query(
          `UPDATE delivery d SET status = r.status, attempts = d.attempts + 1, next_attempt_at = r.next_at, next_trigger = 0,
             lease_owner = NULL, lease_expires_at = NULL, last_error = r.error, updated_at = r.at
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[]) AS r(id, owner, status, next_at, error, at)
           WHERE d.id = r.id AND d.lease_owner = r.owner
           RETURNING d.id, d.attempts, d.failure_notified`,
          [
            results.map((r) => r.deliveryId),
            results.map((r) => r.leaseOwner),
            results.map((r) => r.next.status),
            results.map((r) => (r.next.status === 'pending' ? r.next.nextAttemptAt : r.attempt.createdAt)),
            results.map((r) => r.attempt.error),
            results.map((r) => r.attempt.createdAt),
          ],
        )
      ).rows;
      const byDelivery = new Map(results.map((r) => [r.deliveryId, r]));
      const acked: AckedResult[] = applied.map((row) => ({ result: byDelivery.get(row.id as string)!, attempts: row.attempts as number, failureNotified: row.failure_notified === true }));
      const recovered = acked.filter((a) => a.failureNotified && a.result.attempt.status === 'success').map((a) => a.result.deliveryId);
      if (recovered.length > 0) await client.query('UPDATE delivery SET failure_notified = FALSE WHERE id = ANY($1)', [recovered]);
      // Failure streaks (first_failure_at) and automatic disabling (410 Gone; failing longer than the disable period):
      // one statement that locks, in id order, only the endpoint rows that change, so concurrent acks from several
      // workers cannot deadlock on shared endpoints.
      const streaks = endpointStreaks(results, operatorAppId);
      let disabled: Row[] = [];
      if (streaks.length > 0) {
        const changed = (
          await client.query(
            `WITH c(id, last_ok, first_fail, last_fail, last_at, gone, may_disable) AS (
               SELECT * FROM unnest($1::text[], $2::bool[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::bool[])),
             target AS (
               SELECT e.id,
                 (c.gone IS NOT NULL AND NOT e.disabled AND e.deleted_at IS NULL) AS gone_now,
                 COALESCE(c.may_disable AND $8::bigint > 0 AND NOT c.last_ok AND NOT e.disabled AND e.deleted_at IS NULL
                   AND e.first_failure_at <= c.last_fail - $8::bigint, FALSE) AS failing_now
               FROM endpoint e JOIN c ON c.id = e.id
               WHERE (c.last_ok AND e.first_failure_at IS NOT NULL) OR (NOT c.last_ok AND e.first_failure_at IS NULL)
                 OR (c.gone IS NOT NULL AND NOT e.disabled AND e.deleted_at IS NULL)
                 OR (c.may_disable AND $8::bigint > 0 AND NOT c.last_ok AND NOT e.disabled AND e.deleted_at IS NULL
                   AND e.first_failure_at <= c.last_fail - $8::bigint)
               ORDER BY e.id FOR UPDATE OF e)
             UPDATE endpoint e SET
               first_failure_at = CASE WHEN c.last_ok THEN NULL ELSE COALESCE(e.first_failure_at, c.first_fail) END,
               disabled = e.disabled OR t.gone_now OR t.failing_now,
               disabled_reason = CASE WHEN t.gone_now THEN c.gone
                 WHEN t.failing_now THEN 'failing continuously since ' || to_char(to_timestamp(e.first_failure_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                 ELSE e.disabled_reason END,
               updated_at = CASE WHEN t.gone_now OR t.failing_now THEN c.last_at ELSE e.updated_at END
             FROM c, target t WHERE e.id = c.id AND e.id = t.id
             RETURNING e.id, e.app_id, e.uid, e.first_failure_at, e.disabled_reason, c.last_at, (t.gone_now OR t.failing_now) AS disabled_now`,
            [
              streaks.map((x) => x.endpointId),
              streaks.map((x) => x.lastOk),
              streaks.map((x) => x.firstFail),
              streaks.map((x) => x.lastFail),
              streaks.map((x) => x.lastAt),
              streaks.map((x) => x.gone),
              streaks.map((x) => x.mayDisable),
              policy?.endpointDisableAfterMs ?? 0,
            ],
          )
        ).rows;
        disabled = changed.filter((row) => row.disabled_now === true);
        outcome.disabledEndpoints = disabled.map((row) => row.id as string);
      }
      if (policy?.events) outcome.operationalEvents = await this.insertOperationalEvents(client, policy.events, operatorAppId, acked, disabled);
    });
    return outcome;
  }

  /**
   * Operational events of one ack, inside its transaction: notices for applied results (marking the
   * delivery as notified) and endpoint.disabled for endpoints this ack disabled, inserted as messages.
   */
  private async insertOperationalEvents(
    client: pg.PoolClient,
    events: OperationalEventSource,
    operatorAppId: string | null,
    acked: AckedResult[],
    disabled: Row[],
  ): Promise<number> {
    const noticed: { notice: AttemptNotice; attempt: Attempt }[] = [];
    const notified: string[] = [];
    for (const fact of acked) {
      if (fact.result.attempt.appId === operatorAppId) continue;
      const notice = events.noticeFor(fact);
      if (!notice) continue;
      noticed.push({ notice, attempt: fact.result.attempt });
      if (notice !== 'recovered') notified.push(fact.result.deliveryId);
    }
    if (noticed.length === 0 && disabled.length === 0) return 0;
    if (notified.length > 0) await client.query('UPDATE delivery SET failure_notified = TRUE WHERE id = ANY($1)', [notified]);
    const messageInfo = new Map<string, Row>();
    if (noticed.length > 0) {
      const rows = (
        await client.query('SELECT m.id, m.event_id, a.uid FROM message m JOIN app a ON a.id = m.app_id WHERE m.id = ANY($1)', [[...new Set(noticed.map((n) => n.attempt.messageId))]])
      ).rows;
      for (const row of rows) messageInfo.set(row.id as string, row);
    }
    const appUids = await this.appUids(client, disabled.map((row) => row.app_id as string));
    const notices: AttemptNoticeFact[] = noticed.map(({ notice, attempt }) => {
      const info = messageInfo.get(attempt.messageId);
      return { notice, attempt, appUid: (info?.uid as string | null) ?? null, msgEventId: (info?.event_id as string | null) ?? null };
    });
    const endpoints: DisabledEndpointFact[] = disabled.map((row) => ({
      appId: row.app_id as string,
      appUid: appUids.get(row.app_id as string) ?? null,
      endpointId: row.id as string,
      endpointUid: (row.uid as string | null) ?? null,
      failSince: (row.first_failure_at as number | null) ?? null,
      reason: row.disabled_reason as string,
      at: row.last_at as number,
    }));
    // An operator application deleted meanwhile (it is recreated at the next start) must not fail the ack.
    const candidates = events.messagesFor(notices, endpoints);
    const apps = await this.appUids(client, candidates.map((m) => m.appId));
    const messages = candidates.filter((m) => apps.has(m.appId));
    if (messages.length > 0) await this.insertMessagesIn(client, messages);
    return messages.length;
  }

  /** The uid (or null) of each existing app among `appIds`. */
  private async appUids(client: pg.PoolClient, appIds: string[]): Promise<Map<string, string | null>> {
    if (appIds.length === 0) return new Map();
    const rows = (await client.query('SELECT id, uid FROM app WHERE id = ANY($1)', [[...new Set(appIds)]])).rows;
    return new Map(rows.map((row) => [row.id as string, (row.uid as string | null) ?? null]));
  }

  async extendLeases(owner: string, deliveryIds: string[], leaseExpiresAt: number): Promise<number> {
    if (deliveryIds.length === 0) return 0;
    const result = await this.pool.query(
      "UPDATE delivery SET lease_expires_at = $1, next_attempt_at = $1 WHERE lease_owner = $2 AND status = 'pending' AND id = ANY($3)",
      [leaseExpiresAt, owner, deliveryIds],
    );
    return result.rowCount ?? 0;
  }

  async releaseDeliveries(owner: string, nowMs: number): Promise<number> {
    const result = await this.pool.query(
      "UPDATE delivery SET lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = $1, updated_at = $1 WHERE lease_owner = $2 AND status = 'pending'",
      [nowMs, owner],
    );
    if ((result.rowCount ?? 0) > 0) await this.pool.query('SELECT pg_notify($1, $2)', [DELIVERIES_CHANNEL, '']);
    return result.rowCount ?? 0;
  }

  async nextDueAt(): Promise<number | null> {
    const row = (await this.pool.query("SELECT MIN(next_attempt_at) AS due FROM delivery WHERE status = 'pending'")).rows[0];
    return (row?.due as number | null) ?? null;
  }

  async resendDelivery(message: Message, endpoint: Endpoint, nowMs: number): Promise<void> {
    await this.transaction(async (client) => {
      await client.query(
        `INSERT INTO delivery (id, message_id, endpoint_id, app_id, status, attempts, next_attempt_at, next_trigger, updated_at)
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, 1, $5)
         ON CONFLICT (message_id, endpoint_id) DO UPDATE SET
           status = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at, next_trigger = 1, rate_reserved = 0,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = excluded.updated_at`,
        [newId('dlv', nowMs), message.id, endpoint.id, message.appId, nowMs],
      );
      await client.query('SELECT pg_notify($1, $2)', [DELIVERIES_CHANNEL, '']);
    });
  }

  async recoverFailed(endpointId: string, sinceMs: number, untilMs: number, nowMs: number): Promise<number> {
    return this.transaction(async (client) => {
      const result = await client.query(
        `UPDATE delivery SET status = 'pending', attempts = 0, rate_reserved = 0, next_attempt_at = $1, next_trigger = 1, last_error = NULL, updated_at = $1
         WHERE endpoint_id = $2 AND status = 'failed' AND message_id IN (SELECT id FROM message WHERE created_at >= $3 AND created_at < $4)`,
        [nowMs, endpointId, sinceMs, untilMs],
      );
      if ((result.rowCount ?? 0) > 0) await client.query('SELECT pg_notify($1, $2)', [DELIVERIES_CHANNEL, '']);
      return result.rowCount ?? 0;
    });
  }

  async listMessageDeliveries(messageId: string): Promise<Delivery[]> {
    return (await this.pool.query('SELECT * FROM delivery WHERE message_id = $1 ORDER BY id', [messageId])).rows.map(deliveryFromRow);
  }

  // ---- Attempts

  async listAttempts(filter: AttemptFilter, page: PageRequest): Promise<Page<Attempt>> {
    const params: unknown[] = [filter.appId];
    const clauses = ['app_id = $1'];
    const add = (clause: (p: string) => string, value: unknown): void => {
      params.push(value);
      clauses.push(clause($(params.length)));
    };
    if (filter.messageId) add((p) => `message_id = ${p}`, filter.messageId);
    if (filter.endpointId) add((p) => `endpoint_id = ${p}`, filter.endpointId);
    if (filter.status) add((p) => `status = ${p}`, filter.status);
    if (filter.statusCodeClass !== undefined) {
      if (filter.statusCodeClass === 0) clauses.push('response_status_code = 0');
      else add((p) => `response_status_code / 100 = ${p}`, filter.statusCodeClass);
    }
    if (filter.channel) add((p) => `message_id IN (SELECT id FROM message WHERE app_id = $1 AND channels @> ${p}::jsonb)`, JSON.stringify([filter.channel]));
    if (filter.tag) add((p) => `message_id IN (SELECT id FROM message WHERE app_id = $1 AND tags @> ${p}::jsonb)`, JSON.stringify([filter.tag]));
    if (filter.eventTypes && filter.eventTypes.length > 0) {
      add((p) => `message_id IN (SELECT id FROM message WHERE app_id = $1 AND event_type = ANY(${p}))`, filter.eventTypes);
    }
    timeRange(clauses, params, filter, $);
    return this.paged(`SELECT * FROM attempt WHERE ${clauses.join(' AND ')}`, params, 'id', pageQuery(page, 'descending'), attemptFromRow, (a) => a.id);
  }

  async getAttempt(messageId: string, attemptId: string): Promise<Attempt | null> {
    return this.one('SELECT * FROM attempt WHERE message_id = $1 AND id = $2', [messageId, attemptId], attemptFromRow);
  }

  // ---- Delivery status views

  async listDeliveries(appId: string, filter: DeliveryFilter, page: PageRequest, nowMs: number): Promise<Page<DeliveryListItem>> {
    const params: unknown[] = [nowMs, appId];
    const clauses = ['d.app_id = $2'];
    const add = (clause: (p: string) => string, value: unknown): void => {
      params.push(value);
      clauses.push(clause($(params.length)));
    };
    if (filter.status) clauses.push(statusTextCondition('d', filter.status, '$1'));
    if (filter.endpointId) add((p) => `d.endpoint_id = ${p}`, filter.endpointId);
    if (filter.eventTypes && filter.eventTypes.length > 0) add((p) => `m.event_type = ANY(${p})`, filter.eventTypes);
    if (filter.beforeMs !== undefined) add((p) => `m.created_at < ${p}`, filter.beforeMs);
    if (filter.afterMs !== undefined) add((p) => `m.created_at > ${p}`, filter.afterMs);
    return this.paged(`${deliveryListSelect('$1')} WHERE ${clauses.join(' AND ')}`, params, 'd.id', pageQuery(page, 'descending'), deliveryListItemFromRow, (item) => item.delivery.id);
  }

  async countMessageDeliveries(messageIds: string[], nowMs: number): Promise<Map<string, DeliveryCounts>> {
    if (messageIds.length === 0) return new Map();
    const rows = (
      await this.pool.query(`SELECT d.message_id, ${statusTextSql('d', '$1')} AS s, count(*) AS n FROM delivery d WHERE d.message_id = ANY($2) GROUP BY 1, 2`, [nowMs, messageIds])
    ).rows;
    return countsByMessage(rows);
  }

  async endpointStats(endpointId: string, range: { sinceMs?: number | undefined; untilMs?: number | undefined }, nowMs: number): Promise<DeliveryCounts> {
    const params: unknown[] = [nowMs, endpointId];
    const clauses = ['d.endpoint_id = $2'];
    if (range.sinceMs !== undefined) {
      params.push(range.sinceMs);
      clauses.push(`m.created_at >= ${$(params.length)}`);
    }
    if (range.untilMs !== undefined) {
      params.push(range.untilMs);
      clauses.push(`m.created_at < ${$(params.length)}`);
    }
    const rows = (
      await this.pool.query(
        `SELECT ${statusTextSql('d', '$1')} AS s, count(*) AS n FROM delivery d JOIN message m ON m.id = d.message_id WHERE ${clauses.join(' AND ')} GROUP BY 1`,
        params,
      )
    ).rows;
    return countsFromRows(rows);
  }

  async attemptSeries(appId: string, query: AttemptSeriesQuery): Promise<AttemptBucket[]> {
    const params: unknown[] = [query.sinceMs, query.bucketMs, appId, query.untilMs];
    let sql = 'SELECT (created_at - $1::bigint) / $2::bigint AS bucket, status, count(*) AS n FROM attempt WHERE app_id = $3 AND created_at >= $1 AND created_at < $4';
    if (query.endpointId) {
      params.push(query.endpointId);
      sql += ' AND endpoint_id = $5';
    }
    return bucketsFromRows((await this.pool.query(`${sql} GROUP BY 1, 2`, params)).rows, query.sinceMs, query.bucketMs);
  }

  // ---- Idempotency

  async beginIdempotent(scope: string, key: string, requestHash: string, nowMs: number, staleMs: number, ttlMs: number): Promise<IdempotencyState> {
    return this.transaction(async (client): Promise<IdempotencyState> => {
      const created = await client.query('INSERT INTO idempotency (scope, key, request_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [scope, key, requestHash, nowMs]);
      if ((created.rowCount ?? 0) > 0) return { state: 'new' };
      const row = (await client.query('SELECT * FROM idempotency WHERE scope = $1 AND key = $2 FOR UPDATE', [scope, key])).rows[0] as Row;
      if ((row.created_at as number) <= nowMs - ttlMs) {
        await client.query('UPDATE idempotency SET request_hash = $1, response_status = NULL, response_body = NULL, created_at = $2 WHERE scope = $3 AND key = $4', [requestHash, nowMs, scope, key]);
        return { state: 'new' };
      }
      if (row.request_hash !== requestHash) return { state: 'mismatch' };
      if (row.response_status !== null) return { state: 'done', response: { status: row.response_status as number, body: row.response_body as string } };
      if ((row.created_at as number) > nowMs - staleMs) return { state: 'in_progress' };
      await client.query('UPDATE idempotency SET created_at = $1 WHERE scope = $2 AND key = $3', [nowMs, scope, key]);
      return { state: 'new' };
    });
  }

  async finishIdempotent(scope: string, key: string, response: StoredResponse | null): Promise<void> {
    if (response === null) await this.pool.query('DELETE FROM idempotency WHERE scope = $1 AND key = $2', [scope, key]);
    else await this.pool.query('UPDATE idempotency SET response_status = $1, response_body = $2 WHERE scope = $3 AND key = $4', [response.status, response.body, scope, key]);
  }

  // ---- Inbound sources

  async createSource(source: Source): Promise<void> {
    const row = sourceToRow(source);
    const columns = Object.keys(row);
    await this.pool.query(`INSERT INTO source (${columns.join(', ')}) VALUES (${columns.map((_, i) => $(i + 1)).join(', ')})`, Object.values(row));
  }

  async getSource(appId: string, id: string): Promise<Source | null> {
    return this.one('SELECT * FROM source WHERE id = $1 AND app_id = $2', [id, appId], sourceFromRow);
  }

  async findSource(id: string): Promise<Source | null> {
    return this.one('SELECT * FROM source WHERE id = $1', [id], sourceFromRow);
  }

  async listSources(appId: string, page: PageRequest): Promise<Page<Source>> {
    return this.paged('SELECT * FROM source WHERE app_id = $1', [appId], 'id', pageQuery(page, 'ascending'), sourceFromRow, (s) => s.id);
  }

  async updateSource(source: Source): Promise<void> {
    const row = sourceToRow(source);
    const columns = Object.keys(row).filter((c) => c !== 'id' && c !== 'app_id' && c !== 'created_at');
    await this.pool.query(`UPDATE source SET ${columns.map((c, i) => `${c} = ${$(i + 3)}`).join(', ')} WHERE id = $1 AND app_id = $2`, [
      source.id,
      source.appId,
      ...columns.map((c) => row[c]),
    ]);
  }

  async deleteSource(appId: string, id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM source WHERE id = $1 AND app_id = $2', [id, appId])).rowCount ?? 0) > 0;
  }

  // ---- Retention. Several workers may purge at once: each locks its batch of messages with SKIP LOCKED,
  // so batches are disjoint and nobody waits.

  async purgeMessages(beforeMs: number, limit: number): Promise<PurgeResult> {
    return this.transaction(async (client): Promise<PurgeResult> => {
      const candidates = (
        await client.query(
          `SELECT id FROM message m WHERE m.id < $1 AND m.created_at < $2
             AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.message_id = m.id AND d.status = 'pending')
           ORDER BY m.id LIMIT $3 FOR UPDATE SKIP LOCKED`,
          [idLowerBound('msg', beforeMs), beforeMs, limit],
        )
      ).rows.map((r) => r.id as string);
      if (candidates.length === 0) return { messages: 0, deliveries: 0, attempts: 0 };
      // Locked messages get no new delivery (its foreign key check waits for us); locking their deliveries too
      // means none turns pending (resend) between the check below and the delete: a pending delivery is never lost.
      const deliveries = (await client.query('SELECT message_id, status FROM delivery WHERE message_id = ANY($1) ORDER BY id FOR UPDATE', [candidates])).rows;
      const pending = new Set(deliveries.filter((d) => d.status === 'pending').map((d) => d.message_id as string));
      const ids = candidates.filter((id) => !pending.has(id));
      const attempts = (await client.query('DELETE FROM attempt WHERE message_id = ANY($1)', [ids])).rowCount ?? 0;
      const deleted = (await client.query('DELETE FROM delivery WHERE message_id = ANY($1)', [ids])).rowCount ?? 0;
      const messages = (await client.query('DELETE FROM message WHERE id = ANY($1)', [ids])).rowCount ?? 0;
      return { messages, deliveries: deleted, attempts };
    });
  }

  async purgeIdempotencyKeys(beforeMs: number, limit: number): Promise<number> {
    const result = await this.pool.query(
      `DELETE FROM idempotency i USING (SELECT scope, key FROM idempotency WHERE created_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) x
       WHERE i.scope = x.scope AND i.key = x.key`,
      [beforeMs, limit],
    );
    return result.rowCount ?? 0;
  }

  // ---- Observability: metrics gauges and endpoint latency stats.

  async queueStats(nowMs: number): Promise<QueueStats> {
    // One pass over the partial index delivery_due: the earliest pending delivery is due exactly when anything is.
    const row = (
      await this.pool.query(
        "SELECT count(*) AS pending, count(*) FILTER (WHERE next_attempt_at <= $1) AS due, min(next_attempt_at) AS earliest FROM delivery WHERE status = 'pending'",
        [nowMs],
      )
    ).rows[0] as Row;
    const earliest = row.earliest as number | null;
    return { pending: row.pending as number, due: row.due as number, oldestDueAt: earliest !== null && earliest <= nowMs ? earliest : null };
  }

  async endpointLatency(appId: string, endpointId: string, range: { sinceMs: number; untilMs: number }): Promise<EndpointLatency> {
    const row = (
      await this.pool.query(
        `SELECT count(*) AS n, count(*) FILTER (WHERE status = 'success') AS ok, max(response_duration_ms) AS max,
           percentile_disc(ARRAY[0.5, 0.9, 0.99]::float8[]) WITHIN GROUP (ORDER BY response_duration_ms) AS p
         FROM attempt WHERE app_id = $1 AND created_at >= $2 AND created_at < $3 AND endpoint_id = $4`,
        [appId, range.sinceMs, range.untilMs, endpointId],
      )
    ).rows[0] as Row;
    const attempts = row.n as number;
    const succeeded = row.ok as number;
    if (attempts === 0) return { attempts: 0, succeeded: 0, failed: 0, p50Ms: null, p90Ms: null, p99Ms: null, maxMs: null };
    const [p50Ms, p90Ms, p99Ms] = row.p as number[];
    return { attempts, succeeded, failed: attempts - succeeded, p50Ms: p50Ms!, p90Ms: p90Ms!, p99Ms: p99Ms!, maxMs: row.max as number };
  }

  // ---- helpers

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async one<T>(sql: string, params: unknown[], map: (row: Row) => T): Promise<T | null> {
    const row = (await this.pool.query(sql, params)).rows[0] as Row | undefined;
    return row ? map(row) : null;
  }

  private async paged<T>(select: string, params: unknown[], key: string, query: PageQuery, map: (row: Row) => T, keyOf: (record: T) => string): Promise<Page<T>> {
    const built = pagedSql(select, params, key, query, $);
    return toPage((await this.pool.query(built.sql, built.params)).rows.map(map), query, keyOf);
  }

  private async uniqueOrConflict(detail: string, write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw conflict(detail);
      throw error;
    }
  }
}
