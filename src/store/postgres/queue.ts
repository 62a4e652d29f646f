// The PostgreSQL delivery queue: claim (claim.ts) and ack (ack.ts), lease upkeep, resend, recovery and replays, the
// scheduler's view of an endpoint, and the LISTEN client that wakes workers.
import type { QueueOps } from '../concerns.js';
import pg from 'pg';
import { newId } from '../../domain/ids.js';
import { DEFAULT_SCHEDULER_POLICY, viewOf, type EndpointQueueView, type SchedulerPolicy } from '../../domain/scheduler.js';
import type { Delivery, Endpoint, Message } from '../../domain/types.js';
import { queueStateFromRow } from '../rows.js';
import type { AckOutcome, AckPolicy, BulkReplayFilter, ClaimedDelivery, ClaimRequest, DeliveryResult, ListedDelivery } from '../store.js';
import { completeDeliveries } from './ack.js';
import { claimDeliveries } from './claim.js';
import { DELIVERIES_CHANNEL, NOTIFY_DELIVERIES, type PostgresDb, type Row } from './db.js';
import { readyBy } from './endpoint-queue.js';
import { expungedResend } from '../expunged.js';
import { listedDeliveryFromRow, nextAttemptSql } from '../delivery-status.js';
import { BATCH_ROWS, LAST_STATUS_CODE, bulkReplayable, inBatches, recoverable, replayable } from '../batched-writes.js';
import { idLowerBound } from '../retention.js';
import { named } from './prepared.js';

/** When the next endpoint is ready (the worker sleeps until then). */
const nextReadyAt = named('hookd_next_ready_at', 'SELECT min(ready_at) AS due FROM endpoint_queue');

/**
 * Schedules the deliveries `ids` of one endpoint again now, as manual attempts from a fresh schedule, if they are still
 * in one of `statuses` and their message still has its payload (both read again in this statement: a delivery resent,
 * or a message expunged, since the caller read it stays as it is); then the endpoint is ready and workers are woken.
 * Returns how many.
 */
async function scheduleAgain(client: pg.PoolClient, endpointId: string, ids: string[], statuses: string[], nowMs: number): Promise<number> {
  if (ids.length === 0) return 0;
  const changed = (await client.query(
    `UPDATE delivery d SET status = 'pending', attempts = 0, next_attempt_at = $1, next_trigger = 1, last_error = NULL, updated_at = $1
     FROM message m WHERE d.id = ANY($2) AND d.status = ANY($3) AND m.id = d.message_id AND m.expunged_at IS NULL`,
    [nowMs, ids, statuses],
  )).rowCount ?? 0;
  if (changed > 0) {
    await readyBy(client, new Map([[endpointId, nowMs]]));
    await client.query(NOTIFY_DELIVERIES);
  }
  return changed;
}

