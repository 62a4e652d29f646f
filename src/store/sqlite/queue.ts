// The SQLite delivery queue: claim (claim.ts) and ack (ack.ts), lease upkeep, resend, recovery and replays, and the
// scheduler's view of an endpoint.
import { newId } from '../../domain/ids.js';
import { DEFAULT_SCHEDULER_POLICY, viewOf, type EndpointQueueView, type SchedulerPolicy } from '../../domain/scheduler.js';
import type { Delivery, Endpoint, Message } from '../../domain/types.js';
import { queueStateFromRow } from '../rows.js';
import type { AckOutcome, AckPolicy, BulkReplayFilter, ClaimedDelivery, ClaimRequest, DeliveryResult, ListedDelivery } from '../store.js';
import { completeDeliveries } from './ack.js';
import { claimDeliveries } from './claim.js';
import type { QueueOps } from '../concerns.js';
import type { Row, SqliteDb } from './db.js';
import { readyBy } from './endpoint-queue.js';
import { expungedResend } from '../expunged.js';
import { listedDeliveryFromRow, nextAttemptSql } from '../delivery-status.js';
import { BATCH_ROWS, LAST_STATUS_CODE, bulkReplayable, inBatches, recoverable, replayable } from '../batched-writes.js';
import { idLowerBound } from '../retention.js';

