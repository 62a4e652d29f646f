// Writing many rows in bounded transactions: an application's history (Store.deleteApp, the same order in both
// adapters), a deleted endpoint's backlog (failed), an endpoint's dead letters recovered (Store.recoverFailed), the
// messages an endpoint missed replayed (Store.replayMissing), its finished deliveries replayed (Store.bulkReplay), an
// application's contents expunged (Store.expungeAllContents), and the maintenance loop's purges, with the event loop's
// turn between two.
import { endpointMatches } from '../domain/matching.js';
import type { Endpoint } from '../domain/types.js';
import { bool, json, type Row } from './rows.js';
import type { BulkReplayFilter } from './store.js';

/** Rows deleted, failed or recovered (read, for a recovery or a replay) per transaction. */
export const BATCH_ROWS = 2000;

/**
 * An application's history, deleted table by table in this order before the app row: deliveries and attempts
 * (which refer to messages) first, so that deleting a message cascades to nothing, and no statement's work depends on
 * how widely a message fanned out. Every one of them has an index on app_id.
 */
export const APP_HISTORY_TABLES = ['delivery', 'attempt', 'message'] as const;

/** Lets pending I/O (requests, ingest commits, deliveries) run between two transactions of a long deletion. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs `batch` (one transaction of at most BATCH_ROWS rows, resolving to how many it touched) until one touches fewer,
 * with the event loop's turn before each.
 */
export async function inBatches(batch: () => Promise<number>): Promise<void> {
  do await nextTurn();
  while ((await batch()) === BATCH_ROWS);
}

/**
 * Whether a dead letter read by a recovery (its message's `created_at` and `expunged_at`) is recovered: its message was
 * created in [since, until) and still has its payload.
 */
export function recoverable(row: { created_at?: unknown; expunged_at?: unknown }, sinceMs: number, untilMs: number): boolean {
  const created = Number(row.created_at);
  return created >= sinceMs && created < untilMs && row.expunged_at == null;
}

/**
 * Whether a message read by a replay (Store.replayMissing: its `event_type`, `channels`, `created_at`, `expunged_at`,
 * `only_endpoint_id`, and `sent`, whether it has a delivery to the endpoint) goes to `endpoint`: created in
 * [since, until), still with its payload, never sent to it, not one sent to another endpoint alone (send-example),
 * and of an event type and channel it subscribes to.
 */
export function replayable(row: Row, endpoint: Pick<Endpoint, 'filterTypes' | 'channels'>, sinceMs: number, untilMs: number): boolean {
  if (!recoverable(row, sinceMs, untilMs) || bool(row.sent) || row.only_endpoint_id != null) return false;
  return endpointMatches({ ...endpoint, disabled: false }, row.event_type as string, json<string[] | null>(row.channels));
}

/**
 * Whether a delivery read by a bulk replay (its `status`, its message's `event_type`, `channels`, `tags`, `created_at`
 * and `expunged_at`, and `last_status_code`, its latest attempt's, read when the filter has a status code class) goes
 * again: it has ended, its message is recoverable, and it matches every part of the filter.
 */
export function bulkReplayable(row: Row, filter: BulkReplayFilter): boolean {
  if (row.status === 'pending' || (filter.status !== undefined && row.status !== filter.status)) return false;
  if (!recoverable(row, filter.sinceMs, filter.untilMs)) return false;
  if (filter.eventTypes !== undefined && !filter.eventTypes.includes(row.event_type as string)) return false;
  if (filter.channel !== undefined && !(json<string[] | null>(row.channels) ?? []).includes(filter.channel)) return false;
  if (filter.tag !== undefined && !(json<string[] | null>(row.tags) ?? []).includes(filter.tag)) return false;
  if (filter.statusCodeClass !== undefined && Math.floor(Number(row.last_status_code ?? 0) / 100) !== filter.statusCodeClass) return false;
  return true;
}

/** The latest attempt's status code of the delivery `d` (by the index attempt_message), for bulkReplayable. */
export const LAST_STATUS_CODE = '(SELECT a.response_status_code FROM attempt a WHERE a.message_id = d.message_id AND a.endpoint_id = d.endpoint_id ORDER BY a.id DESC LIMIT 1)';
