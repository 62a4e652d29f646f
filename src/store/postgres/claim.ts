// Claiming in PostgreSQL: the endpoints with due work are locked FOR UPDATE SKIP LOCKED (concurrent workers take
// disjoint endpoints and never wait for each other), share the claim (src/domain/scheduler.ts planClaim), then each
// one's oldest due deliveries are leased and its readiness recomputed (with the commit): four statements in one
// transaction.
import { DEFAULT_SCHEDULER_POLICY, needsRecount, planClaim, settleClaim, type EndpointClaimPlan } from '../../domain/scheduler.js';
import type { Delivery } from '../../domain/types.js';
import { EXPUNGED_DELIVERY_ERROR } from '../expunged.js';
import { claimedOf, deliveryFromRow, readyEndpointFromRow, unsendableReason } from '../rows.js';
import type { ClaimedDelivery, ClaimRequest } from '../store.js';
import type pg from 'pg';
import type { PostgresDb, Row } from './db.js';
import { bigintArray, boolArray, intArray, integerLiteral, textArray } from './literals.js';
import { named, Prepared, runSql, sqlOf, type Sql } from './prepared.js';

const unbounded = (): number => Number.POSITIVE_INFINITY;

/** One endpoint's oldest due deliveries, at most t.n, skipping rows another transaction holds. */
const DUE = `
  CROSS JOIN LATERAL (
    SELECT id, next_attempt_at FROM delivery
    WHERE endpoint_id = t.endpoint_id AND status = 'pending' AND next_attempt_at <= $1
    ORDER BY next_attempt_at LIMIT t.n FOR UPDATE SKIP LOCKED) x`;

/**
 * (1) The endpoints with due work ($1 now, $2 at most), longest-waiting first, locked, each with its rate limit (its
 * application's when it has none of its own). It goes with the BEGIN.
 */
const READY_ENDPOINTS = new Prepared(
  'hookd_claim_ready_endpoints',
  ['bigint', 'int'],
  `SELECT q.*, e.url, coalesce(e.rate_limit, a.rate_limit) AS rate_limit, e.max_concurrency, e.disabled, e.deleted_at
   FROM endpoint_queue q JOIN endpoint e ON e.id = q.endpoint_id LEFT JOIN app a ON a.id = e.app_id
   WHERE q.ready_at <= $1 ORDER BY q.ready_at LIMIT $2 FOR UPDATE OF q SKIP LOCKED`,
);
const readyEndpoints = ({ nowMs, limit }: ClaimRequest): Sql => READY_ENDPOINTS.execute(integerLiteral(nowMs), integerLiteral(limit));

/** (2) Leases each endpoint's oldest due deliveries ($2 endpoints, $3 how many each), with what sending needs. */
const lease = named(
  'hookd_claim_lease',
  `WITH picked AS (
     SELECT x.id, x.next_attempt_at AS due, t.rank FROM unnest($2::text[], $3::int[]) WITH ORDINALITY AS t(endpoint_id, n, rank) ${DUE}),
   leased AS (
     UPDATE delivery d SET lease_owner = $4, lease_expires_at = $5, next_attempt_at = $5, updated_at = $1
     FROM picked p WHERE d.id = p.id RETURNING d.*, p.due, p.rank)
   SELECT leased.*, m.event_type, m.payload, m.expunged_at, e.url, e.secrets, e.headers
   FROM leased JOIN message m ON m.id = leased.message_id JOIN endpoint e ON e.id = leased.endpoint_id`,
);

/**
 * (3) The endpoints' new readiness (and scheduler columns), with the COMMIT. $1 now; per endpoint: $2 id, $3
 * saturated, $4 rate_next_at, $5 whether it waits for a lease to end, $6 the earliest time otherwise, $7 in_flight.
 */
