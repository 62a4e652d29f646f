// Acks in SQLite: one transaction records a batch of attempts, applies each delivery's next state (if its lease
// still holds), updates endpoint failure streaks and automatic disabling, inserts operational events, and feeds
// the results to each endpoint's scheduler state (circuit breaker, adaptive limit, readiness).
import { DEFAULT_SCHEDULER_POLICY, afterResults, sameQueueState } from '../../domain/scheduler.js';
import { countsTowardAttempts, endpointSignals, latestAt, takenAtCurrentUrls } from '../endpoint-signals.js';
import { endpointStreaks } from '../endpoint-streaks.js';
import { ATTEMPT_COLUMNS, QUEUE_STATE_COLUMNS, attemptValues, queueStateFromRow, queueStateToRow } from '../rows.js';
import type { AckedResult, AckOutcome, AckPolicy, AttemptNoticeFact, DeliveryResult, DisabledEndpointFact, OperationalEventSource } from '../store.js';
import { claimIn } from './claim.js';
import type { Row, SqliteDb } from './db.js';
import { readyBy } from './endpoint-queue.js';
import { insertMessagesNow } from './messages.js';
import { EXPUNGED_DELIVERY_ERROR } from '../expunged.js';

export function completeDeliveries(db: SqliteDb, results: DeliveryResult[], policy?: AckPolicy): AckOutcome {
  const outcome: AckOutcome = { operationalEvents: 0, disabledEndpoints: [] };
  if (results.length === 0) return outcome;
  // Unless its message is gone (its app was deleted while the request was on the wire): its attempts went with it.
  const insertAttempt = db.stmt(
    `INSERT INTO attempt (${ATTEMPT_COLUMNS.join(', ')}) SELECT ${ATTEMPT_COLUMNS.map(() => '?').join(', ')} WHERE EXISTS (SELECT 1 FROM message WHERE id = ?)`,
  );
  // RETURNING tells whether the ack applied (the lease still held) and the delivery's state for operational events.
  // A resend requested while the attempt was on the wire wins over the attempt's outcome: pending again, at once, as
  // a manual attempt from 0 (next_trigger = 1 marks it); a request cut off by a shutdown does not count. Both bind by
  // position (see attemptValues): status, counts (1 or 0), at, next_at, error, at, id, owner.
  const updateDelivery = db.stmt(`
    UPDATE delivery SET
      status = CASE WHEN resend_requested = 1 THEN 'pending' ELSE ? END,
      attempts = CASE WHEN resend_requested = 1 THEN 0 ELSE attempts + ? END,
      next_attempt_at = CASE WHEN resend_requested = 1 THEN ? ELSE ? END,
      next_trigger = resend_requested, resend_requested = 0,
      lease_owner = NULL, lease_expires_at = NULL, last_error = ?, updated_at = ?
    WHERE id = ? AND lease_owner = ? RETURNING attempts, failure_notified, next_trigger AS resent`);
  const setFailureNotified = db.stmt('UPDATE delivery SET failure_notified = ? WHERE id = ?');
  // A delivery its message's expunge failed while this attempt was on the wire (which also ended its lease): when the
  // receiver took the message, the delivery succeeded, and is no dead letter. The expunge still keeps it from going again.
  const deliveredDespiteExpunge = db.stmt(
    "UPDATE delivery SET status = 'succeeded', attempts = attempts + 1, last_error = NULL, updated_at = ? WHERE id = ? AND status = 'failed' AND last_error = ? AND lease_owner IS NULL",
  );
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
  // Redoable: an ack a machine crash takes back leaves its deliveries leased, so they are sent again (at least once).
  db.transaction(() => {
    const acked: AckedResult[] = [];
    const applied = new Set<string>();
    const disabled: { row: Row; at: number }[] = [];
    const resent = new Map<string, number>();
    // Each endpoint's URL now: what an attempt to a URL it no longer has tells goes no further than its delivery,
    // which it does not end (retriedAtNewUrl).
    const urls = currentUrls(db, results);
    const { taken, retried } = takenAtCurrentUrls(results, urls);
    if (retried.length > 0) outcome.retriedAtNewUrl = retried;
    for (const result of taken) {
      const a = result.attempt;
      const counts = countsTowardAttempts(result) ? 1 : 0;
      // The attempt happened, so it is always recorded, even when the lease was lost meanwhile.
      insertAttempt.run(...attemptValues(a), a.messageId);
      const nextAt = result.next.status === 'pending' ? result.next.nextAttemptAt : a.createdAt;
      const row = updateDelivery.get(result.next.status, counts, a.createdAt, nextAt, a.error, a.createdAt, result.deliveryId, result.leaseOwner) as Row | undefined;
      if (row?.resent === 1) {
        // Resent meanwhile: the attempt counts for its endpoint (latency, failures), not for the delivery's fate.
        applied.add(result.deliveryId);
        resent.set(a.endpointId, a.createdAt);
      } else if (row) {
        const failureNotified = row.failure_notified === 1;
        if (a.status === 'success' && failureNotified) setFailureNotified.run(0, result.deliveryId);
        acked.push({ result, attempts: row.attempts as number, failureNotified });
        applied.add(result.deliveryId);
      } else if (a.status === 'success') {
        deliveredDespiteExpunge.run(a.createdAt, result.deliveryId, EXPUNGED_DELIVERY_ERROR);
      }
    }
    // Failure streaks, one statement per endpoint of the batch (as on PostgreSQL): its latest attempt succeeded,
    // or a streak begins at its first failure here. Then automatic disabling (the operator application is exempt).
    for (const streak of endpointStreaks(results, urls, operatorAppId)) {
      if (streak.lastOk) endpointSucceeded.run(streak.endpointId);
      else endpointFailed.run(streak.firstFail, streak.endpointId);
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
    feedSchedulerState(db, taken, applied, urls, policy);
    readyBy(db, resent);
    if (policy?.claim) outcome.claimed = claimIn(db, policy.claim);
  }, 'redoable');
  return outcome;
}

/** The current URL of each endpoint of `results` (toCurrentUrl). */
function currentUrls(db: SqliteDb, results: DeliveryResult[]): Map<string, string> {
  // pluck() on every use: statements are cached by their text, and another caller of this one plucks too.
  const read = db.stmt('SELECT url FROM endpoint WHERE id = ?').pluck();
  const urls = new Map<string, string>();
  for (const { attempt } of results) {
    if (urls.has(attempt.endpointId)) continue;
    const url = read.get(attempt.endpointId) as string | undefined;
    if (url !== undefined) urls.set(attempt.endpointId, url);
  }
  return urls;
}

/** The results' effect on their endpoints' scheduler state (src/domain/scheduler.ts afterResults). */
function feedSchedulerState(db: SqliteDb, results: DeliveryResult[], applied: ReadonlySet<string>, urls: ReadonlyMap<string, string>, policy: AckPolicy | undefined): void {
  const scheduler = policy?.scheduler ?? DEFAULT_SCHEDULER_POLICY;
  const read = db.stmt('SELECT q.*, e.max_concurrency FROM endpoint_queue q JOIN endpoint e ON e.id = q.endpoint_id WHERE q.endpoint_id = ?');
  const write = db.stmt(`UPDATE endpoint_queue SET ${QUEUE_STATE_COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE endpoint_id = @endpoint_id`);
  for (const [endpointId, signals] of endpointSignals(results, applied, urls)) {
    const row = read.get(endpointId) as Row | undefined;
    if (!row) continue;
    const before = queueStateFromRow(row, scheduler);
    const after = afterResults(before, signals, (row.max_concurrency as number | null) ?? null, latestAt(signals), scheduler);
    if (!sameQueueState(before, after)) write.run({ ...queueStateToRow(after), endpoint_id: endpointId });
  }
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
