// Messages in PostgreSQL: ingest with fan-out to one pending delivery per matching endpoint, message and attempt reads.
import type { MessageOps } from '../concerns.js';
import type pg from 'pg';
import { newId } from '../../domain/ids.js';
import { endpointMatches } from '../../domain/matching.js';
import type { Attempt, Message, Page } from '../../domain/types.js';
import { messageStatusCondition } from '../delivery-status.js';
import { ATTEMPT_STARTED_AT, pageQuery, timeRange } from '../paging.js';
import { attemptFromRow, messageFromRow, toJson } from '../rows.js';
import type { AttemptFilter, InsertMessageResult, MessageFilter, PageRequest } from '../store.js';
import { $, NOTIFY_DELIVERIES, type PostgresDb } from './db.js';
import { earliest } from '../concerns.js';
import { readyBy, readyByStatements } from './endpoint-queue.js';
import { named, plainSql, sqlOf } from './prepared.js';
import { EXPUNGED_DELIVERY_ERROR, EXPUNGED_PAYLOAD, EXPUNGED_RESPONSE } from '../expunged.js';
import { BATCH_ROWS, inBatches } from '../batched-writes.js';

/**
 * Stores messages (one array parameter per column, $9 the uid each was addressed by): not for an application deleted
 * after the request looked it up, or that no longer has the uid the sender named it by (Message.addressedUid): that
 * message alone is refused, not the batch it shares with other requests (its foreign key would fail the whole
 * transaction). The application's row is share-locked here, which a delete under way holds locked: SKIP LOCKED
 * refuses its messages rather than wait for the delete and then fail the batch. In the batch's order: of two messages
 * with one eventId, the first is stored.
 */
const insertMessages = named(
  'hookd_insert_messages',
  `INSERT INTO message (id, app_id, event_id, event_type, payload, channels, tags, created_at)
   SELECT id, app_id, event_id, event_type, payload, channels, tags, created_at
   FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[], $8::bigint[], $9::text[])
     WITH ORDINALITY AS m(id, app_id, event_id, event_type, payload, channels, tags, created_at, addressed_uid, n)
   WHERE EXISTS (
     SELECT 1 FROM app WHERE app.id = m.app_id AND (m.addressed_uid IS NULL OR app.uid = m.addressed_uid) FOR KEY SHARE SKIP LOCKED)
   ORDER BY n
   ON CONFLICT DO NOTHING RETURNING id`,
);

/** The live endpoints of applications ($1), for fan-out. */
const appEndpoints = named('hookd_app_endpoints', 'SELECT id, app_id, disabled, filter_types, channels FROM endpoint WHERE app_id = ANY($1) AND deleted_at IS NULL');

/** Rows per delivery insert: about a third of a second on a slow disk, far inside the default 5 s statement timeout. */
const DELIVERIES_PER_STATEMENT = 5000;

/** One pending delivery per (id, message, endpoint, app, due time). */
const insertDeliveries = named(
  'hookd_insert_deliveries',
  `INSERT INTO delivery (id, message_id, endpoint_id, app_id, status, attempts, next_attempt_at, next_trigger, updated_at)
   SELECT id, message_id, endpoint_id, app_id, 'pending', 0, at, 0, at
   FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS d(id, message_id, endpoint_id, app_id, at)`,
);

/**
 * insertMessages inside the caller's transaction (ingest; operational events in an ack). The endpoints that got
 * deliveries are added to `ready` with their earliest delivery: the caller makes them ready (readyBy), where its
 * lock order allows, and wakes the workers (NOTIFY_DELIVERIES) when there were any.
 */