const SETTLE = new Prepared(
  'hookd_claim_settle',
  ['bigint', 'text[]', 'bool[]', 'bigint[]', 'bool[]', 'bigint[]', 'int[]'],
  `UPDATE endpoint_queue q SET saturated = u.saturated, rate_next_at = u.rate_next_at, in_flight = u.in_flight,
     ready_at = CASE WHEN u.wait_lease THEN COALESCE(
         (SELECT min(d.next_attempt_at) FROM delivery d WHERE d.endpoint_id = q.endpoint_id AND d.status = 'pending' AND d.next_attempt_at > $1),
         (SELECT min(d.next_attempt_at) FROM delivery d WHERE d.endpoint_id = q.endpoint_id AND d.status = 'pending'))
       ELSE (SELECT CASE WHEN min(d.next_attempt_at) IS NULL THEN NULL ELSE GREATEST(u.at, min(d.next_attempt_at)) END
             FROM delivery d WHERE d.endpoint_id = q.endpoint_id AND d.status = 'pending') END
   FROM unnest($2, $3, $4, $5, $6, $7) AS u(endpoint_id, saturated, rate_next_at, wait_lease, at, in_flight)
   WHERE q.endpoint_id = u.endpoint_id`,
);

/** (3') Endpoints passed over for a busy origin ($1 now, $2 ids) go to the back of the line (EndpointClaimPlan.passedOver). */
const REQUEUE = new Prepared(
  'hookd_claim_requeue',
  ['bigint', 'text[]'],
  'UPDATE endpoint_queue SET ready_at = GREATEST(ready_at, $1) WHERE endpoint_id = ANY($2) AND ready_at IS NOT NULL',
);

export async function claimDeliveries(db: PostgresDb, request: ClaimRequest): Promise<ClaimedDelivery[]> {
  // A claim lost to a server crash only leaves its deliveries unleased: they are claimed again. Three round trips:
  // the ready endpoints with the BEGIN, the leases, the endpoints' readiness with the COMMIT.
  return db.transaction((client, commitWith, [ready]) => claimIn(client, request, commitWith, ready!.rows as Row[]), {
    durability: 'redoable',
    probes: true,
    openWith: readyEndpoints(request),
  });
}

/**
 * claimDeliveries inside the caller's transaction (a claim of its own, or the one an ack makes). Given
 * `commitWith`, the last statement (the endpoints' new readiness) goes with the COMMIT: the queue rows, which ingest
 * waits for, are held one round trip less; given `readyRows`, the ready endpoints were read already.
 */
