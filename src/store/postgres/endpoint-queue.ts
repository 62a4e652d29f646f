// The PostgreSQL side of the scheduler's per-endpoint state (table endpoint_queue; src/domain/scheduler.ts): what
// every write that creates or reschedules deliveries must do so that claims look at their endpoint in time.
import type pg from 'pg';
import { queueStateToRow, QUEUE_STATE_COLUMNS } from '../rows.js';
import type { EndpointQueueState } from '../../domain/scheduler.js';
import { bigintArray, boolArray, floatArray, intArray, textArray } from './literals.js';
import { Prepared, runSql, sqlOf, type Sql } from './prepared.js';

/**
 * Makes each endpoint ready no later than its time, inside the caller's transaction ('work' and 'capacity' as in
 * the SQLite store: new work waits for the endpoint's next slot, probe or freed budget; capacity is now). The rows
 * are locked in id order (no deadlock with another ingest or an ack) and always written: a claim holding one of
 * them computed its readiness without this transaction's deliveries, so this update must wait for that claim and
 * apply on top of what it wrote (a conditional update could skip the row and strand the new deliveries).
 */
export async function readyBy(client: pg.PoolClient, at: ReadonlyMap<string, number>, reason: 'work' | 'capacity' = 'work'): Promise<void> {
  const statements = readyByStatements(at, reason);
  if (statements) await runSql(client, statements);
}

/** Locks the endpoints' queue rows in id order. */
const LOCK_QUEUE_ROWS = new Prepared('hookd_lock_queue_rows', ['text[]'], 'SELECT 1 FROM endpoint_queue WHERE endpoint_id = ANY($1) ORDER BY endpoint_id FOR UPDATE');

/** readyBy's update, for new work ($1 endpoint ids, $2 their times) or for freed capacity. */
function readyByUpdate(reason: 'work' | 'capacity'): Prepared {
  // From the row itself (its latest version once locked): when it could next send anything new.
  const earliestSend = reason === 'work' ? 'GREATEST(u.at, COALESCE(q.rate_next_at, u.at), COALESCE(q.circuit_retry_at, u.at))' : 'u.at';
  const readyAt = `LEAST(COALESCE(q.ready_at, ${earliestSend}), ${earliestSend})`;
  // New work for a saturated endpoint waits for its budget: a freed slot makes it ready, not the work.
  const newReadyAt = reason === 'work' ? `CASE WHEN q.saturated AND q.ready_at IS NOT NULL THEN q.ready_at ELSE ${readyAt} END` : readyAt;
  return new Prepared(
    `hookd_ready_by_${reason}`,
    ['text[]', 'bigint[]'],
    `UPDATE endpoint_queue q SET ready_at = ${newReadyAt} FROM unnest($1, $2) AS u(id, at) WHERE q.endpoint_id = u.id`,
  );
}
const READY_BY = { work: readyByUpdate('work'), capacity: readyByUpdate('capacity') };

/**
 * readyBy as statements without parameters (prepared statements EXECUTEd with literals), which a transaction can
 * send with its COMMIT in one round trip (PostgresDb.transaction's commitWith): the queue rows, which every ingest,
 * claim and ack of an endpoint wants, are then held only while the server commits, not across a round trip through
 * a busy event loop. Null when there is nothing to make ready.
 */
export function readyByStatements(at: ReadonlyMap<string, number>, reason: 'work' | 'capacity' = 'work'): Sql | null {
  if (at.size === 0) return null;
  const ids = [...at.keys()].sort();
  const idList = textArray(ids);
  const update = READY_BY[reason].execute(idList, bigintArray(ids.map((id) => at.get(id)!)));
  return ids.length > 1 ? sqlOf(LOCK_QUEUE_ROWS.execute(idList), update) : update;
}

/** Each scheduler column's SQL type where it is not bigint. */
const COLUMN_TYPES: Record<string, 'float8' | 'int' | 'bool'> = {
  concurrency: 'float8',
  slow_start_limit: 'float8',
  latency_ms: 'float8',
  failure_streak: 'int',
  circuit_openings: 'int',
  in_flight: 'int',
  saturated: 'bool',
};
const typeOf = (column: string): 'float8' | 'int' | 'bool' | 'bigint' => COLUMN_TYPES[column] ?? 'bigint';
const ARRAYS = { float8: floatArray, int: intArray, bigint: bigintArray };

/** Writes whole scheduler states: $1 the endpoint ids, then one array per scheduler column. */
const WRITE_QUEUE_STATES = new Prepared(
  'hookd_write_queue_states',
  ['text[]', ...QUEUE_STATE_COLUMNS.map((c) => `${typeOf(c)}[]`)],
  `UPDATE endpoint_queue q SET ${QUEUE_STATE_COLUMNS.map((c) => `${c} = u.${c}`).join(', ')}
   FROM unnest(${['$1', ...QUEUE_STATE_COLUMNS.map((_, i) => `$${i + 2}`)].join(', ')}) AS u(endpoint_id, ${QUEUE_STATE_COLUMNS.join(', ')})
   WHERE q.endpoint_id = u.endpoint_id`,
);

/**
 * Writes whole scheduler states (an ack's changes) in one statement without parameters, which the ack sends with its
 * COMMIT (the queue rows it locked are then held one round trip less). Null when nothing changed.
 */
export function writeQueueStatesStatement(states: ReadonlyMap<string, EndpointQueueState>): Sql | null {
  if (states.size === 0) return null;
  const ids = [...states.keys()];
  const rows = ids.map((id) => queueStateToRow(states.get(id)!));
  const column = (c: string): string => {
    const type = typeOf(c);
    return type === 'bool' ? boolArray(rows.map((r) => r[c] === 1)) : ARRAYS[type](rows.map((r) => r[c] as number | null));
  };
  return WRITE_QUEUE_STATES.execute(textArray(ids), ...QUEUE_STATE_COLUMNS.map(column));
}