export function postgresQueue(db: PostgresDb, deliveriesDue: DeliveriesDueListener): QueueOps {
  return {
    async claimDeliveries(request: ClaimRequest): Promise<ClaimedDelivery[]> {
      return claimDeliveries(db, request);
    },

    async completeDeliveries(results: DeliveryResult[], policy?: AckPolicy): Promise<AckOutcome> {
      return completeDeliveries(db, results, policy);
    },

    async extendLeases(owner: string, deliveryIds: string[], leaseExpiresAt: number): Promise<string[]> {
      if (deliveryIds.length === 0) return [];
      const result = await db.pool.query(
        "UPDATE delivery SET lease_expires_at = $1, next_attempt_at = $1 WHERE lease_owner = $2 AND status = 'pending' AND id = ANY($3) RETURNING id",
        [leaseExpiresAt, owner, deliveryIds],
      );
      return result.rows.map((row) => row.id as string);
    },

    async releaseDeliveries(owner: string, nowMs: number): Promise<number> {
      return db.transaction(async (client) => {
        const released = (
          await client.query(
            "UPDATE delivery SET lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = $1, updated_at = $1 WHERE lease_owner = $2 AND status = 'pending' RETURNING endpoint_id",
            [nowMs, owner],
          )
        ).rows.map((row) => row.endpoint_id as string);
        if (released.length === 0) return 0;
        const perEndpoint = new Map<string, number>();
        for (const endpointId of released) perEndpoint.set(endpointId, (perEndpoint.get(endpointId) ?? 0) + 1);
        await readyBy(client, new Map(released.map((endpointId) => [endpointId, nowMs])), 'capacity');
        await client.query(
          'UPDATE endpoint_queue q SET in_flight = GREATEST(0, q.in_flight - u.n) FROM unnest($1::text[], $2::int[]) AS u(id, n) WHERE q.endpoint_id = u.id',
          [[...perEndpoint.keys()], [...perEndpoint.values()]],
        );
        await client.query(NOTIFY_DELIVERIES);
        return released.length;
      });
    },

    async subscribeDeliveriesDue(listener: () => void): Promise<() => void> {
      return deliveriesDue.subscribe(listener);
    },

    async nextDueAt(): Promise<number | null> {
      const row = (await db.pool.query(nextReadyAt([]))).rows[0];
      return (row?.due as number | null) ?? null;
    },

    async endpointQueueState(endpointId: string, nowMs: number, policy: SchedulerPolicy = DEFAULT_SCHEDULER_POLICY): Promise<EndpointQueueView | null> {
      const row = (
        await db.pool.query(
          `SELECT q.*, e.max_concurrency,
             (SELECT count(*) FROM delivery d WHERE d.endpoint_id = q.endpoint_id AND d.lease_owner IS NOT NULL AND d.status = 'pending'
                AND d.next_attempt_at > $1) AS in_flight
           FROM endpoint_queue q JOIN endpoint e ON e.id = q.endpoint_id WHERE q.endpoint_id = $2`,
          [nowMs, endpointId],
        )
      ).rows[0] as Row | undefined;
      if (!row) return null;
      return viewOf(queueStateFromRow(row, policy), (row.max_concurrency as number | null) ?? null, row.in_flight as number, nowMs, policy);
    },

    async resendDelivery(message: Message, endpoint: Endpoint, nowMs: number): Promise<void> {
      await db.transaction(async (client) => {
        // On the wire right now: its ack makes it pending again (resetting it here would let that ack overwrite it).
        const inFlight = await client.query(
          `UPDATE delivery SET resend_requested = TRUE, updated_at = $4
           WHERE message_id = $1 AND endpoint_id = $2 AND status = 'pending' AND lease_owner IS NOT NULL AND lease_expires_at > $3`,
          [message.id, endpoint.id, nowMs, nowMs],
        );
        if ((inFlight.rowCount ?? 0) > 0) return;
        await client.query(
          `INSERT INTO delivery (id, message_id, endpoint_id, app_id, status, attempts, next_attempt_at, next_trigger, updated_at)
           VALUES ($1, $2, $3, $4, 'pending', 0, $5, 1, $5)
           ON CONFLICT (message_id, endpoint_id) DO UPDATE SET
             status = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at, next_trigger = 1, resend_requested = FALSE,
             lease_owner = NULL, lease_expires_at = NULL, updated_at = excluded.updated_at`,
          [newId('dlv', nowMs), message.id, endpoint.id, message.appId, nowMs],
        );
        // Expunged since the caller read it: nothing is resent (the placeholder would be sent, signed). Checked after
        // the delivery is locked, the order an expunge locks them in; a concurrent expunge then waits for this one,
        // and fails the delivery it made pending.
        const expunged = await client.query('SELECT expunged_at FROM message WHERE id = $1 FOR SHARE', [message.id]);
        if (expunged.rows[0]?.expunged_at != null) throw expungedResend();
        await readyBy(client, new Map([[endpoint.id, nowMs]]));
        await client.query(NOTIFY_DELIVERIES);
      });
    },

    async recoverFailed(endpointId: string, sinceMs: number, untilMs: number, nowMs: number): Promise<number> {
      // The endpoint's dead letters in id order, BATCH_ROWS a transaction (its own index), each with the creation of its
      // message: the work of one statement is bounded by the rows it reads, not by how many match.
      let recovered = 0;
      let after = '';
      await inBatches(() =>
        db.transaction(async (client) => {
          const rows = (await client.query(
            `SELECT d.id, m.created_at, m.expunged_at FROM delivery d JOIN message m ON m.id = d.message_id
             WHERE d.endpoint_id = $1 AND d.status = 'failed' AND d.id > $2 ORDER BY d.id LIMIT ${BATCH_ROWS}`,
            [endpointId, after],
          )).rows as Row[];
          const ids = rows.filter((row) => recoverable(row, sinceMs, untilMs)).map((row) => row.id as string);
          recovered += await scheduleAgain(client, endpointId, ids, ['failed'], nowMs);
          after = (rows.at(-1)?.id as string | undefined) ?? after;
          return rows.length;
        }),
      );
      return recovered;
    },

    async replayMissing(endpoint: Endpoint, sinceMs: number, untilMs: number, nowMs: number): Promise<number> {
      // The application's messages in id order (ids begin with their creation time, so [since, until) is a range of
      // message_app), BATCH_ROWS a transaction, each with whether it went to the endpoint (delivery_endpoint_message):
      // the work of one statement is bounded by the rows it reads, not by how many match.
      const from = idLowerBound('msg', sinceMs);
      const to = idLowerBound('msg', untilMs);
      let replayed = 0;
      let after = '';
      await inBatches(() =>
        db.transaction(async (client) => {
          const rows = (await client.query(
            `SELECT m.id, m.event_type, m.channels, m.created_at, m.expunged_at, m.only_endpoint_id,
               EXISTS (SELECT 1 FROM delivery d WHERE d.endpoint_id = $1 AND d.message_id = m.id) AS sent
             FROM message m WHERE m.app_id = $2 AND m.id >= $3 AND m.id > $4 AND m.id < $5 ORDER BY m.id LIMIT ${BATCH_ROWS}`,
            [endpoint.id, endpoint.appId, from, after, to],
          )).rows as Row[];
          const ids = rows.filter((row) => replayable(row, endpoint, sinceMs, untilMs)).map((row) => row.id as string);
          if (ids.length > 0) {
            // A resend of one of them meanwhile made its delivery already; a message deleted meanwhile (its
            // application's deletion) is not there to join; one expunged since the read above is not replayed.
            const made = (await client.query(
              `INSERT INTO delivery (id, message_id, endpoint_id, app_id, status, attempts, next_attempt_at, next_trigger, updated_at)
               SELECT d.id, m.id, $3, m.app_id, 'pending', 0, $4, 1, $4
               FROM unnest($1::text[], $2::text[]) AS d(id, message_id) JOIN message m ON m.id = d.message_id AND m.expunged_at IS NULL
               ON CONFLICT (message_id, endpoint_id) DO NOTHING`,
              [ids.map(() => newId('dlv', nowMs)), ids, endpoint.id, nowMs],
            )).rowCount ?? 0;
            if (made > 0) {
              await readyBy(client, new Map([[endpoint.id, nowMs]]));
              await client.query(NOTIFY_DELIVERIES);
            }
            replayed += made;
          }
          after = (rows.at(-1)?.id as string | undefined) ?? after;
          return rows.length;
        }),
      );
      return replayed;
    },

    async bulkReplay(endpointId: string, filter: BulkReplayFilter, nowMs: number): Promise<number> {
      // The endpoint's deliveries in message id order (ids begin with their creation time, so [since, until) is a range
      // of delivery_endpoint_message), BATCH_ROWS a transaction: the work of one is bounded by the rows it reads.
      const from = idLowerBound('msg', filter.sinceMs);
      const to = idLowerBound('msg', filter.untilMs);
      let replayed = 0;
      let after = '';
      await inBatches(() =>
        db.transaction(async (client) => {
          const rows = (await client.query(
            `SELECT d.id, d.message_id, d.status, m.event_type, m.channels, m.tags, m.created_at, m.expunged_at,
               ${filter.statusCodeClass === undefined ? 'NULL' : LAST_STATUS_CODE} AS last_status_code
             FROM delivery d JOIN message m ON m.id = d.message_id
             WHERE d.endpoint_id = $1 AND d.message_id >= $2 AND d.message_id > $3 AND d.message_id < $4 ORDER BY d.message_id LIMIT ${BATCH_ROWS}`,
            [endpointId, from, after, to],
          )).rows as Row[];
          const ids = rows.filter((row) => bulkReplayable(row, filter)).map((row) => row.id as string);
          replayed += await scheduleAgain(client, endpointId, ids, ['failed', 'succeeded'], nowMs);
          after = (rows.at(-1)?.message_id as string | undefined) ?? after;
          return rows.length;
        }),
      );
      return replayed;
    },

    async listMessageDeliveries(messageId: string): Promise<ListedDelivery[]> {
      return (await db.pool.query(`SELECT d.*, ${nextAttemptSql('d')} AS next_attempt_shown FROM delivery d WHERE d.message_id = $1 ORDER BY d.id`, [messageId])).rows.map(listedDeliveryFromRow);
    },
  };
}

