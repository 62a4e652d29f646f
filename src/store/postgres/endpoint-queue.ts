// The PostgreSQL side of the scheduler's per-endpoint state (table endpoint_queue; src/domain/scheduler.ts): what
// every write that creates or reschedules deliveries must do so that claims look at their endpoint in time.
import type pg from 'pg';
import { queueStateToRow, QUEUE_STATE_COLUMNS } from '../rows.js';
import type { EndpointQueueState } from '../../domain/scheduler.js';
import { bigintArray, boolArray, floatArray, intArray, textArray } from './literals.js';

/**
 * Makes each endpoint ready no later than its time, inside the caller's transaction ('work' and 'capacity' as in
 * the SQLite store: new work waits for the endpoint's next slot, probe or freed budget; capacity is now). The rows
 * are locked in id order (no deadlock with another ingest or an ack) and always written: a claim holding one of
 * them computed its readiness without this transaction's deliveries, so this update must wait for that claim and
 * apply on top of what it wrote (a conditional update could skip the row and strand the new deliveries).
 */
export async function readyBy(client: pg.PoolClient, at: ReadonlyMap<string, number>, reason: 'work' | 'capacity' = 'work'): Promise<void> {
  const statements = readyByStatements(at, reason);
  if (statements) await client.query(statements);
}

/**
 * readyBy as statements without parameters (values inlined as literals), which a transaction can send with its
 * COMMIT in one round trip (PostgresDb.transaction's commitWith): the queue rows, which every ingest, claim and ack
 * of an endpoint wants, are then held only while the server commits, not across a round trip through a busy event
 * loop. Null when there is nothing to make ready.
 */
export function readyByStatements(at: ReadonlyMap<string, number>, reason: 'work' | 'capacity' = 'work'): string | null {
  if (at.size === 0) return null;
  const ids = [...at.keys()].sort();
  const idList = textArray(ids);
  const atList = bigintArray(ids.map((id) => at.get(id)!));
  const lock = ids.length > 1 ? `SELECT 1 FROM endpoint_queue WHERE endpoint_id = ANY(${idList}) ORDER BY endpoint_id FOR UPDATE; ` : '';
  // From the row itself (its latest version once locked): when it could next send anything new.
  const earliestSend = reason === 'work' ? 'GREATEST(u.at, COALESCE(q.rate_next_at, u.at), COALESCE(q.circuit_retry_at, u.at))' : 'u.at';
  const readyAt = `LEAST(COALESCE(q.ready_at, ${earliestSend}), ${earliestSend})`;
  // New work for a saturated endpoint waits for its budget: a freed slot makes it ready, not the work.
  const newReadyAt = reason === 'work' ? `CASE WHEN q.saturated AND q.ready_at IS NOT NULL THEN q.ready_at ELSE ${readyAt} END` : readyAt;
  return `${lock}UPDATE endpoint_queue q SET ready_at = ${newReadyAt}
     FROM unnest(${idList}, ${atList}) AS u(id, at) WHERE q.endpoint_id = u.id`;
}

/** How each scheduler column is written (the others are bigint). */
const COLUMN_ARRAYS: Record<string, (values: (number | null)[]) => string> = {
  concurrency: floatArray,
  slow_start_limit: floatArray,
  latency_ms: floatArray,
  failure_streak: intArray,
  circuit_openings: intArray,
  in_flight: intArray,
};

/**
 * Writes whole scheduler states (an ack's changes) in one statement without parameters, which the ack sends with its
 * COMMIT (the queue rows it locked are then held one round trip less). Null when nothing changed.
 */
export function writeQueueStatesStatement(states: ReadonlyMap<string, EndpointQueueState>): string | null {
  if (states.size === 0) return null;
  const ids = [...states.keys()];
  const rows = ids.map((id) => queueStateToRow(states.get(id)!));
  const column = (c: string): string =>
    c === 'saturated' ? boolArray(rows.map((r) => r[c] === 1)) : (COLUMN_ARRAYS[c] ?? bigintArray)(rows.map((r) => r[c] as number | null));
  return `UPDATE endpoint_queue q SET ${QUEUE_STATE_COLUMNS.map((c) => `${c} = u.${c}`).join(', ')}
     FROM unnest(${textArray(ids)}, ${QUEUE_STATE_COLUMNS.map(column).join(', ')}) AS u(endpoint_id, ${QUEUE_STATE_COLUMNS.join(', ')})
     WHERE q.endpoint_id = u.endpoint_id`;
}
