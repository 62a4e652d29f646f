// Claiming in SQLite: the endpoints with due work share the claim (src/domain/scheduler.ts planClaim), then each
// one's oldest due deliveries are leased and its readiness recomputed, all in one transaction.
import { DEFAULT_SCHEDULER_POLICY, needsRecount, planClaim, settleClaim } from '../../domain/scheduler.js';
import { claimedOf, deliveryFromRow, readyEndpointFromRow, unsendableReason } from '../rows.js';
import type { Delivery } from '../../domain/types.js';
import type { ClaimedDelivery, ClaimRequest } from '../store.js';
import type { Row, SqliteDb } from './db.js';

const unbounded = (): number => Number.POSITIVE_INFINITY;

export function claimDeliveries(db: SqliteDb, request: ClaimRequest): ClaimedDelivery[] {
  // A claim lost to a machine crash only leaves its deliveries unleased: they are claimed again.
  return db.transaction(() => claimIn(db, request), 'redoable');
}

/** claimDeliveries inside the caller's transaction (a claim of its own, or the one an ack makes). */
export function claimIn(db: SqliteDb, request: ClaimRequest): ClaimedDelivery[] {
  const { owner, limit, leaseMs, nowMs } = request;
  const policy = request.policy ?? DEFAULT_SCHEDULER_POLICY;
  const leaseExpiresAt = nowMs + leaseMs;
  // Longest-waiting first; at most `limit` endpoints can get a slot. An endpoint without a rate limit of its own has
  // its application's.
  const readyEndpoints = db.stmt(`
    SELECT q.*, e.url, coalesce(e.rate_limit, a.rate_limit) AS rate_limit, e.max_concurrency, e.disabled, e.deleted_at, e.secrets, e.headers
    FROM endpoint_queue q JOIN endpoint e ON e.id = q.endpoint_id LEFT JOIN app a ON a.id = e.app_id
    WHERE q.ready_at <= ? ORDER BY q.ready_at LIMIT +?`);
  const liveLeases = db
    .stmt("SELECT count(*) FROM delivery WHERE endpoint_id = ? AND lease_owner IS NOT NULL AND status = 'pending' AND next_attempt_at > ?")
    .pluck();
  // By rowid: delivery_queue holds it, so each row is found without a lookup through the id index.
  const oldestDue = "SELECT rowid FROM delivery WHERE endpoint_id = ? AND status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT +?";
  const lease = db.stmt(`UPDATE delivery SET lease_owner = ?, lease_expires_at = ?, next_attempt_at = ?, updated_at = ? WHERE rowid IN (${oldestDue}) RETURNING *`);
  const fail = db.stmt(`
    UPDATE delivery SET status = 'failed', last_error = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
    WHERE rowid IN (${oldestDue})`);
  // Readiness: after a full budget, the next change in the endpoint's queue (a lease expiring, a retry coming due;
  // an ack that frees a slot brings it forward); otherwise not before `at` nor before the earliest pending
  // delivery; null when nothing is pending.
  const settle = db.stmt(`
    UPDATE endpoint_queue SET saturated = @saturated, rate_next_at = @rate_next_at, in_flight = @in_flight,
      ready_at = CASE WHEN @wait_lease THEN coalesce(
          (SELECT min(next_attempt_at) FROM delivery WHERE endpoint_id = @id AND status = 'pending' AND next_attempt_at > @now),
          (SELECT min(next_attempt_at) FROM delivery WHERE endpoint_id = @id AND status = 'pending'))
        ELSE (SELECT CASE WHEN min(next_attempt_at) IS NULL THEN NULL ELSE max(@at, min(next_attempt_at)) END
              FROM delivery WHERE endpoint_id = @id AND status = 'pending') END
    WHERE endpoint_id = @id`);
  // Passed over for a busy origin: to the back of the line (see EndpointClaimPlan.passedOver).
  const requeue = db.stmt('UPDATE endpoint_queue SET ready_at = max(ready_at, ?) WHERE endpoint_id = ? AND ready_at IS NOT NULL');
  // Each message once, however many of its deliveries were leased (a fan-out's payload is read once).
  const messages = db.stmt('SELECT id, app_id, event_type, payload FROM message WHERE id IN (SELECT value FROM json_each(?))');

  const ready = (readyEndpoints.all(nowMs, limit) as Row[]).map((row) => ({ row, endpoint: readyEndpointFromRow(row, policy) }));
  if (ready.length === 0) return [];
  // The in-flight count is an upper bound (expired leases stay in it): recount where it says "no room".
  for (const { endpoint } of ready) if (needsRecount(endpoint, nowMs, policy)) endpoint.state.inFlight = liveLeases.get(endpoint.endpointId, nowMs) as number;
  const rows = new Map(ready.map(({ row, endpoint }) => [endpoint.endpointId, row]));
  const plans = planClaim(ready.map((r) => r.endpoint), limit, nowMs, policy, request.originRoom ?? unbounded);
  const leased: Delivery[] = [];
  for (const plan of plans) {
    const id = plan.endpoint.endpointId;
    if (plan.passedOver === 'origin') requeue.run(nowMs, id);
    if (plan.passedOver) continue;
    let got = 0;
    if (plan.take > 0 && plan.endpoint.unsendable) got = fail.run(unsendableReason(rows.get(id)!), nowMs, id, nowMs, plan.take).changes;
    else if (plan.take > 0) {
      const mine = (lease.all(owner, leaseExpiresAt, leaseExpiresAt, nowMs, id, nowMs, plan.take) as Row[]).map(deliveryFromRow);
      got = mine.length;
      leased.push(...mine);
    }
    const { state, next } = settleClaim(plan, got, nowMs);
    settle.run({
      id,
      now: nowMs,
      saturated: state.saturated ? 1 : 0,
      rate_next_at: state.rateNextAt,
      in_flight: state.inFlight,
      wait_lease: next.kind === 'lease' ? 1 : 0,
      at: next.kind === 'at' ? next.at : nowMs,
    });
  }
  if (leased.length === 0) return [];
  const messageIds = [...new Set(leased.map((d) => d.messageId))];
  const messageRows = new Map((messages.all(JSON.stringify(messageIds)) as Row[]).map((row) => [row.id as string, row]));
  return claimedOf(leased, (id) => messageRows.get(id)!, (id) => rows.get(id)!);
}
