// The SQLite delivery queue: claiming under a lease with throttling, acks (attempts, failure streaks, automatic
// disabling, operational events), lease upkeep, resend and recovery.
import { newId } from '../../domain/ids.js';
import { admit, type EndpointLimits } from '../../domain/throttle.js';
import type { Delivery, Endpoint, Message } from '../../domain/types.js';
import { endpointStreaks } from '../endpoint-streaks.js';
import { attemptToRow, claimedFromRow, deliveryFromRow, endpointLimitsFromRow, unsendableReason } from '../rows.js';
import type {
  AckedResult,
  AckOutcome,
  AckPolicy,
  AttemptNoticeFact,
  ClaimedDelivery,
  DeliveryResult,
  DisabledEndpointFact,
  OperationalEventSource,
  Store,
} from '../store.js';
import type { Row, SqliteDb } from './db.js';
import { insertMessagesNow } from './messages.js';

export type QueueOps = Pick<
  Store,
  | 'claimDeliveries'
  | 'completeDeliveries'
  | 'extendLeases'
  | 'releaseDeliveries'
  | 'subscribeDeliveriesDue'
  | 'nextDueAt'
  | 'resendDelivery'
  | 'recoverFailed'
  | 'listMessageDeliveries'
>;

export function sqliteQueue(db: SqliteDb): QueueOps {
  return {
    async claimDeliveries(owner: string, limit: number, leaseMs: number, nowMs: number, defaultMaxConcurrency = 0): Promise<ClaimedDelivery[]> {
      const leaseExpiresAt = nowMs + leaseMs;
      const candidates = db.stmt(
        "SELECT id, endpoint_id, rate_reserved, next_attempt_at FROM delivery WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
      );
      const limitedEndpoints = db.stmt(`
        SELECT id, rate_limit, max_concurrency, throttle_next_at FROM endpoint
        WHERE id IN (SELECT value FROM json_each(?)) AND (rate_limit > 0 OR max_concurrency > 0 OR ? > 0)`);
      const inFlight = db.stmt(`
        SELECT endpoint_id, count(*) AS n FROM delivery
        WHERE endpoint_id IN (SELECT value FROM json_each(?)) AND lease_owner IS NOT NULL AND status = 'pending' AND next_attempt_at > ?
        GROUP BY endpoint_id`);
      const lease = db.stmt(`
        UPDATE delivery SET lease_owner = ?, lease_expires_at = ?, next_attempt_at = ?, rate_reserved = 0, updated_at = ?
        WHERE id IN (SELECT value FROM json_each(?)) RETURNING *`);
      const defer = db.stmt('UPDATE delivery SET next_attempt_at = ?, rate_reserved = ? WHERE id = ?');
      const advanceSlot = db.stmt('UPDATE endpoint SET throttle_next_at = ? WHERE id = ?');
      const details = db.stmt(`
        SELECT d.id AS delivery_id, m.app_id, m.event_type, m.payload,
               e.url, e.secrets, e.headers, e.disabled, e.deleted_at
        FROM delivery d JOIN message m ON m.id = d.message_id JOIN endpoint e ON e.id = d.endpoint_id
        WHERE d.id IN (SELECT value FROM json_each(?))`);
      const failUnsendable = db.stmt(
        "UPDATE delivery SET status = 'failed', last_error = ?, lease_owner = NULL, lease_expires_at = NULL WHERE id = ?",
      );
      return db.transaction(() => {
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
      });
    },

    async completeDeliveries(results: DeliveryResult[], policy?: AckPolicy): Promise<AckOutcome> {
      const outcome: AckOutcome = { operationalEvents: 0, disabledEndpoints: [] };
      if (results.length === 0) return outcome;
      const attemptColumns = Object.keys(attemptToRow(results[0]!.attempt));
      const insertAttempt = db.stmt(
        `INSERT INTO attempt (${attemptColumns.join(', ')}) VALUES (${attemptColumns.map((c) => `@${c}`).join(', ')})`,
      );
      // RETURNING tells whether the ack applied (the lease still held) and the delivery's state for operational events.
      const updateDelivery = db.stmt(`
        UPDATE delivery SET status = ?, attempts = attempts + 1, next_attempt_at = ?, next_trigger = 0,
          lease_owner = NULL, lease_expires_at = NULL, last_error = ?, updated_at = ?
        WHERE id = ? AND lease_owner = ? RETURNING attempts, failure_notified`);
      const setFailureNotified = db.stmt('UPDATE delivery SET failure_notified = ? WHERE id = ?');
      const endpointSucceeded = db.stmt('UPDATE endpoint SET first_failure_at = NULL WHERE id = ? AND first_failure_at IS NOT NULL');
      const endpointFailed = db.stmt('UPDATE endpoint SET first_failure_at = ? WHERE id = ? AND first_failure_at IS NULL');
      // Automatic disabling: only an endpoint that is still enabled, so each is disabled (and reported) once.
      const disabledColumns = 'RETURNING id, app_id, uid, first_failure_at, disabled_reason';
      const disableGone = db.stmt(
        `UPDATE endpoint SET disabled = 1, disabled_reason = ?, updated_at = ? WHERE id = ? AND disabled = 0 AND deleted_at IS NULL ${disabledColumns}`,
      );
      const disableFailing = db.stmt(`
        UPDATE endpoint SET disabled = 1, updated_at = ?,
          disabled_reason = 'failing continuously since ' || strftime('%Y-%m-%dT%H:%M:%SZ', first_failure_at / 1000, 'unixepoch')
        WHERE id = ? AND disabled = 0 AND deleted_at IS NULL AND first_failure_at <= ? ${disabledColumns}`);
      const disableAfterMs = policy?.endpointDisableAfterMs ?? 0;
      const operatorAppId = policy?.operatorAppId ?? null;
      db.transaction(() => {
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
        if (policy?.events) outcome.operationalEvents = insertOperationalEvents(db, policy.events, operatorAppId, acked, disabled);
      });
      return outcome;
    },

    async extendLeases(owner: string, deliveryIds: string[], leaseExpiresAt: number): Promise<number> {
      if (deliveryIds.length === 0) return 0;
      return db.stmt(`
        UPDATE delivery SET lease_expires_at = ?, next_attempt_at = ?
        WHERE lease_owner = ? AND status = 'pending' AND id IN (SELECT value FROM json_each(?))`).run(leaseExpiresAt, leaseExpiresAt, owner, JSON.stringify(deliveryIds)).changes;
    },

    async releaseDeliveries(owner: string, nowMs: number): Promise<number> {
      return db
        .prepare("UPDATE delivery SET lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = ?, updated_at = ? WHERE lease_owner = ? AND status = 'pending'")
        .run(nowMs, nowMs, owner).changes;
    },

    async subscribeDeliveriesDue(): Promise<() => void> {
      return () => undefined;
    },

    async nextDueAt(): Promise<number | null> {
      return (db.stmt("SELECT MIN(next_attempt_at) FROM delivery WHERE status = 'pending'").pluck().get() as number | null) ?? null;
    },

    async resendDelivery(message: Message, endpoint: Endpoint, nowMs: number): Promise<void> {
      db.stmt(`
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
    },

    async recoverFailed(endpointId: string, sinceMs: number, untilMs: number, nowMs: number): Promise<number> {
      return db.stmt(`
        UPDATE delivery SET status = 'pending', attempts = 0, rate_reserved = 0, next_attempt_at = ?, next_trigger = 1, last_error = NULL, updated_at = ?
        WHERE endpoint_id = ? AND status = 'failed'
          AND message_id IN (SELECT id FROM message WHERE created_at >= ? AND created_at < ?)`).run(nowMs, nowMs, endpointId, sinceMs, untilMs).changes;
    },

    async listMessageDeliveries(messageId: string): Promise<Delivery[]> {
      return (db.stmt('SELECT * FROM delivery WHERE message_id = ? ORDER BY id').all(messageId) as Row[]).map(deliveryFromRow);
    },
  };
}

/**
 * Operational events of one ack, inside its transaction: notices for applied results (marking the
 * delivery as notified) and endpoint.disabled for endpoints this ack disabled, inserted as messages.
 */
function insertOperationalEvents(db: SqliteDb, events: OperationalEventSource, operatorAppId: string | null, acked: AckedResult[], disabled: { row: Row; at: number }[]): number {
  const messageInfo = db.stmt('SELECT m.event_id, a.uid FROM message m JOIN app a ON a.id = m.app_id WHERE m.id = ?');
  const appUid = db.stmt('SELECT uid FROM app WHERE id = ?');
  const setFailureNotified = db.stmt('UPDATE delivery SET failure_notified = ? WHERE id = ?');
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
  insertMessagesNow(db, messages);
  return messages.length;
}