export async function insertMessagesIn(client: pg.PoolClient, messages: Message[], ready: Map<string, number>): Promise<InsertMessageResult[]> {
  const inserted = new Set(
    (
      await client.query(
        insertMessages([
          messages.map((m) => m.id),
          messages.map((m) => m.appId),
          messages.map((m) => m.eventId),
          messages.map((m) => m.eventType),
          messages.map((m) => m.payload),
          messages.map((m) => toJson(m.channels)),
          messages.map((m) => toJson(m.tags)),
          messages.map((m) => m.createdAt),
          messages.map((m) => m.addressedUid ?? null),
        ]),
      )
    ).rows.map((r) => r.id as string),
  );
  // Within one batch, a later message repeating an earlier one's eventId is a duplicate of it.
  const endpoints = (
    await client.query(appEndpoints([[...new Set(messages.map((m) => m.appId))]]))
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
      earliest(ready, e.id as string, m.createdAt);
      count++;
    }
    counts.set(m.id, count);
  }
  // In statements of at most DELIVERIES_PER_STATEMENT rows: each statement is bounded by statement_timeout, and a
  // batch's fan-out (512 messages to an application with 200 endpoints: 100k rows, several seconds) must not pass it
  // in one and fail every request of the batch.
  for (let from = 0; from < deliveries.length; from += DELIVERIES_PER_STATEMENT) {
    const part = deliveries.slice(from, from + DELIVERIES_PER_STATEMENT);
    await client.query(insertDeliveries([part.map((d) => d.id), part.map((d) => d.messageId), part.map((d) => d.endpointId), part.map((d) => d.appId), part.map((d) => d.at)]));
  }
  const duplicates = messages.filter((m) => !inserted.has(m.id) && m.eventId !== null);
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
  return messages.map((m): InsertMessageResult => {
    if (inserted.has(m.id)) return { kind: 'inserted', deliveries: counts.get(m.id) ?? 0 };
    const duplicateOf = existing.get(`${m.appId}\u0000${m.eventId}`);
    return duplicateOf ? { kind: 'duplicate', existing: duplicateOf } : { kind: 'no-app' };
  });
}

