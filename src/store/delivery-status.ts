import { deliveryFromRow, messageFromRow } from './rows.js';
import type { ListedDelivery, AttemptBucket, DeliveryCounts, DeliveryListItem, DeliveryStatusText, EndpointMessage, MessageDeliveryStatus, QueueStats } from './store.js';

/**
 * SQL fragments and row mapping for delivery status views (lists, counts, series), shared by both adapters:
 * the SQL is the same in both dialects, only placeholders differ.
 */

type Row = Record<string, unknown>;

/**
 * The Svix status of the delivery row `alias` at the time bound to `now` (a placeholder): a pending delivery
 * under a live lease is sending.
 */
export function statusTextSql(alias: string, now: string): string {
  return `CASE WHEN ${alias}.status = 'succeeded' THEN 'success' WHEN ${alias}.status = 'failed' THEN 'fail'
    WHEN ${alias}.lease_owner IS NOT NULL AND ${alias}.lease_expires_at > ${now} THEN 'sending' ELSE 'pending' END`;
}

/**
 * When the delivery row `alias` may next be tried, as lists show it (ListedDelivery.shownNextAttemptAt): null unless it
 * is pending; its next_attempt_at, or, when later, the time its endpoint holds it back until: its circuit's next probe
 * while open, or its rate clock (a receiver's Retry-After, the rate limit's next slot; src/domain/scheduler.ts). Nothing
 * goes to the endpoint before then, so a held delivery does not show a next attempt in the past all the while.
 */
export function nextAttemptSql(alias: string): string {
  const heldUntil = 'CASE WHEN q.circuit_opened_at IS NOT NULL AND q.circuit_retry_at > coalesce(q.rate_next_at, 0) THEN q.circuit_retry_at ELSE q.rate_next_at END';
  return `CASE WHEN ${alias}.status <> 'pending' THEN NULL ELSE coalesce(
    (SELECT ${heldUntil} FROM endpoint_queue q WHERE q.endpoint_id = ${alias}.endpoint_id AND ${heldUntil} > ${alias}.next_attempt_at),
    ${alias}.next_attempt_at) END`;
}

/**
 * Whether the endpoint row `e`, with its endpoint_queue row `q`, holds its due deliveries back at the time bound to
 * `now` (a placeholder; QueueStats.held): its circuit is open or half-open (nothing but a probe goes), or its rate clock
 * is ahead (a receiver's Retry-After, the rate limit's next slot). Not a deleted or disabled endpoint, whose deliveries
 * the next claim fails whatever its state. NULL when there is no row `q`.
 */
const heldSql = (now: string): string => `(e.deleted_at IS NULL AND NOT e.disabled AND (q.circuit_opened_at IS NOT NULL OR q.rate_next_at > ${now}))`;

/**
 * The queue figures (QueueStats, one row: queueStatsFromRow) at the time bound to `now` (a placeholder). One pass over
 * the partial index delivery_queue, by endpoint, then each endpoint's state (heldSql): an endpoint's earliest pending
 * delivery is due exactly when any of its deliveries is.
 */
export function queueStatsSql(now: string): string {
  return `SELECT coalesce(sum(p.pending), 0) AS pending,
      coalesce(sum(p.due) FILTER (WHERE NOT p.held), 0) AS due,
      coalesce(sum(p.due) FILTER (WHERE p.held), 0) AS held,
      min(p.earliest) FILTER (WHERE NOT p.held AND p.due > 0) AS earliest,
      (SELECT count(*) FROM endpoint_queue q JOIN endpoint e ON e.id = q.endpoint_id
        WHERE q.circuit_opened_at IS NOT NULL AND e.deleted_at IS NULL AND NOT e.disabled) AS circuits_open
    FROM (
      SELECT d.pending, d.due, d.earliest, coalesce(${heldSql(now)}, FALSE) AS held
      FROM (SELECT endpoint_id, count(*) AS pending, count(*) FILTER (WHERE next_attempt_at <= ${now}) AS due, min(next_attempt_at) AS earliest
            FROM delivery WHERE status = 'pending' GROUP BY endpoint_id) d
      LEFT JOIN endpoint_queue q ON q.endpoint_id = d.endpoint_id LEFT JOIN endpoint e ON e.id = d.endpoint_id) p`;
}

/** The row of queueStatsSql (PostgreSQL's sums are numeric, read as strings). */
export const queueStatsFromRow = (r: Row): QueueStats => ({
  pending: Number(r.pending),
  due: Number(r.due),
  held: Number(r.held),
  oldestDueAt: r.earliest === null || r.earliest === undefined ? null : Number(r.earliest),
  circuitsOpen: Number(r.circuits_open),
});

/** The SQL condition for "statusText is `status`" on the delivery row `alias` (`now` as in statusTextSql). */
export function statusTextCondition(alias: string, status: DeliveryStatusText, now: string): string {
  const leased = `${alias}.lease_owner IS NOT NULL AND ${alias}.lease_expires_at > ${now}`;
  switch (status) {
    case 'success':
      return `${alias}.status = 'succeeded'`;
    case 'fail':
      return `${alias}.status = 'failed'`;
    case 'sending':
      return `(${alias}.status = 'pending' AND ${leased})`;
    case 'pending':
      return `(${alias}.status = 'pending' AND NOT (${leased}))`;
  }
}

