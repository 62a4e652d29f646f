import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { conflict } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import { endpointMatches } from '../../domain/matching.js';
import { admit, type EndpointLimits } from '../../domain/throttle.js';
import type { ApiKey, App, Attempt, Delivery, Endpoint, EventType, Message, Page } from '../../domain/types.js';
import { endpointStreaks } from '../endpoint-streaks.js';
import { idLowerBound } from '../retention.js';
import { pageQuery, pagedSql, timeRange, toPage, type PageQuery } from '../paging.js';
import {
  bucketsFromRows,
  countsByMessage,
  countsFromRows,
  deliveryListItemFromRow,
  deliveryListSelect,
  messageStatusCondition,
  statusNeedsNow,
  statusTextCondition,
  statusTextSql,
} from '../delivery-status.js';
import type {
  AckedResult,
  AckOutcome,
  AckPolicy,
  AttemptBucket,
  AttemptFilter,
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
import { BACKSTOP_PAGES, Checkpointer } from './checkpointer.js';
import { sqliteMigrations } from './migrations.js';
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

type Row = Record<string, unknown>;

export interface SqliteStoreOptions {
  /** Path of the database file; ":memory:" is refused (durability is the point). */
  path: string;
}

/**
 * The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a committed transaction survives
 * power loss. better-sqlite3 is synchronous; callers batch writes (group commit) to amortise the fsync, and WAL
 * checkpoints run on a background thread (checkpointer.ts) so they do not stall the event loop.
 */
export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly checkpointer: Checkpointer;

  constructor(options: SqliteStoreOptions) {
    mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    this.checkpointer = new Checkpointer(options.path, () => {
      // Without the thread, SQLite checkpoints on commit again, as it does by default.
      if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
    });
  }

  async migrate(): Promise<number[]> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const done = new Set(this.db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
    const applied: number[] = [];
    for (const migration of sqliteMigrations) {
      if (done.has(migration.version)) continue;
      this.db.transaction(() => {
        this.db.exec(migration.sql);
        this.db
          .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(migration.version, migration.name, Date.now());
      }).immediate();
      applied.push(migration.version);
    }
    return applied;
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.checkpointer.close();
    if (this.db.open) this.db.close();
  }

  // ---- API keys

  async createApiKey(key: ApiKey, sha256Hash: string): Promise<void> {
    this.db
      .prepare('INSERT INTO api_key (id, app_id, name, prefix, sha256_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(key.id, key.appId, key.name, key.prefix, sha256Hash, key.createdAt, key.revokedAt);
  }

  async findApiKeyByHash(sha256Hash: string): Promise<ApiKey | null> {
    const row = this.stmt('SELECT * FROM api_key WHERE sha256_hash = ? AND revoked_at IS NULL').get(sha256Hash) as Row | undefined;
    return row ? apiKeyFromRow(row) : null;
  }

  async listApiKeys(): Promise<ApiKey[]> {
    return (this.db.prepare('SELECT * FROM api_key ORDER BY id').all() as Row[]).map(apiKeyFromRow);
  }

  async revokeApiKey(id: string, nowMs: number): Promise<boolean> {
    return this.db.prepare('UPDATE api_key SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(nowMs, id).changes > 0;
  }

  // ---- Applications

  async createApp(app: App): Promise<void> {
    this.uniqueOrConflict(`an application with uid "${app.uid}" already exists`, () =>
      this.db
        .prepare('INSERT INTO app (id, uid, name, metadata, rate_limit, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(app.id, app.uid, app.name, toJson(app.metadata), app.rateLimit, app.createdAt, app.updatedAt),
    );
  }

  async getApp(idOrUid: string): Promise<App | null> {
    const row = this.stmt('SELECT * FROM app WHERE id = ? OR uid = ? ORDER BY id = ? DESC LIMIT 1').get(idOrUid, idOrUid, idOrUid) as Row | undefined;
    return row ? appFromRow(row) : null;
  }

  async listApps(page: PageRequest): Promise<Page<App>> {
    return this.paged('SELECT * FROM app', [], 'id', pageQuery(page, 'ascending'), appFromRow, (a) => a.id);
  }

  async updateApp(app: App): Promise<void> {
    this.uniqueOrConflict(`an application with uid "${app.uid}" already exists`, () =>
      this.db
        .prepare('UPDATE app SET uid = ?, name = ?, metadata = ?, rate_limit = ?, updated_at = ? WHERE id = ?')
        .run(app.uid, app.name, toJson(app.metadata), app.rateLimit, app.updatedAt, app.id),
    );
  }

  async deleteApp(id: string): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM attempt WHERE app_id = ?').run(id);
      this.db.prepare('DELETE FROM app WHERE id = ?').run(id);
    }).immediate();
  }

  // ---- Endpoints

  async createEndpoint(endpoint: Endpoint): Promise<void> {
    const row = endpointToRow(endpoint);
    const columns = Object.keys(row);
    this.uniqueOrConflict(`an endpoint with uid "${endpoint.uid}" already exists`, () =>
      this.db
        .prepare(`INSERT INTO endpoint (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`)
        .run(row),
    );
  }

  async getEndpoint(appId: string, idOrUid: string): Promise<Endpoint | null> {
    const row = this.stmt(
      'SELECT * FROM endpoint WHERE app_id = ? AND (id = ? OR uid = ?) AND deleted_at IS NULL ORDER BY id = ? DESC LIMIT 1',
    ).get(appId, idOrUid, idOrUid, idOrUid) as Row | undefined;
    return row ? endpointFromRow(row) : null;
  }

  async listEndpoints(appId: string, page: PageRequest): Promise<Page<Endpoint>> {
    return this.paged(
      'SELECT * FROM endpoint WHERE app_id = ? AND deleted_at IS NULL',
      [appId],
      'id',
      pageQuery(page, 'ascending'),
      endpointFromRow,
      (e) => e.id,
    );
  }

  async updateEndpoint(endpoint: Endpoint): Promise<void> {
    const row = endpointToRow(endpoint);
    const columns = Object.keys(row).filter((c) => c !== 'id' && c !== 'app_id' && c !== 'created_at');
    this.uniqueOrConflict(`an endpoint with uid "${endpoint.uid}" already exists`, () =>
      this.db.prepare(`UPDATE endpoint SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`).run(row),
    );
  }

  async deleteEndpoint(appId: string, id: string, nowMs: number): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('UPDATE endpoint SET deleted_at = ?, uid = NULL, updated_at = ? WHERE id = ? AND app_id = ?').run(nowMs, nowMs, id, appId);
      this.db
        .prepare("UPDATE delivery SET status = 'failed', last_error = 'endpoint deleted', lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE endpoint_id = ? AND status = 'pending'")
        .run(nowMs, id);
    }).immediate();
  }

  // ---- Event types

  async createEventType(eventType: EventType): Promise<void> {
    const row = eventTypeToRow(eventType);
    const columns = Object.keys(row);
    this.uniqueOrConflict(`event type "${eventType.name}" already exists`, () =>
      this.db.prepare(`INSERT INTO event_type (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`).run(row),
    );
  }

  async getEventType(name: string): Promise<EventType | null> {
    const row = this.stmt('SELECT * FROM event_type WHERE name = ?').get(name) as Row | undefined;
    return row ? eventTypeFromRow(row) : null;
  }

  async listEventTypes(page: PageRequest & { includeArchived: boolean }): Promise<Page<EventType>> {
    const where = page.includeArchived ? 'SELECT * FROM event_type' : 'SELECT * FROM event_type WHERE archived = 0';
    return this.paged(where, [], 'name', pageQuery(page, 'ascending'), eventTypeFromRow, (e) => e.name);
  }

  async updateEventType(eventType: EventType): Promise<void> {
    const row = eventTypeToRow(eventType);
    const columns = Object.keys(row).filter((c) => c !== 'name' && c !== 'created_at');
    this.db.prepare(`UPDATE event_type SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE name = @name`).run(row);
  }

  async deleteEventType(name: string, expunge: boolean, nowMs: number): Promise<boolean> {
    const result = expunge
      ? this.db.prepare('DELETE FROM event_type WHERE name = ?').run(name)
      : this.db.prepare('UPDATE event_type SET archived = 1, updated_at = ? WHERE name = ?').run(nowMs, name);
    return result.changes > 0;
  }

  // ---- Messages (ingest + fan-out)

  async insertMessages(messages: Message[]): Promise<InsertMessageResult[]> {
    return this.db.transaction(() => this.insertMessagesNow(messages)).immediate();
  }

  /** insertMessages inside the caller's transaction (ingest; operational events in an ack). */
  private insertMessagesNow(messages: Message[]): InsertMessageResult[] {
    const insertMessage = this.stmt(
      'INSERT INTO message (id, app_id, event_id, event_type, payload, channels, tags, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    const insertDelivery = this.stmt(
      "INSERT INTO delivery (id, message_id, endpoint_id, app_id, status, attempts, next_attempt_at, next_trigger, updated_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, 0, ?)",
    );
    const findByEventId = this.stmt('SELECT * FROM message WHERE app_id = ? AND event_id = ?');
    const liveEndpoints = this.stmt('SELECT id, disabled, filter_types, channels FROM endpoint WHERE app_id = ? AND deleted_at IS NULL');
    const endpointsByApp = new Map<string, Row[]>();
    return messages.map((m): InsertMessageResult => {
      const inserted = insertMessage.run(m.id, m.appId, m.eventId, m.eventType, m.payload, toJson(m.channels), toJson(m.tags), m.createdAt);
      if (inserted.changes === 0) {
        return { kind: 'duplicate', existing: messageFromRow(findByEventId.get(m.appId, m.eventId) as Row) };
      }
      let endpoints = endpointsByApp.get(m.appId);
      if (!endpoints) {
        endpoints = liveEndpoints.all(m.appId) as Row[];
        endpointsByApp.set(m.appId, endpoints);
      }
      let deliveries = 0;
      for (const e of endpoints) {
        const matchable = {
          disabled: e.disabled === 1,
          filterTypes: e.filter_types ? (JSON.parse(e.filter_types as string) as string[]) : null,
          channels: e.channels ? (JSON.parse(e.channels as string) as string[]) : null,
        };
        if (!endpointMatches(matchable, m.eventType, m.channels)) continue;
        insertDelivery.run(newId('dlv', m.createdAt), m.id, e.id, m.appId, m.createdAt, m.createdAt);
        deliveries++;
      }
      return { kind: 'inserted', deliveries };
    });
  }

  async getMessage(appId: string, idOrEventId: string): Promise<Message | null> {
    const row = this.stmt('SELECT * FROM message WHERE app_id = ? AND (id = ? OR event_id = ?) ORDER BY id = ? DESC LIMIT 1').get(
      appId,
      idOrEventId,
      idOrEventId,
      idOrEventId,
    ) as Row | undefined;
    return row ? messageFromRow(row) : null;
  }

  async listMessages(appId: string, filter: MessageFilter, page: PageRequest): Promise<Page<Message>> {
    const clauses = ['app_id = ?'];
    const params: unknown[] = [appId];
    if (filter.channel) {
      clauses.push('EXISTS (SELECT 1 FROM json_each(message.channels) WHERE value = ?)');
      params.push(filter.channel);
    }
    if (filter.tag) {
      clauses.push('EXISTS (SELECT 1 FROM json_each(message.tags) WHERE value = ?)');
      params.push(filter.tag);
    }
    if (filter.eventTypes && filter.eventTypes.length > 0) {
      clauses.push('event_type IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(filter.eventTypes));
    }
    if (filter.deliveryStatus) clauses.push(messageStatusCondition(filter.deliveryStatus));
    timeRange(clauses, params, filter, () => '?');
    return this.paged(
      `SELECT * FROM message WHERE ${clauses.join(' AND ')}`,
      params,
      'id',
      pageQuery(page, 'descending'),
      messageFromRow,
      (m) => m.id,
    );
  }

  // ---- Queue

  async claimDeliveries(owner: string, limit: number, leaseMs: number, nowMs: number, defaultMaxConcurrency = 0): Promise<ClaimedDelivery[]> {
    const leaseExpiresAt = nowMs + leaseMs;
    const candidates = this.stmt(
      "SELECT id, endpoint_id, rate_reserved, next_attempt_at FROM delivery WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
    );
    const limitedEndpoints = this.stmt(`
      SELECT id, rate_limit, max_concurrency, throttle_next_at FROM endpoint
      WHERE id IN (SELECT value FROM json_each(?)) AND (rate_limit > 0 OR max_concurrency > 0 OR ? > 0)`);
    const inFlight = this.stmt(`
      SELECT endpoint_id, count(*) AS n FROM delivery
      WHERE endpoint_id IN (SELECT value FROM json_each(?)) AND lease_owner IS NOT NULL AND status = 'pending' AND next_attempt_at > ?
      GROUP BY endpoint_id`);
    const lease = this.stmt(`
      UPDATE delivery SET lease_owner = ?, lease_expires_at = ?, next_attempt_at = ?, rate_reserved = 0, updated_at = ?
      WHERE id IN (SELECT value FROM json_each(?)) RETURNING *`);
    const defer = this.stmt('UPDATE delivery SET next_attempt_at = ?, rate_reserved = ? WHERE id = ?');
    const advanceSlot = this.stmt('UPDATE endpoint SET throttle_next_at = ? WHERE id = ?');
    const details = this.stmt(`
      SELECT d.id AS delivery_id, m.app_id, m.event_type, m.payload,
             e.url, e.secrets, e.headers, e.disabled, e.deleted_at
      FROM delivery d JOIN message m ON m.id = d.message_id JOIN endpoint e ON e.id = d.endpoint_id
      WHERE d.id IN (SELECT value FROM json_each(?))`);
    const failUnsendable = this.stmt(
      "UPDATE delivery SET status = 'failed', last_error = ?, lease_owner = NULL, lease_expires_at = NULL WHERE id = ?",
    );
    return this.db.transaction(() => {
      const due = (candidates.all(nowMs, limit) as Row[]).map((r) => ({
        deliveryId: r.id as string,
        endpointId: r.endpoint_id as string,
        reserved: r.rate_reserved === 1,
        dueAt: r.next_attempt_at as number,
      }));
      if (due.length === 0) return [];
      const endpointIds = JSON.stringify([...new Set(due.map((c) => c.endpointId))]);
      const limits = new Map<string, EndpointLimits>();
      for (const e of limitedEndpoints.all(endpointIds, defaultMaxConcurrency) as Row[]) {
        limits.set(e.id as string, endpointLimitsFromRow(e));
      }
      if (limits.size > 0) {
        for (const r of inFlight.all(JSON.stringify([...limits.keys()]), nowMs) as Row[]) limits.get(r.endpoint_id as string)!.inFlight = r.n as number;
      }
      const admission = admit(due, limits, nowMs, defaultMaxConcurrency);
      for (const d of admission.deferred) defer.run(d.until, d.reserved ? 1 : 0, d.deliveryId);
      for (const [endpointId, next] of admission.nextSlots) advanceSlot.run(Math.ceil(next), endpointId);
      if (admission.accepted.length === 0) return [];
      const order = new Map(admission.accepted.map((id, i) => [id, i]));
      const deliveries = (lease.all(owner, leaseExpiresAt, leaseExpiresAt, nowMs, JSON.stringify(admission.accepted)) as Row[])
        .map(deliveryFromRow)
        .sort((a, b) => order.get(a.id)! - order.get(b.id)!);
      const byId = new Map<string, Row>();
      for (const row of details.all(JSON.stringify(admission.accepted)) as Row[]) byId.set(row.delivery_id as string, row);
      const claimed: ClaimedDelivery[] = [];
      for (const delivery of deliveries) {
        const row = byId.get(delivery.id)!;
        const reason = unsendableReason(row);
        if (reason) failUnsendable.run(reason, delivery.id);
        else claimed.push(claimedFromRow(delivery, row));
      }
      return claimed;
    }).immediate();
  }

  async completeDeliveries(results: DeliveryResult[], policy?: AckPolicy): Promise<AckOutcome> {
    const outcome: AckOutcome = { operationalEvents: 0, disabledEndpoints: [] };
    if (results.length === 0) return outcome;
    const attemptColumns = Object.keys(attemptToRow(results[0]!.attempt));
    const insertAttempt = this.stmt(
      `INSERT INTO attempt (${attemptColumns.join(', ')}) VALUES (${attemptColumns.map((c) => `@${c}`).join(', ')})`,
    );
    // RETURNING tells whether the ack applied (the lease still held) and the delivery's state for operational events.
    const updateDelivery = this.stmt(`
      UPDATE delivery SET status = ?, attempts = attempts + 1, next_attempt_at = ?, next_trigger = 0,
        lease_owner = NULL, lease_expires_at = NULL, last_error = ?, updated_at = ?
      WHERE id = ? AND lease_owner = ? RETURNING attempts, failure_notified`);
    const setFailureNotified = this.stmt('UPDATE delivery SET failure_notified = ? WHERE id = ?');
    const endpointSucceeded = this.stmt('UPDATE endpoint SET first_failure_at = NULL WHERE id = ? AND first_failure_at IS NOT NULL');
    const endpointFailed = this.stmt('UPDATE endpoint SET first_failure_at = ? WHERE id = ? AND first_failure_at IS NULL');
    // Automatic disabling: only an endpoint that is still enabled, so each is disabled (and reported) once.
    const disabledColumns = 'RETURNING id, app_id, uid, first_failure_at, disabled_reason';
    const disableGone = this.stmt(
      `UPDATE endpoint SET disabled = 1, disabled_reason = ?, updated_at = ? WHERE id = ? AND disabled = 0 AND deleted_at IS NULL ${disabledColumns}`,
    );
    const disableFailing = this.stmt(`
      UPDATE endpoint SET disabled = 1, updated_at = ?,
        disabled_reason = 'failing continuously since ' || strftime('%Y-%m-%dT%H:%M:%SZ', first_failure_at / 1000, 'unixepoch')
      WHERE id = ? AND disabled = 0 AND deleted_at IS NULL AND first_failure_at <= ? ${disabledColumns}`);
    const disableAfterMs = policy?.endpointDisableAfterMs ?? 0;
    const operatorAppId = policy?.operatorAppId ?? null;
    this.db.transaction(() => {
      const acked: AckedResult[] = [];
      const disabled: { row: Row; at: number }[] = [];
      for (const result of results) {
        const a = result.attempt;
        // The attempt happened, so it is always recorded, even when the lease was lost meanwhile.
        insertAttempt.run(attemptToRow(a));
        const nextAt = result.next.status === 'pending' ? result.next.nextAttemptAt : a.createdAt;
        const applied = updateDelivery.get(result.next.status, nextAt, a.error, a.createdAt, result.deliveryId, result.leaseOwner) as Row | undefined;
        if (applied) {
          const failureNotified = applied.failure_notified === 1;
          if (a.status === 'success' && failureNotified) setFailureNotified.run(0, result.deliveryId);
          acked.push({ result, attempts: applied.attempts as number, failureNotified });
        }
        if (a.status === 'success') endpointSucceeded.run(a.endpointId);
        else endpointFailed.run(a.createdAt, a.endpointId);
      }
      // Automatic disabling, per endpoint once the streaks are up to date (the operator application's are exempt).
      for (const streak of endpointStreaks(results, operatorAppId)) {
        if (!streak.mayDisable) continue;
        let row: Row | undefined;
        if (streak.gone) row = disableGone.get(streak.gone, streak.lastAt, streak.endpointId) as Row | undefined;
        else if (disableAfterMs > 0 && !streak.lastOk && streak.lastFail !== null) {
          row = disableFailing.get(streak.lastAt, streak.endpointId, streak.lastFail - disableAfterMs) as Row | undefined;
        }
        if (row) {
          disabled.push({ row, at: streak.lastAt });
          outcome.disabledEndpoints.push(row.id as string);
        }
      }
      if (policy?.events) outcome.operationalEvents = this.insertOperationalEvents(policy.events, operatorAppId, acked, disabled);
    }).immediate();
    return outcome;
  }

  /**
   * Operational events of one ack, inside its transaction: notices for applied results (marking the
   * delivery as notified) and endpoint.disabled for endpoints this ack disabled, inserted as messages.
   */
  private insertOperationalEvents(events: OperationalEventSource, operatorAppId: string | null, acked: AckedResult[], disabled: { row: Row; at: number }[]): number {
    const messageInfo = this.stmt('SELECT m.event_id, a.uid FROM message m JOIN app a ON a.id = m.app_id WHERE m.id = ?');
    const appUid = this.stmt('SELECT uid FROM app WHERE id = ?');
    const setFailureNotified = this.stmt('UPDATE delivery SET failure_notified = ? WHERE id = ?');
    const notices: AttemptNoticeFact[] = [];
    for (const fact of acked) {
      const { attempt } = fact.result;
      if (attempt.appId === operatorAppId) continue;
      const notice = events.noticeFor(fact);
      if (!notice) continue;
      if (notice !== 'recovered') setFailureNotified.run(1, fact.result.deliveryId);
      const info = messageInfo.get(attempt.messageId) as Row | undefined;
      notices.push({ notice, attempt, appUid: (info?.uid as string | null) ?? null, msgEventId: (info?.event_id as string | null) ?? null });
    }
    const endpoints: DisabledEndpointFact[] = disabled.map(({ row, at }) => ({
      appId: row.app_id as string,
      appUid: ((appUid.get(row.app_id) as Row | undefined)?.uid as string | null) ?? null,
      endpointId: row.id as string,
      endpointUid: (row.uid as string | null) ?? null,
      failSince: (row.first_failure_at as number | null) ?? null,
      reason: row.disabled_reason as string,
      at,
    }));
    if (notices.length === 0 && endpoints.length === 0) return 0;
    // An operator application deleted meanwhile (it is recreated at the next start) must not fail the ack.
    const messages = events.messagesFor(notices, endpoints).filter((m) => appUid.get(m.appId) !== undefined);
    this.insertMessagesNow(messages);
    return messages.length;
  }

  async extendLeases(owner: string, deliveryIds: string[], leaseExpiresAt: number): Promise<number> {
    if (deliveryIds.length === 0) return 0;
    return this.stmt(`
      UPDATE delivery SET lease_expires_at = ?, next_attempt_at = ?
      WHERE lease_owner = ? AND status = 'pending' AND id IN (SELECT value FROM json_each(?))`).run(leaseExpiresAt, leaseExpiresAt, owner, JSON.stringify(deliveryIds)).changes;
  }

  async releaseDeliveries(owner: string, nowMs: number): Promise<number> {
    return this.db
      .prepare("UPDATE delivery SET lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = ?, updated_at = ? WHERE lease_owner = ? AND status = 'pending'")
      .run(nowMs, nowMs, owner).changes;
  }

  async subscribeDeliveriesDue(): Promise<() => void> {
    return () => undefined;
  }

  async nextDueAt(): Promise<number | null> {
    return (this.stmt("SELECT MIN(next_attempt_at) FROM delivery WHERE status = 'pending'").pluck().get() as number | null) ?? null;
  }

  async resendDelivery(message: Message, endpoint: Endpoint, nowMs: number): Promise<void> {
    this.stmt(`
      INSERT INTO delivery (id, message_id, endpoint_id, app_id, status, attempts, next_attempt_at, next_trigger, updated_at)
      VALUES (?, ?, ?, ?, 'pending', 0, ?, 1, ?)
      ON CONFLICT (message_id, endpoint_id) DO UPDATE SET
        status = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at, next_trigger = 1, rate_reserved = 0,
        lease_owner = NULL, lease_expires_at = NULL, updated_at = excluded.updated_at`).run(
      newId('dlv', nowMs),
      message.id,
      endpoint.id,
      message.appId,
      nowMs,
      nowMs,
    );
  }

  async recoverFailed(endpointId: string, sinceMs: number, untilMs: number, nowMs: number): Promise<number> {
    return this.stmt(`
      UPDATE delivery SET status = 'pending', attempts = 0, rate_reserved = 0, next_attempt_at = ?, next_trigger = 1, last_error = NULL, updated_at = ?
      WHERE endpoint_id = ? AND status = 'failed'
        AND message_id IN (SELECT id FROM message WHERE created_at >= ? AND created_at < ?)`).run(nowMs, nowMs, endpointId, sinceMs, untilMs).changes;
  }

  async listMessageDeliveries(messageId: string): Promise<Delivery[]> {
    return (this.stmt('SELECT * FROM delivery WHERE message_id = ? ORDER BY id').all(messageId) as Row[]).map(deliveryFromRow);
  }

  // ---- Attempts

  async listAttempts(filter: AttemptFilter, page: PageRequest): Promise<Page<Attempt>> {
    const clauses = ['app_id = ?'];
    const params: unknown[] = [filter.appId];
    if (filter.messageId) {
      clauses.push('message_id = ?');
      params.push(filter.messageId);
    }
    if (filter.endpointId) {
      clauses.push('endpoint_id = ?');
      params.push(filter.endpointId);
    }
    if (filter.status) {
      clauses.push('status = ?');
      params.push(filter.status);
    }
    if (filter.statusCodeClass !== undefined) {
      clauses.push(filter.statusCodeClass === 0 ? 'response_status_code = 0' : 'response_status_code / 100 = ?');
      if (filter.statusCodeClass !== 0) params.push(filter.statusCodeClass);
    }
    if (filter.channel) {
      clauses.push('message_id IN (SELECT m.id FROM message m, json_each(m.channels) c WHERE m.app_id = attempt.app_id AND c.value = ?)');
      params.push(filter.channel);
    }
    if (filter.tag) {
      clauses.push('message_id IN (SELECT m.id FROM message m, json_each(m.tags) t WHERE m.app_id = attempt.app_id AND t.value = ?)');
      params.push(filter.tag);
    }
    if (filter.eventTypes && filter.eventTypes.length > 0) {
      clauses.push('message_id IN (SELECT m.id FROM message m WHERE m.app_id = attempt.app_id AND m.event_type IN (SELECT value FROM json_each(?)))');
      params.push(JSON.stringify(filter.eventTypes));
    }
    timeRange(clauses, params, filter, () => '?');
    return this.paged(
      `SELECT * FROM attempt WHERE ${clauses.join(' AND ')}`,
      params,
      'id',
      pageQuery(page, 'descending'),
      attemptFromRow,
      (a) => a.id,
    );
  }

  async getAttempt(messageId: string, attemptId: string): Promise<Attempt | null> {
    const row = this.stmt('SELECT * FROM attempt WHERE message_id = ? AND id = ?').get(messageId, attemptId) as Row | undefined;
    return row ? attemptFromRow(row) : null;
  }

  // ---- Delivery status views

  async listDeliveries(appId: string, filter: DeliveryFilter, page: PageRequest, nowMs: number): Promise<Page<DeliveryListItem>> {
    const params: unknown[] = [nowMs, appId];
    const clauses = ['d.app_id = ?'];
    if (filter.status) {
      clauses.push(statusTextCondition('d', filter.status, '?'));
      if (statusNeedsNow(filter.status)) params.push(nowMs);
    }
    if (filter.endpointId) {
      clauses.push('d.endpoint_id = ?');
      params.push(filter.endpointId);
    }
    if (filter.eventTypes && filter.eventTypes.length > 0) {
      clauses.push('m.event_type IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(filter.eventTypes));
    }
    if (filter.beforeMs !== undefined) {
      clauses.push('m.created_at < ?');
      params.push(filter.beforeMs);
    }
    if (filter.afterMs !== undefined) {
      clauses.push('m.created_at > ?');
      params.push(filter.afterMs);
    }
    return this.paged(
      `${deliveryListSelect('?')} WHERE ${clauses.join(' AND ')}`,
      params,
      'd.id',
      pageQuery(page, 'descending'),
      deliveryListItemFromRow,
      (item) => item.delivery.id,
    );
  }

  async countMessageDeliveries(messageIds: string[], nowMs: number): Promise<Map<string, DeliveryCounts>> {
    if (messageIds.length === 0) return new Map();
    const rows = this.stmt(`
      SELECT d.message_id, ${statusTextSql('d', '?')} AS s, count(*) AS n FROM delivery d
      WHERE d.message_id IN (SELECT value FROM json_each(?)) GROUP BY 1, 2`).all(nowMs, JSON.stringify(messageIds)) as Row[];
    return countsByMessage(rows);
  }

  async endpointStats(endpointId: string, range: { sinceMs?: number | undefined; untilMs?: number | undefined }, nowMs: number): Promise<DeliveryCounts> {
    const clauses = ['d.endpoint_id = ?'];
    const params: unknown[] = [nowMs, endpointId];
    if (range.sinceMs !== undefined) {
      clauses.push('m.created_at >= ?');
      params.push(range.sinceMs);
    }
    if (range.untilMs !== undefined) {
      clauses.push('m.created_at < ?');
      params.push(range.untilMs);
    }
    const rows = this.stmt(`
      SELECT ${statusTextSql('d', '?')} AS s, count(*) AS n FROM delivery d JOIN message m ON m.id = d.message_id
      WHERE ${clauses.join(' AND ')} GROUP BY 1`).all(...params) as Row[];
    return countsFromRows(rows);
  }

  async attemptSeries(appId: string, query: AttemptSeriesQuery): Promise<AttemptBucket[]> {
    const params: unknown[] = [query.sinceMs, query.bucketMs, appId, query.sinceMs, query.untilMs];
    let sql = 'SELECT CAST((created_at - ?) / ? AS INTEGER) AS bucket, status, count(*) AS n FROM attempt WHERE app_id = ? AND created_at >= ? AND created_at < ?';
    if (query.endpointId) {
      sql += ' AND endpoint_id = ?';
      params.push(query.endpointId);
    }
    return bucketsFromRows(this.stmt(`${sql} GROUP BY 1, 2`).all(...params) as Row[], query.sinceMs, query.bucketMs);
  }

  // ---- Idempotency

  async beginIdempotent(scope: string, key: string, requestHash: string, nowMs: number, staleMs: number, ttlMs: number): Promise<IdempotencyState> {
    return this.db.transaction((): IdempotencyState => {
      const row = this.stmt('SELECT * FROM idempotency WHERE scope = ? AND key = ?').get(scope, key) as Row | undefined;
      if (row && (row.created_at as number) <= nowMs - ttlMs) {
        this.stmt('UPDATE idempotency SET request_hash = ?, response_status = NULL, response_body = NULL, created_at = ? WHERE scope = ? AND key = ?').run(requestHash, nowMs, scope, key);
        return { state: 'new' };
      }
      if (row) {
        if (row.request_hash !== requestHash) return { state: 'mismatch' };
        if (row.response_status !== null) {
          return { state: 'done', response: { status: row.response_status as number, body: row.response_body as string } };
        }
        if ((row.created_at as number) > nowMs - staleMs) return { state: 'in_progress' };
        this.stmt('UPDATE idempotency SET created_at = ? WHERE scope = ? AND key = ?').run(nowMs, scope, key);
        return { state: 'new' };
      }
      this.stmt('INSERT INTO idempotency (scope, key, request_hash, created_at) VALUES (?, ?, ?, ?)').run(scope, key, requestHash, nowMs);
      return { state: 'new' };
    }).immediate();
  }

  async finishIdempotent(scope: string, key: string, response: StoredResponse | null): Promise<void> {
    if (response === null) this.stmt('DELETE FROM idempotency WHERE scope = ? AND key = ?').run(scope, key);
    else {
      this.stmt('UPDATE idempotency SET response_status = ?, response_body = ? WHERE scope = ? AND key = ?').run(
        response.status,
        response.body,
        scope,
        key,
      );
    }
  }

  // ---- Inbound sources

  async createSource(source: Source): Promise<void> {
    const row = sourceToRow(source);
    const columns = Object.keys(row);
    this.stmt(`INSERT INTO source (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`).run(row);
  }

  async getSource(appId: string, id: string): Promise<Source | null> {
    const row = this.stmt('SELECT * FROM source WHERE id = ? AND app_id = ?').get(id, appId) as Row | undefined;
    return row ? sourceFromRow(row) : null;
  }

  async findSource(id: string): Promise<Source | null> {
    const row = this.stmt('SELECT * FROM source WHERE id = ?').get(id) as Row | undefined;
    return row ? sourceFromRow(row) : null;
  }

  async listSources(appId: string, page: PageRequest): Promise<Page<Source>> {
    return this.paged('SELECT * FROM source WHERE app_id = ?', [appId], 'id', pageQuery(page, 'ascending'), sourceFromRow, (s) => s.id);
  }

  async updateSource(source: Source): Promise<void> {
    const row = sourceToRow(source);
    const columns = Object.keys(row).filter((c) => c !== 'id' && c !== 'app_id' && c !== 'created_at');
    this.stmt(`UPDATE source SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id AND app_id = @app_id`).run(row);
  }

  async deleteSource(appId: string, id: string): Promise<boolean> {
    return this.stmt('DELETE FROM source WHERE id = ? AND app_id = ?').run(id, appId).changes > 0;
  }

  // ---- Retention: one immediate transaction per batch; the maintenance loop yields between batches.

  async purgeMessages(beforeMs: number, limit: number): Promise<PurgeResult> {
    const candidates = this.stmt(`
      SELECT id FROM message m WHERE m.id < ? AND m.created_at < ?
        AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.message_id = m.id AND d.status = 'pending')
      ORDER BY m.id LIMIT ?`);
    return this.db.transaction((): PurgeResult => {
      const ids = JSON.stringify(candidates.pluck().all(idLowerBound('msg', beforeMs), beforeMs, limit));
      const attempts = this.stmt('DELETE FROM attempt WHERE message_id IN (SELECT value FROM json_each(?))').run(ids).changes;
      const deliveries = this.stmt('DELETE FROM delivery WHERE message_id IN (SELECT value FROM json_each(?))').run(ids).changes;
      const messages = this.stmt('DELETE FROM message WHERE id IN (SELECT value FROM json_each(?))').run(ids).changes;
      return { messages, deliveries, attempts };
    }).immediate();
  }

  async purgeIdempotencyKeys(beforeMs: number, limit: number): Promise<number> {
    return this.stmt('DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE created_at <= ? LIMIT ?)').run(beforeMs, limit).changes;
  }

  // ---- Observability: metrics gauges and endpoint latency stats.

  async queueStats(nowMs: number): Promise<QueueStats> {
    // One pass over the partial index delivery_due: the earliest pending delivery is due exactly when anything is.
    const row = this.stmt(`
      SELECT count(*) AS pending, coalesce(sum(next_attempt_at <= ?), 0) AS due, min(next_attempt_at) AS earliest
      FROM delivery WHERE status = 'pending'`).get(nowMs) as Row;
    const earliest = row.earliest as number | null;
    return { pending: row.pending as number, due: row.due as number, oldestDueAt: earliest !== null && earliest <= nowMs ? earliest : null };
  }

  async endpointLatency(appId: string, endpointId: string, range: { sinceMs: number; untilMs: number }): Promise<EndpointLatency> {
    const window = 'FROM attempt WHERE app_id = ? AND created_at >= ? AND created_at < ? AND endpoint_id = ?';
    const params = [appId, range.sinceMs, range.untilMs, endpointId];
    // Both reads run back to back on the one connection, with no await between them: they see the same rows.
    const totals = this.stmt(`SELECT count(*) AS n, coalesce(sum(status = 'success'), 0) AS ok, max(response_duration_ms) AS max ${window}`).get(...params) as Row;
    const attempts = totals.n as number;
    const succeeded = totals.ok as number;
    if (attempts === 0) return { attempts: 0, succeeded: 0, failed: 0, p50Ms: null, p90Ms: null, p99Ms: null, maxMs: null };
    const ranks = LATENCY_PERCENTILES.map((p) => nearestRank(p, attempts));
    const byRank = new Map<number, number>();
    const rows = this.stmt(`
      SELECT rn, d FROM (SELECT response_duration_ms AS d, row_number() OVER (ORDER BY response_duration_ms) AS rn ${window})
      WHERE rn IN (?, ?, ?)`).all(...params, ...ranks) as Row[];
    for (const r of rows) byRank.set(r.rn as number, r.d as number);
    const at = (i: number): number => byRank.get(ranks[i]!)!;
    return { attempts, succeeded, failed: attempts - succeeded, p50Ms: at(0), p90Ms: at(1), p99Ms: at(2), maxMs: totals.max as number };
  }

  // ---- helpers

  private readonly statements = new Map<string, Database.Statement>();

  /** A cached prepared statement. */
  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private paged<T>(
    select: string,
    params: unknown[],
    key: string,
    query: PageQuery,
    map: (row: Row) => T,
    keyOf: (record: T) => string,
  ): Page<T> {
    const built = pagedSql(select, params, key, query, () => '?');
    return toPage((this.stmt(built.sql).all(...built.params) as Row[]).map(map), query, keyOf);
  }

  private uniqueOrConflict(detail: string, write: () => unknown): void {
    try {
      write();
    } catch (error) {
      const code = (error as { code?: string }).code;
      // A duplicate primary key (event_type.name) is as much a conflict as a duplicate unique column.
      if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw conflict(detail);
      throw error;
    }
  }
}

// ---- Observability

/** The percentiles endpointLatency reports, in order (p50, p90, p99). */
const LATENCY_PERCENTILES = [0.5, 0.9, 0.99] as const;

/** The 1-based rank of percentile p among n sorted values, as PostgreSQL's percentile_disc computes it. */
function nearestRank(p: number, n: number): number {
  return Math.min(n, Math.max(1, Math.ceil(p * n)));
}
