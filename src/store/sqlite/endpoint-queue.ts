// The SQLite side of the scheduler's per-endpoint state (table endpoint_queue; src/domain/scheduler.ts): what every
// write that creates or reschedules deliveries must do so that claims look at their endpoint in time.
import type { SqliteDb } from './db.js';

/**
 * Makes each endpoint ready no later than its time, inside the caller's transaction. readyAt is a lower bound: a
 * claim that finds less work corrects it.
 * - 'work' (new, resent or recovered deliveries): not sooner than the endpoint can send, i.e. its next rate-limit
 *   slot or its circuit's next probe; an endpoint at its full budget stays as it is (an ack that frees a slot makes
 *   it ready), so ingest never makes claims look at endpoints that cannot take anything.
 * - 'capacity' (released leases, a changed endpoint): at the time given, whatever the endpoint's state.
 */
export function readyBy(db: SqliteDb, at: ReadonlyMap<string, number>, reason: 'work' | 'capacity' = 'work'): void {
  const update = db.stmt(`
    UPDATE endpoint_queue SET ready_at = min(coalesce(ready_at, next.x), next.x)
    FROM (SELECT CASE WHEN @work THEN max(@at, coalesce(rate_next_at, @at), coalesce(circuit_retry_at, @at)) ELSE @at END AS x
          FROM endpoint_queue WHERE endpoint_id = @id) AS next
    WHERE endpoint_id = @id AND (ready_at IS NULL OR ready_at > @at) AND NOT (@work AND saturated = 1 AND ready_at IS NOT NULL)`);
  const work = reason === 'work' ? 1 : 0;
  for (const [endpointId, time] of at) update.run({ id: endpointId, at: time, work });
}
