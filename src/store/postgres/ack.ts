// Acks in PostgreSQL: one transaction records a batch of attempts, applies each delivery's next state (if its lease
// still holds), updates endpoint failure streaks and automatic disabling, inserts operational events, and feeds the
// results to each endpoint's scheduler state (circuit breaker, adaptive limit, readiness).
import type pg from 'pg';
import { DEFAULT_SCHEDULER_POLICY, afterResults, sameQueueState, type EndpointQueueState } from '../../domain/scheduler.js';
import type { Attempt } from '../../domain/types.js';
import { countsTowardAttempts, endpointSignals, latestAt, takenAtCurrentUrls } from '../endpoint-signals.js';
import { endpointStreaks } from '../endpoint-streaks.js';
import { ATTEMPT_COLUMNS, attemptValues, queueStateFromRow } from '../rows.js';
import type { AckedResult, AckOutcome, AckPolicy, AttemptNotice, AttemptNoticeFact, DeliveryResult, DisabledEndpointFact, OperationalEventSource } from '../store.js';
import { claimIn } from './claim.js';
import { $, NOTIFY_DELIVERIES, type PostgresDb, type Row } from './db.js';
import { writeQueueStatesStatement } from './endpoint-queue.js';
import { insertMessagesIn } from './messages.js';
import { EXPUNGED_DELIVERY_ERROR } from '../expunged.js';
import { named, runSql, type Sql } from './prepared.js';

const ATTEMPT_ARRAY_TYPES: Record<string, string> = {
  response_status_code: 'int[]',
  response_duration_ms: 'int[]',
  trigger_type: 'int[]',
  created_at: 'bigint[]',
};

const RESULT_PARAMS = ATTEMPT_COLUMNS.length;
const r$ = (n: number): string => $(RESULT_PARAMS + n);

/**
 * One statement, one round trip: records the attempts (all but those whose message is gone; one array parameter per
 * attempt column), applies the results (seven arrays after those) to the deliveries whose lease still holds, and reads
 * the current URL of the results' endpoints (the array after those; toCurrentUrl). The two writes touch different
 * tables; a data-modifying WITH runs to completion whether or not its rows are read. Rows with a url are endpoints',
 * the others the deliveries whose ack applied.
 */
const recordResults = named(
  'hookd_ack_record_results',
  `WITH recorded AS (
     INSERT INTO attempt (${ATTEMPT_COLUMNS.join(', ')})
     SELECT * FROM unnest(${ATTEMPT_COLUMNS.map((c, i) => `${$(i + 1)}::${ATTEMPT_ARRAY_TYPES[c] ?? 'text[]'}`).join(', ')}) AS a(${ATTEMPT_COLUMNS.join(', ')})
     WHERE EXISTS (SELECT 1 FROM message m WHERE m.id = a.message_id)),
   updated AS (
     UPDATE delivery d SET
       status = CASE WHEN d.resend_requested THEN 'pending' ELSE r.status END,
       attempts = CASE WHEN d.resend_requested THEN 0 ELSE d.attempts + r.counts END,
       next_attempt_at = CASE WHEN d.resend_requested THEN r.at ELSE r.next_at END,
       next_trigger = CASE WHEN d.resend_requested THEN 1 ELSE 0 END, resend_requested = FALSE,
       lease_owner = NULL, lease_expires_at = NULL, last_error = r.error, updated_at = r.at
     FROM unnest(${r$(1)}::text[], ${r$(2)}::text[], ${r$(3)}::text[], ${r$(4)}::bigint[], ${r$(5)}::text[], ${r$(6)}::bigint[], ${r$(7)}::int[])
       AS r(id, owner, status, next_at, error, at, counts)
     WHERE d.id = r.id AND d.lease_owner = r.owner
     RETURNING d.id, d.endpoint_id, d.attempts, d.failure_notified, d.next_trigger = 1 AS resent, r.at)
   SELECT id, endpoint_id, attempts, failure_notified, resent, at, NULL::text AS url FROM updated
   UNION ALL
   SELECT NULL, id, NULL, NULL, NULL, NULL, url FROM endpoint WHERE id = ANY(${r$(8)}::text[])`,
);

/**
 * Failure streaks and automatic disabling of the results' endpoints, each with the URL its results went to ($9): an
 * endpoint whose URL changed since (even while this waits for its row lock, which rechecks the row) is left alone.
 */
