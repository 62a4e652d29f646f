// The PostgreSQL side of the scheduler's per-endpoint state (table endpoint_queue; src/domain/scheduler.ts): what
// every write that creates or reschedules deliveries must do so that claims look at their endpoint in time.
import type pg from 'pg';
import { queueStateToRow, QUEUE_STATE_COLUMNS } from '../rows.js';
import type { EndpointQueueState } from '../../domain/scheduler.js';
import { $ } from './db.js';

/**
 * Makes each endpoint ready no later than its time, inside the caller's transaction ('work' and 'capacity' as in
 * the SQLite store: new work waits for the endpoint's next slot, probe or freed budget; capacity is now). The rows
 * are locked in id order (no deadlock with another ingest or an ack) and always written: a claim holding one of
 * them computed its readiness without this transaction's deliveries, so this update must wait for that claim and
 * apply on top of what it wrote (a conditional update could skip the row and strand the new deliveries).
 */
export async function readyBy(client: pg.PoolClient, at: ReadonlyMap<string, number>, reason: 'work' | 'capacity' = 'work'): Promise<void> {
  if (at.size === 0) return;
  const ids = [...at.keys()].sort();
  if (ids.length > 1) await client.query('SELECT 1 FROM endpoint_queue WHERE endpoint_id = ANY($1) ORDER BY endpoint_id FOR UPDATE', [ids]);
  // From the row itself (its latest version once locked): when it could next send anything new.
  const earliestSend = 'CASE WHEN $3 THEN GREATEST(u.at, COALESCE(q.rate_next_at, u.at), COALESCE(q.circuit_retry_at, u.at)) ELSE u.at END';
  await client.query(
    `UPDATE endpoint_queue q SET ready_at = CASE
       WHEN $3 AND q.saturated AND q.ready_at IS NOT NULL THEN q.ready_at
       ELSE LEAST(COALESCE(q.ready_at, ${earliestSend}), ${earliestSend}) END
     FROM unnest($1::text[], $2::bigint[]) AS u(id, at) WHERE q.endpoint_id = u.id`,
    [ids, ids.map((id) => at.get(id)), reason === 'work'],
  );
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