/**
 * The LISTEN connection of one store, opened on the first subscription. A connection that died without closing (the
 * server's host gone in a failover or a partition: no FIN, no error, TCP keepalive hours away) is found by a
 * heartbeat query that must answer within `heartbeatMs`, and replaced.
 */
export class DeliveriesDueListener {
  private readonly listeners = new Set<() => void>();
  private listenClient: pg.Client | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly connection: pg.ClientConfig,
    private readonly heartbeatMs = 15_000,
  ) {}

  /**
   * Calls `listener` whenever any process commits deliveries that are due now (LISTEN/NOTIFY). A lost connection,
   * or one that could not be made, is tried again every second; meanwhile the worker's slow poll covers the gap.
   */
  async subscribe(listener: () => void): Promise<() => void> {
    this.listeners.add(listener);
    // Not awaited: a server away or silent must not hold the subscriber (a stopping worker waits for this); the
    // connection, once it listens, wakes every subscriber once.
    if (!this.listenClient) void this.listen();
    return () => this.listeners.delete(listener);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client(this.connection);
    this.listenClient = client;
    const reconnect = (): void => {
      if (this.listenClient !== client || this.closed) return;
      this.listenClient = null;
      this.stopHeartbeat();
      client.end().catch(() => undefined);
      setTimeout(() => {
        if (!this.closed && this.listeners.size > 0 && !this.listenClient) void this.listen();
      }, 1000).unref();
    };
    client.on('error', reconnect);
    client.on('end', reconnect);
    client.on('notification', () => {
      for (const listener of this.listeners) listener();
    });
    try {
      await client.connect();
      // Bounded like the heartbeat: a server that went silent would hold the subscription, and a stopping worker's
      // wait for it, without end.
      await client.query({ text: `LISTEN ${DELIVERIES_CHANNEL}`, query_timeout: this.heartbeatMs } as pg.QueryConfig);
    } catch {
      // Away now (or silent): tried again in a second, the worker's poll covering the gap. A worker started while
      // the server was away relied on polling for good before.
      reconnect();
      return;
    }
    if (this.listenClient !== client) return;
    // Notifications sent while no connection listened are lost: whoever waits looks once.
    for (const listener of this.listeners) listener();
    this.heartbeat = setInterval(() => {
      // (pg reads query_timeout from a query's config too; its types only list it for the client.)
      client.query({ text: 'SELECT 1', query_timeout: this.heartbeatMs } as pg.QueryConfig).catch(reconnect);
    }, this.heartbeatMs).unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.stopHeartbeat();
    // Not for longer than a heartbeat: ending a connection that went silent waits for an answer that never comes.
    const ended = this.listenClient?.end().catch(() => undefined);
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, this.heartbeatMs).unref())]);
  }
}