const updateStreaks = named(
  'hookd_ack_update_streaks',
  `WITH c(id, last_ok, first_fail, last_fail, last_at, gone, may_disable, url) AS (
     SELECT * FROM unnest($1::text[], $2::bool[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::bool[], $9::text[])),
   target AS (
     SELECT e.id,
       (c.gone IS NOT NULL AND NOT e.disabled AND e.deleted_at IS NULL) AS gone_now,
       COALESCE(c.may_disable AND $8::bigint > 0 AND NOT c.last_ok AND NOT e.disabled AND e.deleted_at IS NULL
         AND e.first_failure_at <= c.last_fail - $8::bigint, FALSE) AS failing_now
     FROM endpoint e JOIN c ON c.id = e.id
     WHERE e.url = c.url
       AND ((c.last_ok AND e.first_failure_at IS NOT NULL) OR (NOT c.last_ok AND e.first_failure_at IS NULL)
         OR (c.gone IS NOT NULL AND NOT e.disabled AND e.deleted_at IS NULL)
         OR (c.may_disable AND $8::bigint > 0 AND NOT c.last_ok AND NOT e.disabled AND e.deleted_at IS NULL
           AND e.first_failure_at <= c.last_fail - $8::bigint))
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
);

/**
 * The scheduler state of endpoints ($1), locked in id order, with the URL it is about (current_url). A row of a table
 * joined but not locked (e) is read as the statement first saw it, even when the statement waited for a lock: a URL
 * change that committed while this waited (its reset held the queue row) would go unseen in e.url. The locked row's
 * url is the one a URL change sets in its transaction (migration 20's trigger); NULL when none was made since, and
 * then e.url is the URL. (max_concurrency may be read as first seen too: the next claim reads it afresh.)
 */
const lockQueueStates = named(
  'hookd_ack_lock_queue_states',
  `SELECT q.*, COALESCE(q.url, e.url) AS current_url, e.max_concurrency FROM endpoint_queue q JOIN endpoint e ON e.id = q.endpoint_id
   WHERE q.endpoint_id = ANY($1) ORDER BY q.endpoint_id FOR UPDATE OF q`,
);

export async function completeDeliveries(db: PostgresDb, batch: DeliveryResult[], policy?: AckPolicy): Promise<AckOutcome> {
  if (batch.length === 0) return { operationalEvents: 0, disabledEndpoints: [] };
  // In delivery id order, which the first statement locks the rows in, as an expunge does: an ack and an expunge of
  // several messages cannot each hold a row the other waits for. The order holds because the plan is a nested loop
  // over the arrays probing delivery's primary key (a `probes` transaction allows no other join: db.ts PROBES_ONLY);
  // test/store/postgres-races.test.ts checks it.
  const results = [...batch].sort((a, b) => (a.deliveryId < b.deliveryId ? -1 : a.deliveryId > b.deliveryId ? 1 : 0));
  const attempts = results.map((r) => attemptValues(r.attempt));
  const operatorAppId = policy?.operatorAppId ?? null;
  // Redoable: an ack a server crash takes back leaves its deliveries leased, so they are sent again (at least once).
  return db.transaction(async (client, commitWith) => {
    const outcome: AckOutcome = { operationalEvents: 0, disabledEndpoints: [] };
    // The attempt happened, so it is always recorded, even when the lease was lost meanwhile; unless its message
    // is gone (its app was deleted while the request was on the wire): its attempts went with it.
    // RETURNING: the deliveries whose ack applied (the lease still held), with their state for operational events.
    // A resend requested while the attempt was on the wire wins over the attempt's outcome: pending again, at once, as
    // a manual attempt from 0 (next_trigger = 1 marks it).
    const rows = (
      await client.query(
        recordResults([
          ...ATTEMPT_COLUMNS.map((_, i) => attempts.map((a) => a[i])),
          results.map((r) => r.deliveryId),
          results.map((r) => r.leaseOwner),
          results.map((r) => r.next.status),
          results.map((r) => (r.next.status === 'pending' ? r.next.nextAttemptAt : r.attempt.createdAt)),
          results.map((r) => r.attempt.error),
          results.map((r) => r.attempt.createdAt),
          // Whether each attempt counts toward its delivery's attempts (one cut off by a shutdown does not).
          results.map((r) => (countsTowardAttempts(r) ? 1 : 0)),
          [...new Set(results.map((r) => r.attempt.endpointId))],
        ]),
      )
    ).rows;
    const urls = new Map(rows.filter((row) => row.url !== null).map((row) => [row.endpoint_id as string, row.url as string]));
    const updated = rows.filter((row) => row.url === null);
    // What an attempt to a URL the endpoint no longer has tells goes no further than its delivery, which it does not
    // end (retriedAtNewUrl): the few such deliveries the statement above failed are pending again, that attempt
    // uncounted (read in the same statement as the update, the URL costs no round trip in the usual ack).
    const { taken, retried: retriedAtNew } = takenAtCurrentUrls(results, urls);
    if (retriedAtNew.length > 0) outcome.retriedAtNewUrl = retriedAtNew;
    const retried = new Set(retriedAtNew);
    const again = updated.filter((row) => retried.has(row.id as string) && row.resent !== true);
    if (again.length > 0) {
      await client.query(
        "UPDATE delivery d SET status = 'pending', next_attempt_at = r.at, attempts = d.attempts - 1 FROM unnest($1::text[], $2::bigint[]) AS r(id, at) WHERE d.id = r.id",
        [again.map((row) => row.id), again.map((row) => Number(row.at))],
      );
      for (const row of again) row.attempts = (row.attempts as number) - 1;
    }
    // A delivery its message's expunge failed while this attempt was on the wire (which also ended its lease): when the
    // receiver took the message, the delivery succeeded, and is no dead letter. Only a result whose lease did not hold
    // can be one; usually there are none, and no statement runs.
    const updatedIds = new Set(updated.map((row) => row.id as string));
    // In id order (results are), as every row lock the ack takes: two workers' acks cannot wait for each other.
    const delivered = results.filter((r) => r.attempt.status === 'success' && !updatedIds.has(r.deliveryId));
    if (delivered.length > 0) {
      await client.query(
        `UPDATE delivery d SET status = 'succeeded', attempts = d.attempts + 1, last_error = NULL, updated_at = r.at
         FROM unnest($1::text[], $2::bigint[]) AS r(id, at) WHERE d.id = r.id AND d.status = 'failed' AND d.last_error = $3 AND d.lease_owner IS NULL`,
        [delivered.map((r) => r.deliveryId), delivered.map((r) => r.attempt.createdAt), EXPUNGED_DELIVERY_ERROR],
      );
    }
    const byDelivery = new Map(taken.map((r) => [r.deliveryId, r]));
    // Resent meanwhile: the attempt counts for its endpoint (latency, failures), not for the delivery's fate.
    const resent = new Map(updated.filter((row) => row.resent === true).map((row) => [row.endpoint_id as string, Number(row.at)]));
    const applied = updated.filter((row) => row.resent !== true);
    const acked: AckedResult[] = applied.map((row) => ({ result: byDelivery.get(row.id as string)!, attempts: row.attempts as number, failureNotified: row.failure_notified === true }));
    const recovered = acked.filter((a) => a.failureNotified && a.result.attempt.status === 'success').map((a) => a.result.deliveryId);
    if (recovered.length > 0) await client.query('UPDATE delivery SET failure_notified = FALSE WHERE id = ANY($1)', [recovered]);
    // Failure streaks (first_failure_at) and automatic disabling (410 Gone; failing longer than the disable period):
    // one statement that locks, in id order, only the endpoint rows that change, so concurrent acks from several
    // workers cannot deadlock on shared endpoints.
    const streaks = endpointStreaks(results, urls, operatorAppId);
    let disabled: Row[] = [];
    if (streaks.length > 0) {
      const changed = (
        await client.query(
          updateStreaks([
            streaks.map((x) => x.endpointId),
            streaks.map((x) => x.lastOk),
            streaks.map((x) => x.firstFail),
            streaks.map((x) => x.lastFail),
            streaks.map((x) => x.lastAt),
            streaks.map((x) => x.gone),
            streaks.map((x) => x.mayDisable),
            policy?.endpointDisableAfterMs ?? 0,
            streaks.map((x) => urls.get(x.endpointId) ?? null),
          ]),
        )
      ).rows;
      disabled = changed.filter((row) => row.disabled_now === true);
      outcome.disabledEndpoints = disabled.map((row) => row.id as string);
    }
    const ready = new Map<string, number>(resent);
    if (policy?.events) outcome.operationalEvents = await insertOperationalEvents(client, policy.events, operatorAppId, acked, disabled, ready);
    // The scheduler rows' update goes with the COMMIT, unless a claim in this transaction must read it first.
    const statement = await feedSchedulerState(client, taken, updatedIds, ready, policy);
    if (statement && policy?.claim) await runSql(client, statement);
    else if (statement) commitWith(statement);
    if (policy?.claim) outcome.claimed = await claimIn(client, policy.claim);
    return outcome;
  }, { durability: 'redoable', probes: true });
}

/**
 * The results' effect on their endpoints' scheduler state (src/domain/scheduler.ts afterResults), with the
 * readiness of endpoints the ack's operational events were fanned out to. Last in the ack, and locking the rows
 * in id order in one statement: an ack never holds a queue row while it waits for another lock. Returns the
 * statement that writes the changed states (null: none changed), for the caller to send with its COMMIT.
 *
 * Which results tell about their endpoint (toCurrentUrl) is judged by the URL the locked row is about, not the one the
 * ack's first statement read: a URL change committed between the two reset this state for the new receiver, which the
 * old one's answers must not feed (a change still to commit resets the state after this ack, as it waits for the row).
 */
async function feedSchedulerState(
  client: pg.PoolClient,
  results: DeliveryResult[],
  applied: ReadonlySet<string>,
  ready: ReadonlyMap<string, number>,
  policy: AckPolicy | undefined,
): Promise<Sql | null> {
  const scheduler = policy?.scheduler ?? DEFAULT_SCHEDULER_POLICY;
  const ids = [...new Set([...results.map((r) => r.attempt.endpointId), ...ready.keys()])].sort();
  const rows = (await client.query(lockQueueStates([ids]))).rows as Row[];
  const signals = endpointSignals(results, applied, new Map(rows.map((row) => [row.endpoint_id as string, row.current_url as string])));
  const changed = new Map<string, EndpointQueueState>();
  for (const row of rows) {
    const endpointId = row.endpoint_id as string;
    const before = queueStateFromRow(row, scheduler);
    const own = signals.get(endpointId);
    const after = own ? afterResults(before, own, (row.max_concurrency as number | null) ?? null, latestAt(own), scheduler) : { ...before };
    const at = ready.get(endpointId);
    if (at !== undefined) after.readyAt = after.readyAt === null ? at : Math.min(after.readyAt, at);
    if (!sameQueueState(before, after)) changed.set(endpointId, after);
  }
  return writeQueueStatesStatement(changed);
}

/**
 * Operational events of one ack, inside its transaction: notices for applied results (marking the
 * delivery as notified) and endpoint.disabled for endpoints this ack disabled, inserted as messages.
 */
async function insertOperationalEvents(
  client: pg.PoolClient,
  events: OperationalEventSource,
  operatorAppId: string | null,
  acked: AckedResult[],
  disabled: Row[],
  ready: Map<string, number>,
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
  const uids = await appUids(client, disabled.map((row) => row.app_id as string));
  const notices: AttemptNoticeFact[] = noticed.map(({ notice, attempt }) => {
    const info = messageInfo.get(attempt.messageId);
    return { notice, attempt, appUid: (info?.uid as string | null) ?? null, msgEventId: (info?.event_id as string | null) ?? null };
  });
  const endpoints: DisabledEndpointFact[] = disabled.map((row) => ({
    appId: row.app_id as string,
    appUid: uids.get(row.app_id as string) ?? null,
    endpointId: row.id as string,
    endpointUid: (row.uid as string | null) ?? null,
    failSince: (row.first_failure_at as number | null) ?? null,
    reason: row.disabled_reason as string,
    at: row.last_at as number,
  }));
  // An operator application deleted meanwhile (it is recreated at the next start) must not fail the ack.
  const candidates = events.messagesFor(notices, endpoints);
  const apps = await appUids(client, candidates.map((m) => m.appId));
  const messages = candidates.filter((m) => apps.has(m.appId));
  if (messages.length === 0) return 0;
  const results = await insertMessagesIn(client, messages, ready);
  if (results.some((r) => r.kind === 'inserted' && r.deliveries > 0)) await client.query(NOTIFY_DELIVERIES);
  return messages.length;
}

/** The uid (or null) of each existing app among `appIds`. */
async function appUids(client: pg.PoolClient, appIds: string[]): Promise<Map<string, string | null>> {
  if (appIds.length === 0) return new Map();
  const rows = (await client.query('SELECT id, uid FROM app WHERE id = ANY($1)', [[...new Set(appIds)]])).rows;
  return new Map(rows.map((row) => [row.id as string, (row.uid as string | null) ?? null]));
}