export function postgresMessages(db: PostgresDb): MessageOps {
  return {
    // ---- Messages (ingest + fan-out): a fixed number of round trips per batch, whatever its size.

    async insertMessages(messages: Message[]): Promise<InsertMessageResult[]> {
      if (messages.length === 0) return [];
      return db.transaction(async (client, commitWith) => {
        const ready = new Map<string, number>();
        const results = await insertMessagesIn(client, messages, ready);
        // With the commit: the queue rows, which the endpoint's claims and acks want too, are locked only while the
        // server commits (at 3,000 msg/s, concurrent ingests queued on them for seconds when each held them across
        // two round trips).
        const statements = readyByStatements(ready);
        if (statements) commitWith(sqlOf(statements, plainSql(NOTIFY_DELIVERIES)));
        return results;
      }, { probes: true });
    },

    async insertMessageTo(message: Message, endpointId: string): Promise<void> {
      await db.transaction(async (client) => {
        await client.query('INSERT INTO message (id, app_id, event_id, event_type, payload, channels, tags, created_at, only_endpoint_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
          message.id,
          message.appId,
          message.eventId,
          message.eventType,
          message.payload,
          toJson(message.channels),
          toJson(message.tags),
          message.createdAt,
          endpointId,
        ]);
        await client.query(
          "INSERT INTO delivery (id, message_id, endpoint_id, app_id, status, attempts, next_attempt_at, next_trigger, updated_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, 0, $5)",
          [newId('dlv', message.createdAt), message.id, endpointId, message.appId, message.createdAt],
        );
        await readyBy(client, new Map([[endpointId, message.createdAt]]));
        await client.query(NOTIFY_DELIVERIES);
      });
    },

    async expungeMessageContent(appId: string, messageIds: readonly string[], nowMs: number): Promise<string[]> {
      if (messageIds.length === 0) return [];
      return db.transaction(async (client) => {
        // Deliveries before the message rows, as acks lock them, and each table's rows in id order (as acks and
        // expungeAllContents do): two expunges, or an expunge and an ack, cannot wait for each other. NO KEY UPDATE,
        // as the UPDATE itself takes: an ack's attempt insert (its key share on the message) does not wait for it.
        await client.query(
          `UPDATE delivery SET status = 'failed', last_error = $1, lease_owner = NULL, lease_expires_at = NULL, updated_at = $2
           WHERE id = ANY(ARRAY(SELECT id FROM delivery WHERE message_id = ANY($3) AND app_id = $4 AND status = 'pending' ORDER BY id FOR NO KEY UPDATE)) AND status = 'pending'`,
          [EXPUNGED_DELIVERY_ERROR, nowMs, messageIds, appId],
        );
        const found = await client.query(
          `UPDATE message SET payload = $1, expunged_at = coalesce(expunged_at, $2)
           WHERE id = ANY(ARRAY(SELECT id FROM message WHERE id = ANY($3) AND app_id = $4 ORDER BY id FOR NO KEY UPDATE)) RETURNING id`,
          [EXPUNGED_PAYLOAD, nowMs, messageIds, appId],
        );
        return found.rows.map((row) => row.id as string);
      });
    },

    async expungeAllContents(appId: string, nowMs: number): Promise<number> {
      // The application's messages in id order (message_app) up to its newest when asked (read here, not from this
      // process's clock: another API process's may be ahead), BATCH_ROWS a transaction; deliveries before messages, as
      // acks lock them, and in id order. A message expunged before keeps its time, and its deliveries failed then.
      const newest = (await db.pool.query('SELECT max(id) AS id FROM message WHERE app_id = $1', [appId])).rows[0]?.id as string | null;
      if (newest == null) return 0;
      let expunged = 0;
      let after = '';
      await inBatches(() =>
        db.transaction(async (client) => {
          const ids = (await client.query(`SELECT id FROM message WHERE app_id = $1 AND id > $2 AND id <= $3 ORDER BY id LIMIT ${BATCH_ROWS}`, [appId, after, newest])).rows.map(
            (r) => r.id as string,
          );
          if (ids.length === 0) return 0;
          await client.query(
            `UPDATE delivery SET status = 'failed', last_error = $1, lease_owner = NULL, lease_expires_at = NULL, updated_at = $2
             WHERE id = ANY(ARRAY(SELECT id FROM delivery WHERE message_id = ANY($3) AND status = 'pending' ORDER BY id FOR NO KEY UPDATE)) AND status = 'pending'`,
            [EXPUNGED_DELIVERY_ERROR, nowMs, ids],
          );
          expunged += (await client.query('UPDATE message SET payload = $1, expunged_at = $2 WHERE id = ANY($3) AND expunged_at IS NULL', [EXPUNGED_PAYLOAD, nowMs, ids])).rowCount ?? 0;
          after = ids.at(-1)!;
          return ids.length;
        }),
      );
      return expunged;
    },

    async getMessage(appId: string, idOrEventId: string): Promise<Message | null> {
      return db.one('SELECT * FROM message WHERE app_id = $1 AND (id = $2 OR event_id = $2) ORDER BY (id = $2) DESC LIMIT 1', [appId, idOrEventId], messageFromRow);
    },

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
      return db.paged(`SELECT * FROM message WHERE ${clauses.join(' AND ')}`, params, 'id', pageQuery(page, 'descending'), messageFromRow, (m) => m.id);
    },

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
      timeRange(clauses, params, filter, $, ATTEMPT_STARTED_AT);
      return db.paged(`SELECT * FROM attempt WHERE ${clauses.join(' AND ')}`, params, 'id', pageQuery(page, 'descending'), attemptFromRow, (a) => a.id);
    },

    async getAttempt(messageId: string, attemptId: string): Promise<Attempt | null> {
      return db.one('SELECT * FROM attempt WHERE message_id = $1 AND id = $2', [messageId, attemptId], attemptFromRow);
    },

    async expungeAttemptContent(messageId: string, attemptId: string): Promise<boolean> {
      return ((await db.pool.query('UPDATE attempt SET response = $1 WHERE message_id = $2 AND id = $3', [EXPUNGED_RESPONSE, messageId, attemptId])).rowCount ?? 0) > 0;
    },
  };
}