export async function claimIn(client: pg.PoolClient, request: ClaimRequest, commitWith?: (statements: Sql) => void, readyRows?: Row[]): Promise<ClaimedDelivery[]> {
  const { owner, limit, leaseMs, nowMs } = request;
  const policy = request.policy ?? DEFAULT_SCHEDULER_POLICY;
  const leaseExpiresAt = nowMs + leaseMs;
  const rows = readyRows ?? ((await runSql(client, readyEndpoints(request))).rows as Row[]);
  if (rows.length === 0) return [];
  const reasons = new Map(rows.map((row) => [row.endpoint_id as string, unsendableReason(row)]));
  const ready = rows.map((row) => readyEndpointFromRow(row, policy));
  // The in-flight count is an upper bound (expired leases stay in it): recount where it says "no room".
  const recount = ready.filter((endpoint) => needsRecount(endpoint, nowMs, policy));
  if (recount.length > 0) {
    const live = new Map(
      (
        await client.query(
          `SELECT endpoint_id, count(*) AS n FROM delivery
           WHERE endpoint_id = ANY($1) AND lease_owner IS NOT NULL AND status = 'pending' AND next_attempt_at > $2 GROUP BY endpoint_id`,
          [recount.map((endpoint) => endpoint.endpointId), nowMs],
        )
      ).rows.map((row) => [row.endpoint_id as string, row.n as number]),
    );
    for (const endpoint of recount) endpoint.state.inFlight = live.get(endpoint.endpointId) ?? 0;
  }
  const plans = planClaim(ready, limit, nowMs, policy, request.originRoom ?? unbounded);
  const visited = plans.filter((plan) => !plan.passedOver);
  const toSend = visited.filter((plan) => plan.take > 0 && !plan.endpoint.unsendable);
  const toFail = visited.filter((plan) => plan.take > 0 && plan.endpoint.unsendable);
  const got = new Map<string, number>();
  const count = (endpointId: string): void => void got.set(endpointId, (got.get(endpointId) ?? 0) + 1);

  let leased: { delivery: Delivery; row: Row; due: number; rank: number }[] = [];
  if (toSend.length > 0) {
    leased = (await client.query(lease([nowMs, endpointIds(toSend), takes(toSend), owner, leaseExpiresAt]))).rows.map((row: Row) => ({ delivery: deliveryFromRow(row), row, due: row.due as number, rank: Number(row.rank) }));
    leased.sort((a, b) => a.rank - b.rank || a.due - b.due);
    leased = await withoutExpunged(client, leased, nowMs);
    for (const { delivery } of leased) count(delivery.endpointId);
  }
  if (toFail.length > 0) {
    const failed = (
      await client.query(
        `UPDATE delivery d SET status = 'failed', last_error = t.reason, lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
         FROM unnest($2::text[], $3::int[], $4::text[]) AS t(endpoint_id, n, reason) ${DUE}
         WHERE d.id = x.id RETURNING d.endpoint_id`,
        [nowMs, endpointIds(toFail), takes(toFail), toFail.map((plan) => reasons.get(plan.endpoint.endpointId))],
      )
    ).rows;
    for (const row of failed) count(row.endpoint_id as string);
  }

  // Readiness: after a full budget, the next change in the endpoint's queue (a lease expiring, a retry coming due;
  // an ack that frees a slot brings it forward); otherwise not before `at` nor before the earliest pending
  // delivery; null when nothing is pending.
  const settled = visited.map((plan) => ({ plan, ...settleClaim(plan, got.get(plan.endpoint.endpointId) ?? 0, nowMs) }));
  const settle = SETTLE.execute(
    integerLiteral(nowMs),
    textArray(settled.map((s) => s.plan.endpoint.endpointId)),
    boolArray(settled.map((s) => s.state.saturated)),
    bigintArray(settled.map((s) => s.state.rateNextAt)),
    boolArray(settled.map((s) => s.next.kind === 'lease')),
    bigintArray(settled.map((s) => (s.next.kind === 'at' ? s.next.at : nowMs))),
    intArray(settled.map((s) => s.state.inFlight)),
  );
  const requeued = plans.filter((plan) => plan.passedOver === 'origin');
  const settleAll = requeued.length === 0 ? settle : sqlOf(settle, REQUEUE.execute(integerLiteral(nowMs), textArray(endpointIds(requeued))));
  if (commitWith) commitWith(settleAll);
  else await runSql(client, settleAll);
  // Every leased row carries its message's and endpoint's columns: any one of them will do for each.
  const messageRows = new Map(leased.map(({ delivery, row }) => [delivery.messageId, row]));
  const endpointRows = new Map(leased.map(({ delivery, row }) => [delivery.endpointId, row]));
  return claimedOf(
    leased.map((l) => l.delivery),
    (id) => messageRows.get(id)!,
    (id) => endpointRows.get(id)!,
  );
}

/**
 * The leased deliveries whose message still has its content; the others are failed, never sent. Every path that makes
 * a delivery pending (recover, bulk replay, replay-missing; a resend locks the message) checks `expunged_at` in its
 * statement, but under READ COMMITTED an expunge that commits while that statement runs is not seen by it, and the
 * expunged message's delivery is left pending: its placeholder payload would go out as a webhook.
 */
async function withoutExpunged<T extends { delivery: Delivery; row: Row }>(client: pg.PoolClient, leased: T[], nowMs: number): Promise<T[]> {
  const expunged = leased.filter(({ row }) => row.expunged_at != null).map(({ delivery }) => delivery.id);
  if (expunged.length === 0) return leased;
  await client.query(
    "UPDATE delivery SET status = 'failed', last_error = $1, lease_owner = NULL, lease_expires_at = NULL, updated_at = $2 WHERE id = ANY($3)",
    [EXPUNGED_DELIVERY_ERROR, nowMs, expunged],
  );
  return leased.filter(({ row }) => row.expunged_at == null);
}

const endpointIds = (plans: EndpointClaimPlan[]): string[] => plans.map((plan) => plan.endpoint.endpointId);
const takes = (plans: EndpointClaimPlan[]): number[] => plans.map((plan) => plan.take);
