// Messages in SQLite: ingest with fan-out to one pending delivery per matching endpoint, message and attempt reads.
import { newId } from '../../domain/ids.js';
import { endpointMatches } from '../../domain/matching.js';
import type { Attempt, Message, Page } from '../../domain/types.js';
import { messageStatusCondition } from '../delivery-status.js';
import { ATTEMPT_STARTED_AT, pageQuery, timeRange } from '../paging.js';
import { attemptFromRow, messageFromRow, toJson } from '../rows.js';
import type { AttemptFilter, InsertMessageResult, MessageFilter, PageRequest } from '../store.js';
import type { MessageOps } from '../concerns.js';
import type { Row, SqliteDb } from './db.js';
import { earliest } from '../concerns.js';
import { readyBy } from './endpoint-queue.js';
import { EXPUNGED_DELIVERY_ERROR, EXPUNGED_PAYLOAD, EXPUNGED_RESPONSE } from '../expunged.js';
import { BATCH_ROWS, inBatches } from '../batched-writes.js';

const MESSAGE_COLUMNS = 'id, app_id, event_id, event_type, payload, channels, tags, created_at';
/** A send-example message (messageParams), then the one endpoint it is for. */
const INSERT_MESSAGE_TO = `INSERT INTO message (${MESSAGE_COLUMNS}, only_endpoint_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/**
 * A message (messageParams, then the app id and the addressed uid twice) unless its application is gone (deleted after the
 * request looked it up) or no longer has the uid the sender named it by: that message alone is refused, not the
 * batch it shares with other requests (its foreign key would fail the whole transaction).
 */
const INSERT_MESSAGE_OF_LIVE_APP =
  `INSERT INTO message (${MESSAGE_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ? ` +
  'WHERE EXISTS (SELECT 1 FROM app WHERE id = ? AND (? IS NULL OR uid = ?)) ON CONFLICT DO NOTHING';
const INSERT_DELIVERY =
  "INSERT INTO delivery (id, message_id, endpoint_id, app_id, status, attempts, next_attempt_at, next_trigger, updated_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, 0, ?)";

/** A message's columns in MESSAGE_COLUMNS's order. */
const messageParams = (m: Message): unknown[] => [m.id, m.appId, m.eventId, m.eventType, m.payload, toJson(m.channels), toJson(m.tags), m.createdAt];
/** A new pending delivery of `m` to an endpoint, in INSERT_DELIVERY's order: due at once. */
const deliveryParams = (m: Message, endpointId: string): unknown[] => [newId('dlv', m.createdAt), m.id, endpointId, m.appId, m.createdAt, m.createdAt];

/** insertMessages inside the caller's transaction (ingest; operational events in an ack). */
export function insertMessagesNow(db: SqliteDb, messages: Message[]): InsertMessageResult[] {
  const insertMessage = db.stmt(INSERT_MESSAGE_OF_LIVE_APP);
  const insertDelivery = db.stmt(INSERT_DELIVERY);
  const findByEventId = db.stmt('SELECT * FROM message WHERE app_id = ? AND event_id = ?');
  const liveEndpoints = db.stmt('SELECT id, disabled, filter_types, channels FROM endpoint WHERE app_id = ? AND deleted_at IS NULL');
  const endpointsByApp = new Map<string, Row[]>();
  const ready = new Map<string, number>();
  const results = messages.map((m): InsertMessageResult => {
    const inserted = insertMessage.run(...messageParams(m), m.appId, m.addressedUid ?? null, m.addressedUid ?? null);
    if (inserted.changes === 0) {
      const existing = m.eventId === null ? undefined : (findByEventId.get(m.appId, m.eventId) as Row | undefined);
      return existing ? { kind: 'duplicate', existing: messageFromRow(existing) } : { kind: 'no-app' };
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
      insertDelivery.run(...deliveryParams(m, e.id as string));
      earliest(ready, e.id as string, m.createdAt);
      deliveries++;
    }
    return { kind: 'inserted', deliveries };
  });
  readyBy(db, ready);
  return results;
}

export function sqliteMessages(db: SqliteDb): MessageOps {
  return {
    // ---- Messages (ingest + fan-out)

    async insertMessages(messages: Message[]): Promise<InsertMessageResult[]> {
      // The fsync on libuv's thread pool: the API's event loop goes on meanwhile.
      return db.transactionDurable(() => insertMessagesNow(db, messages));
    },

    async getMessage(appId: string, idOrEventId: string): Promise<Message | null> {
      const row = db.stmt('SELECT * FROM message WHERE app_id = ? AND (id = ? OR event_id = ?) ORDER BY id = ? DESC LIMIT 1').get(
        appId,
        idOrEventId,
        idOrEventId,
        idOrEventId,
      ) as Row | undefined;
      return row ? messageFromRow(row) : null;
    },

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
      return db.paged(
        `SELECT * FROM message WHERE ${clauses.join(' AND ')}`,
        params,
        'id',
        pageQuery(page, 'descending'),
        messageFromRow,
        (m) => m.id,
      );
    },

    async insertMessageTo(message: Message, endpointId: string): Promise<void> {
      db.transaction(() => {
        db.stmt(INSERT_MESSAGE_TO).run(...messageParams(message), endpointId);
        db.stmt(INSERT_DELIVERY).run(...deliveryParams(message, endpointId));
        readyBy(db, new Map([[endpointId, message.createdAt]]));
      });
    },

    async expungeMessageContent(appId: string, messageIds: readonly string[], nowMs: number): Promise<string[]> {
      if (messageIds.length === 0) return [];
      return db.transaction(() => {
        const found = db
          .stmt('UPDATE message SET payload = ?, expunged_at = coalesce(expunged_at, ?) WHERE id IN (SELECT value FROM json_each(?)) AND app_id = ? RETURNING id')
          .pluck()
          .all(EXPUNGED_PAYLOAD, nowMs, JSON.stringify(messageIds), appId) as string[];
        if (found.length > 0) {
          db.stmt(`UPDATE delivery SET status = 'failed', last_error = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
            WHERE message_id IN (SELECT value FROM json_each(?)) AND status = 'pending'`).run(EXPUNGED_DELIVERY_ERROR, nowMs, JSON.stringify(found));
        }
        return found;
      });
    },

    async expungeAllContents(appId: string, nowMs: number): Promise<number> {
      // The application's messages in id order (message_app) up to its newest when asked, BATCH_ROWS a transaction; a
      // message expunged before keeps its time, and its deliveries failed then.
      const read = db.stmt(`SELECT id FROM message WHERE app_id = ? AND id > ? AND id <= ? ORDER BY id LIMIT ${BATCH_ROWS}`).pluck();
      const expunge = db.stmt('UPDATE message SET payload = ?, expunged_at = ? WHERE id IN (SELECT value FROM json_each(?)) AND expunged_at IS NULL');
      const fail = db.stmt(`UPDATE delivery SET status = 'failed', last_error = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
        WHERE message_id IN (SELECT value FROM json_each(?)) AND status = 'pending'`);
      const newest = db.stmt('SELECT max(id) FROM message WHERE app_id = ?').pluck().get(appId) as string | null;
      if (newest === null) return 0;
      let expunged = 0;
      let after = '';
      await inBatches(() =>
        db.whenWritable(() =>
          db.transaction(() => {
            const ids = read.all(appId, after, newest) as string[];
            const list = JSON.stringify(ids);
            expunged += expunge.run(EXPUNGED_PAYLOAD, nowMs, list).changes;
            fail.run(EXPUNGED_DELIVERY_ERROR, nowMs, list);
            after = ids.at(-1) ?? after;
            return ids.length;
          }),
        ),
      );
      return expunged;
    },

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
      timeRange(clauses, params, filter, () => '?', ATTEMPT_STARTED_AT);
      return db.paged(
        `SELECT * FROM attempt WHERE ${clauses.join(' AND ')}`,
        params,
        'id',
        pageQuery(page, 'descending'),
        attemptFromRow,
        (a) => a.id,
      );
    },

    async getAttempt(messageId: string, attemptId: string): Promise<Attempt | null> {
      const row = db.stmt('SELECT * FROM attempt WHERE message_id = ? AND id = ?').get(messageId, attemptId) as Row | undefined;
      return row ? attemptFromRow(row) : null;
    },

    async expungeAttemptContent(messageId: string, attemptId: string): Promise<boolean> {
      return db.committed('full', () => db.stmt('UPDATE attempt SET response = ? WHERE message_id = ? AND id = ?').run(EXPUNGED_RESPONSE, messageId, attemptId).changes > 0);
    },
  };
}