export function sqliteQueue(db: SqliteDb): QueueOps {
  return {
    async claimDeliveries(request: ClaimRequest): Promise<ClaimedDelivery[]> {
      return db.whenWritable(() => claimDeliveries(db, request));
    },

    async completeDeliveries(results: DeliveryResult[], policy?: AckPolicy): Promise<AckOutcome> {
      return db.whenWritable(() => completeDeliveries(db, results, policy));
    },

    async extendLeases(owner: string, deliveryIds: string[], leaseExpiresAt: number): Promise<string[]> {
      if (deliveryIds.length === 0) return [];
      const renew = db.stmt(`
        UPDATE delivery SET lease_expires_at = ?, next_attempt_at = ?
        WHERE lease_owner = ? AND status = 'pending' AND id IN (SELECT value FROM json_each(?)) RETURNING id`);
      return db.whenWritable(() => db.committed('redoable', () => renew.pluck().all(leaseExpiresAt, leaseExpiresAt, owner, JSON.stringify(deliveryIds)) as string[]));
    },

    async releaseDeliveries(owner: string, nowMs: number): Promise<number> {
      return db.whenWritable(() => db.transaction(() => {
        const released = db
          .prepare("UPDATE delivery SET lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = ?, updated_at = ? WHERE lease_owner = ? AND status = 'pending' RETURNING endpoint_id")
          .pluck()
          .all(nowMs, nowMs, owner) as string[];
        const perEndpoint = new Map<string, number>();
        for (const endpointId of released) perEndpoint.set(endpointId, (perEndpoint.get(endpointId) ?? 0) + 1);
        const unlease = db.stmt('UPDATE endpoint_queue SET in_flight = max(0, in_flight - ?) WHERE endpoint_id = ?');
        for (const [endpointId, n] of perEndpoint) unlease.run(n, endpointId);
        readyBy(db, new Map(released.map((endpointId) => [endpointId, nowMs])), 'capacity');
        return released.length;
      }));
    },

    async subscribeDeliveriesDue(): Promise<() => void> {
      return () => undefined;
    },

    async nextDueAt(): Promise<number | null> {
      return (db.stmt('SELECT min(ready_at) FROM endpoint_queue').pluck().get() as number | null) ?? null;
    },

    async endpointQueueState(endpointId: string, nowMs: number, policy: SchedulerPolicy = DEFAULT_SCHEDULER_POLICY): Promise<EndpointQueueView | null> {
      const row = db.stmt(`
        SELECT q.*, e.max_concurrency,
          (SELECT count(*) FROM delivery d WHERE d.endpoint_id = q.endpoint_id AND d.lease_owner IS NOT NULL AND d.status = 'pending'
             AND d.next_attempt_at > ?) AS in_flight
        FROM endpoint_queue q JOIN endpoint e ON e.id = q.endpoint_id WHERE q.endpoint_id = ?`).get(nowMs, endpointId) as Row | undefined;
      if (!row) return null;
      return viewOf(queueStateFromRow(row, policy), (row.max_concurrency as number | null) ?? null, row.in_flight as number, nowMs, policy);
    },

    async resendDelivery(message: Message, endpoint: Endpoint, nowMs: number): Promise<void> {
      db.transaction(() => {
        // On the wire right now: its ack makes it pending again (resetting it here would let that ack overwrite it).
        const inFlight = db
          .stmt(`UPDATE delivery SET resend_requested = 1, updated_at = ?
                 WHERE message_id = ? AND endpoint_id = ? AND status = 'pending' AND lease_owner IS NOT NULL AND lease_expires_at > ?`)
          .run(nowMs, message.id, endpoint.id, nowMs).changes;
        if (inFlight > 0) return;
        db.stmt(`
          INSERT INTO delivery (id, message_id, endpoint_id, app_id, status, attempts, next_attempt_at, next_trigger, updated_at)
          VALUES (?, ?, ?, ?, 'pending', 0, ?, 1, ?)
          ON CONFLICT (message_id, endpoint_id) DO UPDATE SET
            status = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at, next_trigger = 1, resend_requested = 0,
            lease_owner = NULL, lease_expires_at = NULL, updated_at = excluded.updated_at`).run(newId('dlv', nowMs), message.id, endpoint.id, message.appId, nowMs, nowMs);
        // Expunged since the caller read it: nothing is resent (the placeholder would be sent, signed).
        if (db.stmt('SELECT expunged_at FROM message WHERE id = ?').pluck().get(message.id) != null) throw expungedResend();
        readyBy(db, new Map([[endpoint.id, nowMs]]));
      });
    },

    async recoverFailed(endpointId: string, sinceMs: number, untilMs: number, nowMs: number): Promise<number> {
      // The endpoint's dead letters in id order, BATCH_ROWS a transaction (its own index), each with the creation of its
      // message: the work of one transaction is bounded by the rows it reads, not by how many match.
      const read = db.stmt(`
        SELECT d.id, m.created_at, m.expunged_at FROM delivery d JOIN message m ON m.id = d.message_id
        WHERE d.endpoint_id = ? AND d.status = 'failed' AND d.id > ? ORDER BY d.id LIMIT ${BATCH_ROWS}`);
      const recover = db.stmt(`UPDATE delivery SET status = 'pending', attempts = 0, next_attempt_at = ?, next_trigger = 1, last_error = NULL, updated_at = ?
        WHERE id = ? AND status = 'failed'`);
      let recovered = 0;
      let after = '';
      await inBatches(() =>
        db.whenWritable(() =>
          db.transaction(() => {
            const rows = read.all(endpointId, after) as Row[];
            let changed = 0;
            for (const row of rows) {
              if (recoverable(row, sinceMs, untilMs)) changed += recover.run(nowMs, nowMs, row.id).changes;
            }
            if (changed > 0) readyBy(db, new Map([[endpointId, nowMs]]));
            recovered += changed;
            after = (rows.at(-1)?.id as string | undefined) ?? after;
            return rows.length;
          }),
        ),
      );
      return recovered;
    },

    async replayMissing(endpoint: Endpoint, sinceMs: number, untilMs: number, nowMs: number): Promise<number> {
      // The application's messages in id order (ids begin with their creation time, so [since, until) is a range of
      // message_app), BATCH_ROWS a transaction, each with whether it went to the endpoint (delivery_endpoint_message):
      // the work of one transaction is bounded by the rows it reads, not by how many match.
      const read = db.stmt(`
        SELECT m.id, m.event_type, m.channels, m.created_at, m.expunged_at, m.only_endpoint_id,
          EXISTS (SELECT 1 FROM delivery d WHERE d.endpoint_id = ? AND d.message_id = m.id) AS sent
        FROM message m WHERE m.app_id = ? AND m.id >= ? AND m.id > ? AND m.id < ? ORDER BY m.id LIMIT ${BATCH_ROWS}`);
      // A resend of one of them meanwhile made its delivery already.
      const replay = db.stmt(`INSERT INTO delivery (id, message_id, endpoint_id, app_id, status, attempts, next_attempt_at, next_trigger, updated_at)
        VALUES (?, ?, ?, ?, 'pending', 0, ?, 1, ?) ON CONFLICT (message_id, endpoint_id) DO NOTHING`);
      const from = idLowerBound('msg', sinceMs);
      const to = idLowerBound('msg', untilMs);
      let replayed = 0;
      let after = '';
      await inBatches(() =>
        db.whenWritable(() =>
          db.transaction(() => {
            const rows = read.all(endpoint.id, endpoint.appId, from, after, to) as Row[];
            let made = 0;
            for (const row of rows) {
              if (replayable(row, endpoint, sinceMs, untilMs)) made += replay.run(newId('dlv', nowMs), row.id, endpoint.id, endpoint.appId, nowMs, nowMs).changes;
            }
            if (made > 0) readyBy(db, new Map([[endpoint.id, nowMs]]));
            replayed += made;
            after = (rows.at(-1)?.id as string | undefined) ?? after;
            return rows.length;
          }),
        ),
      );
      return replayed;
    },

    async bulkReplay(endpointId: string, filter: BulkReplayFilter, nowMs: number): Promise<number> {
      // The endpoint's deliveries in message id order (ids begin with their creation time, so [since, until) is a range
      // of delivery_endpoint_message), BATCH_ROWS a transaction: the work of one is bounded by the rows it reads.
      const read = db.stmt(`
        SELECT d.id, d.message_id, d.status, m.event_type, m.channels, m.tags, m.created_at, m.expunged_at,
          ${filter.statusCodeClass === undefined ? 'NULL' : LAST_STATUS_CODE} AS last_status_code
        FROM delivery d JOIN message m ON m.id = d.message_id
        WHERE d.endpoint_id = ? AND d.message_id >= ? AND d.message_id > ? AND d.message_id < ? ORDER BY d.message_id LIMIT ${BATCH_ROWS}`);
      const replay = db.stmt(`UPDATE delivery SET status = 'pending', attempts = 0, next_attempt_at = ?, next_trigger = 1, last_error = NULL, updated_at = ?
        WHERE id = ? AND status <> 'pending'`);
      const from = idLowerBound('msg', filter.sinceMs);
      const to = idLowerBound('msg', filter.untilMs);
      let replayed = 0;
      let after = '';
      await inBatches(() =>
        db.whenWritable(() =>
          db.transaction(() => {
            const rows = read.all(endpointId, from, after, to) as Row[];
            let changed = 0;
            for (const row of rows) {
              if (bulkReplayable(row, filter)) changed += replay.run(nowMs, nowMs, row.id).changes;
            }
            if (changed > 0) readyBy(db, new Map([[endpointId, nowMs]]));
            replayed += changed;
            after = (rows.at(-1)?.message_id as string | undefined) ?? after;
            return rows.length;
          }),
        ),
      );
      return replayed;
    },

    async listMessageDeliveries(messageId: string): Promise<ListedDelivery[]> {
      return (db.stmt(`SELECT d.*, ${nextAttemptSql('d')} AS next_attempt_shown FROM delivery d WHERE d.message_id = ? ORDER BY d.id`).all(messageId) as Row[]).map(listedDeliveryFromRow);
    },
  };
}
