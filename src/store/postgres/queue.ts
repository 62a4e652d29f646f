// The PostgreSQL delivery queue: claiming with FOR UPDATE SKIP LOCKED under a lease with throttling, acks (attempts,
// failure streaks, automatic disabling, operational events), lease upkeep, resend, recovery, and the LISTEN client.
import pg from 'pg';
import { newId } from '../../domain/ids.js';
import { admit, type EndpointLimits } from '../../domain/throttle.js';
import type { Attempt, Delivery, Endpoint, Message } from '../../domain/types.js';
import { endpointStreaks } from '../endpoint-streaks.js';
import { attemptToRow, claimedFromRow, deliveryFromRow, endpointLimitsFromRow, unsendableReason } from '../rows.js';
import type {
  AckedResult,
  AckOutcome,
  AckPolicy,
  AttemptNotice,
  AttemptNoticeFact,
  ClaimedDelivery,
  DeliveryResult,
  DisabledEndpointFact,
  OperationalEventSource,
  Store,
} from '../store.js';
import { $, DELIVERIES_CHANNEL, type PostgresDb, type Row } from './db.js';
import { insertMessagesIn } from './messages.js';

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

export function postgresQueue(db: PostgresDb, deliveriesDue: DeliveriesDueListener): QueueOps {
  return {
    async claimDeliveries(owner: string, limit: number, leaseMs: number, nowMs: number, defaultMaxConcurrency = 0): Promise<ClaimedDelivery[]> {
      const leaseExpiresAt = nowMs + leaseMs;
      return db.transaction(async (client) => {
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
    },

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
      await db.transaction(async (client) => {
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
        if (policy?.events) outcome.operationalEvents = await insertOperationalEvents(client, policy.events, operatorAppId, acked, disabled);
      });
      return outcome;
    },

    async extendLeases(owner: string, deliveryIds: string[], leaseExpiresAt: number): Promise<number> {
      if (deliveryIds.length === 0) return 0;
      const result = await db.pool.query(
        "UPDATE delivery SET lease_expires_at = $1, next_attempt_at = $1 WHERE lease_owner = $2 AND status = 'pending' AND id = ANY($3)",
        [leaseExpiresAt, owner, deliveryIds],
      );
      return result.rowCount ?? 0;
    },

    async releaseDeliveries(owner: string, nowMs: number): Promise<number> {
      const result = await db.pool.query(
        "UPDATE delivery SET lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = $1, updated_at = $1 WHERE lease_owner = $2 AND status = 'pending'",
        [nowMs, owner],
      );
      if ((result.rowCount ?? 0) > 0) await db.pool.query('SELECT pg_notify($1, $2)', [DELIVERIES_CHANNEL, '']);
      return result.rowCount ?? 0;
    },

    async subscribeDeliveriesDue(listener: () => void): Promise<() => void> {
      return deliveriesDue.subscribe(listener);
    },

    async nextDueAt(): Promise<number | null> {
      const row = (await db.pool.query("SELECT MIN(next_attempt_at) AS due FROM delivery WHERE status = 'pending'")).rows[0];
      return (row?.due as number | null) ?? null;
    },

    async resendDelivery(message: Message, endpoint: Endpoint, nowMs: number): Promise<void> {
      await db.transaction(async (client) => {
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
    },

    async recoverFailed(endpointId: string, sinceMs: number, untilMs: number, nowMs: number): Promise<number> {
      return db.transaction(async (client) => {
        const result = await client.query(
          `UPDATE delivery SET status = 'pending', attempts = 0, rate_reserved = 0, next_attempt_at = $1, next_trigger = 1, last_error = NULL, updated_at = $1
           WHERE endpoint_id = $2 AND status = 'failed' AND message_id IN (SELECT id FROM message WHERE created_at >= $3 AND created_at < $4)`,
          [nowMs, endpointId, sinceMs, untilMs],
        );
        if ((result.rowCount ?? 0) > 0) await client.query('SELECT pg_notify($1, $2)', [DELIVERIES_CHANNEL, '']);
        return result.rowCount ?? 0;
      });
    },

    async listMessageDeliveries(messageId: string): Promise<Delivery[]> {
      return (await db.pool.query('SELECT * FROM delivery WHERE message_id = $1 ORDER BY id', [messageId])).rows.map(deliveryFromRow);
    },
  };
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
  if (messages.length > 0) await insertMessagesIn(client, messages);
  return messages.length;
}

/** The uid (or null) of each existing app among `appIds`. */
async function appUids(client: pg.PoolClient, appIds: string[]): Promise<Map<string, string | null>> {
  if (appIds.length === 0) return new Map();
  const rows = (await client.query('SELECT id, uid FROM app WHERE id = ANY($1)', [[...new Set(appIds)]])).rows;
  return new Map(rows.map((row) => [row.id as string, (row.uid as string | null) ?? null]));
}

/** The LISTEN connection of one store, opened on the first subscription. */
export class DeliveriesDueListener {
  private readonly listeners = new Set<() => void>();
  private listenClient: pg.Client | null = null;
  private closed = false;

  constructor(private readonly url: string) {}

  /**
   * Calls `listener` whenever any process commits deliveries that are due now (LISTEN/NOTIFY). A lost
   * connection is re-established; meanwhile the worker's slow poll covers the gap.
   */
  async subscribe(listener: () => void): Promise<() => void> {
    this.listeners.add(listener);
    if (!this.listenClient) await this.listen();
    return () => this.listeners.delete(listener);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
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

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.listenClient?.end().catch(() => undefined);
  }
}
