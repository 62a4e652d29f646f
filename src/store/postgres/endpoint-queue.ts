// The PostgreSQL side of the scheduler's per-endpoint state (table endpoint_queue; src/domain/scheduler.ts): what
// every write that creates or reschedules deliveries must do so that claims look at their endpoint in time.
import type pg from 'pg';
import { queueStateToRow, QUEUE_STATE_COLUMNS } from '../rows.js';
import type { EndpointQueueState } from '../../domain/scheduler.js';
import { $ } from './db.js';
import { bigintArray, textArray } from './literals.js';

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

const COLUMN_TYPES: Record<string, string> = {
  concurrency: 'float8[]',
  slow_start_limit: 'float8[]',
  latency_ms: 'float8[]',
  saturated: 'bool[]',
  failure_streak: 'int[]',
  circuit_openings: 'int[]',
  in_flight: 'int[]',
};

/** Writes whole scheduler states (an ack's changes), in one statement. */
export async function writeQueueStates(client: pg.PoolClient, states: ReadonlyMap<string, EndpointQueueState>): Promise<void> {
  if (states.size === 0) return;
  const ids = [...states.keys()];
  const rows = ids.map((id) => queueStateToRow(states.get(id)!));
  await client.query(
    `UPDATE endpoint_queue q SET ${QUEUE_STATE_COLUMNS.map((c) => `${c} = u.${c}`).join(', ')}
     FROM unnest($1::text[], ${QUEUE_STATE_COLUMNS.map((c, i) => `${$(i + 2)}::${COLUMN_TYPES[c] ?? 'bigint[]'}`).join(', ')})
       AS u(endpoint_id, ${QUEUE_STATE_COLUMNS.join(', ')})
     WHERE q.endpoint_id = u.endpoint_id`,
    [ids, ...QUEUE_STATE_COLUMNS.map((c) => rows.map((r) => (c === 'saturated' ? r[c] === 1 : r[c])))],
  );
}