/** Whether statusTextCondition needs the `now` parameter. */
export const statusNeedsNow = (status: DeliveryStatusText): boolean => status === 'sending' || status === 'pending';

/** The condition on a `message` row for a message delivery status (see MessageFilter.deliveryStatus); no parameters. */
export function messageStatusCondition(status: MessageDeliveryStatus): string {
  const any = (condition: string) => `EXISTS (SELECT 1 FROM delivery ds WHERE ds.message_id = message.id AND ${condition})`;
  switch (status) {
    case 'fail':
      return any("ds.status = 'failed'");
    case 'pending':
      return `${any("ds.status = 'pending'")} AND NOT ${any("ds.status = 'failed'")}`;
    case 'success':
      return `${any("ds.status = 'succeeded'")} AND NOT ${any("ds.status <> 'succeeded'")}`;
  }
}

export const emptyCounts = (): DeliveryCounts => ({ success: 0, pending: 0, sending: 0, fail: 0 });

/** Rows of (s, n), s a status text: one count per status. */
export function countsFromRows(rows: Row[]): DeliveryCounts {
  const counts = emptyCounts();
  for (const row of rows) counts[row.s as DeliveryStatusText] += Number(row.n);
  return counts;
}

/** Rows of (message_id, s, n): counts per message. */
export function countsByMessage(rows: Row[]): Map<string, DeliveryCounts> {
  const byMessage = new Map<string, DeliveryCounts>();
  for (const row of rows) {
    const id = row.message_id as string;
    let counts = byMessage.get(id);
    if (!counts) byMessage.set(id, (counts = emptyCounts()));
    counts[row.s as DeliveryStatusText] += Number(row.n);
  }
  return byMessage;
}

/** Rows of (bucket, status, n) from an attempt series query: non-empty buckets in time order. */
export function bucketsFromRows(rows: Row[], sinceMs: number, bucketMs: number): AttemptBucket[] {
  const buckets = new Map<number, AttemptBucket>();
  for (const row of rows) {
    const index = Number(row.bucket);
    let bucket = buckets.get(index);
    if (!bucket) buckets.set(index, (bucket = { startMs: sinceMs + index * bucketMs, success: 0, fail: 0 }));
    if (row.status === 'success') bucket.success += Number(row.n);
    else bucket.fail += Number(row.n);
  }
  return [...buckets.values()].sort((a, b) => a.startMs - b.startMs);
}

/** A delivery row with next_attempt_shown (nextAttemptSql). */
export const listedDeliveryFromRow = (r: Row): ListedDelivery => ({
  ...deliveryFromRow(r),
  shownNextAttemptAt: r.next_attempt_shown === null || r.next_attempt_shown === undefined ? null : Number(r.next_attempt_shown),
});

/** A delivery row joined with msg_event_type, msg_created_at, status_text and last_status_code. */
export const deliveryListItemFromRow = (r: Row): DeliveryListItem => ({
  delivery: listedDeliveryFromRow(r),
  statusText: r.status_text as DeliveryStatusText,
  eventType: r.msg_event_type as string,
  messageCreatedAt: Number(r.msg_created_at),
  lastStatusCode: r.last_status_code === null || r.last_status_code === undefined ? null : Number(r.last_status_code),
});

/**
 * The delivery list's SELECT (before its WHERE conditions): deliveries with their message's event type and
 * time, their status text at `now`, their next attempt as shown (nextAttemptSql) and the status code of their latest
 * attempt.
 */
export function deliveryListSelect(now: string): string {
  return `SELECT d.*, ${nextAttemptSql('d')} AS next_attempt_shown, m.event_type AS msg_event_type, m.created_at AS msg_created_at, ${statusTextSql('d', now)} AS status_text,
    (SELECT a.response_status_code FROM attempt a WHERE a.message_id = d.message_id AND a.endpoint_id = d.endpoint_id ORDER BY a.id DESC LIMIT 1) AS last_status_code
    FROM delivery d JOIN message m ON m.id = d.message_id`;
}

/**
 * The endpoint message list's SELECT (before its WHERE conditions): each delivery's id, its message (m.*), its
 * status text at `now` and its next attempt time (nextAttemptSql).
 */
export function endpointMessageSelect(now: string): string {
  return `SELECT m.*, d.id AS delivery_id, ${statusTextSql('d', now)} AS status_text, ${nextAttemptSql('d')} AS delivery_next_attempt_at
    FROM delivery d JOIN message m ON m.id = d.message_id`;
}

/** A row of endpointMessageSelect. */
export const endpointMessageFromRow = (r: Row): EndpointMessage => ({
  deliveryId: r.delivery_id as string,
  message: messageFromRow(r),
  statusText: r.status_text as DeliveryStatusText,
  nextAttemptAt: r.delivery_next_attempt_at === null ? null : Number(r.delivery_next_attempt_at),
});
