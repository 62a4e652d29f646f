// Administration in PostgreSQL: API keys, idempotency keys (begin/finish), background tasks and retention (purging old
// messages, keys and tasks).
import type { AdminOps } from '../concerns.js';
import type { ApiKey, BackgroundTask, Page } from '../../domain/types.js';
import { idLowerBound } from '../retention.js';
import { pageQuery } from '../paging.js';
import { API_KEY_COLUMNS, apiKeyFromRow, apiKeyValues, backgroundTaskFromRow, toJson } from '../rows.js';
import { keyState } from '../idempotency-keys.js';
import type { BackgroundTaskFilter, IdempotencyState, PageRequest, PurgeResult, StoredResponse } from '../store.js';
import type pg from 'pg';
import { FIRST_ADMIN_KEY_LOCK, type PostgresDb, type Row } from './db.js';

export function postgresAdmin(db: PostgresDb): AdminOps {
  return {
    // ---- API keys

    async createApiKey(key: ApiKey, sha256Hash: string): Promise<void> {
      await db.pool.query(`INSERT INTO api_key (${API_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, apiKeyValues(key, sha256Hash, (b) => b));
    },

    async createFirstAdminKey(key: ApiKey, sha256Hash: string): Promise<boolean> {
      // Under READ COMMITTED two processes' INSERT ... WHERE NOT EXISTS would each see no key and both insert. The lock
      // makes the second wait for the first's commit; its INSERT, a statement begun after that, then sees that key.
      return db.transaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [FIRST_ADMIN_KEY_LOCK]);
        const inserted = await client.query(
          `INSERT INTO api_key (${API_KEY_COLUMNS}) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
           WHERE NOT EXISTS (SELECT 1 FROM api_key WHERE app_id IS NULL AND revoked_at IS NULL)`,
          apiKeyValues(key, sha256Hash, (b) => b),
        );
        return (inserted.rowCount ?? 0) > 0;
      });
    },

    async findApiKeyByHash(sha256Hash: string): Promise<ApiKey | null> {
      return db.one('SELECT * FROM api_key WHERE sha256_hash = $1 AND revoked_at IS NULL', [sha256Hash], apiKeyFromRow);
    },

    async listApiKeys(): Promise<ApiKey[]> {
      return (await db.pool.query('SELECT * FROM api_key ORDER BY id')).rows.map(apiKeyFromRow);
    },

    async revokeApiKey(id: string, nowMs: number): Promise<boolean> {
      return ((await db.pool.query('UPDATE api_key SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [nowMs, id])).rowCount ?? 0) > 0;
    },

    async expirePortalTokens(appId: string, atMs: number): Promise<number> {
      return (await db.pool.query('UPDATE api_key SET expires_at = $1 WHERE app_id = $2 AND expires_at > $1 AND revoked_at IS NULL', [atMs, appId])).rowCount ?? 0;
    },

    // ---- Idempotency

    async beginIdempotent(scope: string, key: string, requestHash: string, nowMs: number, staleMs: number, ttlMs: number): Promise<IdempotencyState> {
      return db.transaction(async (client): Promise<IdempotencyState> => {
        let row: Row | undefined;
        // The key another request holds can go between the two statements (its 5xx forgets it, the purge deletes it
        // when expired): then it is this request's to take after all.
        for (let tries = 0; row === undefined; tries++) {
          const created = await client.query('INSERT INTO idempotency (scope, key, request_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [scope, key, requestHash, nowMs]);
          if ((created.rowCount ?? 0) > 0) return { state: 'new' };
          row = (await client.query('SELECT * FROM idempotency WHERE scope = $1 AND key = $2 FOR UPDATE', [scope, key])).rows[0] as Row | undefined;
          if (row === undefined && tries >= 2) return { state: 'in_progress' };
        }
        const answer = keyState(row, requestHash, nowMs, staleMs, ttlMs);
        if (answer) return answer;
        // Taken: an expired or stale key started over.
        await client.query('UPDATE idempotency SET request_hash = $1, response_status = NULL, response_body = NULL, created_at = $2 WHERE scope = $3 AND key = $4', [requestHash, nowMs, scope, key]);
        return { state: 'new' };
      });
    },

    async finishIdempotent(scope: string, key: string, response: StoredResponse | null): Promise<void> {
      if (response === null) await db.pool.query('DELETE FROM idempotency WHERE scope = $1 AND key = $2', [scope, key]);
      else await db.pool.query('UPDATE idempotency SET response_status = $1, response_body = $2 WHERE scope = $3 AND key = $4', [response.status, response.body, scope, key]);
    },

    // ---- Retention. Several workers may purge at once: each locks its messages with SKIP LOCKED, so they purge
    // disjoint messages and nobody waits.

    async purgeMessages(beforeMs: number, limit: number, startAfter = ''): Promise<PurgeResult> {
      return db.transaction(async (client): Promise<PurgeResult> => {
        const purged = { messages: 0, deliveries: 0, attempts: 0 };
        const bound = idLowerBound('msg', beforeMs);
        let left = limit;
        let after = startAfter;
        let passedOver = 0;
        let more = false;
        // Through the messages below the bound in id order, a range at a time, until `limit` rows are deleted or none
        // is left. No statement reads, locks or deletes more than about `left` rows, however widely the messages fanned
        // out, but for the deliveries of the one message that does not fit (HOOKD_MAX_ENDPOINTS_PER_APP at most); and
        // once `limit` messages kept for a pending delivery were passed over (a range may take it to twice that), the call
        // stops (PurgeResult.more).
        while (left > 0) {
          if (passedOver >= limit) {
            more = true;
            break;
          }
          const range = await nextRange(client, after, bound, left);
          passedOver += range.pending.length;
          // The range's messages but those seen pending, locked (skipping what another worker holds).
          const taking = left;
          const candidates = (
            await client.query(
              `SELECT id FROM message WHERE id > $1 AND id < $2 AND id <= $3 AND created_at < $4 AND id <> ALL($5)
               ORDER BY id LIMIT $6 FOR UPDATE SKIP LOCKED`,
              [after, bound, range.end, beforeMs, range.pending, taking],
            )
          ).rows.map((r) => r.id as string);
          if (candidates.length === 0) {
            if (range.end === bound) break;
            after = range.end;
            continue;
          }
          // Locked messages get no new delivery (its foreign key check waits for us); locking their deliveries too means
          // none turns pending (resend, recovery) before the delete, and no attempt is recorded for one (its ack waits
          // for us): a pending delivery is never lost, and the rows counted from here on are the rows deleted. The
          // range holds no more deliveries than are left to delete, but for its last message's.
          const deliveryCounts = new Map<string, number>();
          const pending = new Set<string>();
          for (const d of (await client.query('SELECT message_id, status FROM delivery WHERE message_id = ANY($1) ORDER BY id FOR UPDATE', [candidates])).rows) {
            const id = d.message_id as string;
            deliveryCounts.set(id, (deliveryCounts.get(id) ?? 0) + 1);
            if (d.status === 'pending') pending.add(id);
          }
          const purgeable = candidates.filter((id) => !pending.has(id));
          const attemptCounts = await countsByMessage(client, 'SELECT message_id, false AS pending FROM attempt WHERE message_id = ANY($1) ORDER BY message_id, id LIMIT $2', [purgeable, left]);
          // Whole messages while they fit; the first that does not (or whose attempts were not all read) takes the rest.
          const whole: string[] = [];
          let rows = 0;
          let partial: string | null = null;
          for (const id of purgeable) {
            const size = 1 + (deliveryCounts.get(id) ?? 0) + (attemptCounts.counts.get(id)?.rows ?? 0);
            if (rows + size > left || id === attemptCounts.cut) {
              partial = id;
              break;
            }
            whole.push(id);
            rows += size;
          }
          if (whole.length > 0) {
            const attempts = (await client.query('DELETE FROM attempt WHERE message_id = ANY($1)', [whole])).rowCount ?? 0;
            const deliveries = (await client.query('DELETE FROM delivery WHERE message_id = ANY($1)', [whole])).rowCount ?? 0;
            const messages = (await client.query('DELETE FROM message WHERE id = ANY($1)', [whole])).rowCount ?? 0;
            add(purged, { messages, deliveries, attempts });
            left -= messages + deliveries + attempts;
          }
          if (partial === null) {
            // Every candidate dealt with: on after the last one, or after the range when it had no more.
            if (candidates.length === taking) after = candidates.at(-1)!;
            else if (range.end === bound) break;
            else after = range.end;
            continue;
          }
          // The next transaction starts with this one (it is the oldest left then).
          after = whole.at(-1) ?? after;
          if (left === 0) break;
          // More rows than are left: its attempts, then its deliveries, as far as the budget goes; the rest, and the
          // message, in the next transactions. ANY(ARRAY(...)): probes of the primary key (an IN joins the whole table
          // by hash).
          const attempts = (await client.query('DELETE FROM attempt WHERE id = ANY(ARRAY(SELECT id FROM attempt WHERE message_id = $1 ORDER BY id LIMIT $2))', [partial, left])).rowCount ?? 0;
          left -= attempts;
          const deliveries = left === 0 ? 0 : ((await client.query('DELETE FROM delivery WHERE id = ANY(ARRAY(SELECT id FROM delivery WHERE message_id = $1 ORDER BY endpoint_id LIMIT $2))', [partial, left])).rowCount ?? 0);
          left -= deliveries;
          add(purged, { messages: 0, deliveries, attempts });
          // Budget left only when its rows went meanwhile (an application being deleted): counted again next step.
          if (attempts + deliveries === 0) break;
        }
        return { ...purged, resumeAfter: after, more };
      });
    },

    async purgeIdempotencyKeys(beforeMs: number, limit: number): Promise<number> {
      const result = await db.pool.query(
        `DELETE FROM idempotency i USING (SELECT scope, key FROM idempotency WHERE created_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) x
         WHERE i.scope = x.scope AND i.key = x.key`,
        [beforeMs, limit],
      );
      return result.rowCount ?? 0;
    },

    async purgeExpiredApiKeys(beforeMs: number, limit: number): Promise<number> {
      const result = await db.pool.query(
        'DELETE FROM api_key k USING (SELECT id FROM api_key WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) x WHERE k.id = x.id',
        [beforeMs, limit],
      );
      return result.rowCount ?? 0;
    },

    async purgeBackgroundTasks(beforeMs: number, limit: number): Promise<number> {
      const result = await db.pool.query(
        'DELETE FROM background_task t USING (SELECT id FROM background_task WHERE updated_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED) x WHERE t.id = x.id',
        [beforeMs, limit],
      );
      return result.rowCount ?? 0;
    },

    // ---- Background tasks

    async saveBackgroundTask(task: BackgroundTask): Promise<void> {
      await db.pool.query('INSERT INTO background_task (id, app_id, task, status, data, updated_at) VALUES ($1, $2, $3, $4, $5, $6)', [
        task.id,
        task.appId,
        task.task,
        task.status,
        toJson(task.data),
        task.updatedAt,
      ]);
    },

    async getBackgroundTask(id: string, appId: string | null): Promise<BackgroundTask | null> {
      return db.one('SELECT * FROM background_task WHERE id = $1 AND ($2::text IS NULL OR app_id = $2)', [id, appId], backgroundTaskFromRow);
    },

    async listBackgroundTasks(filter: BackgroundTaskFilter, page: PageRequest): Promise<Page<BackgroundTask>> {
      const where: string[] = [];
      const params: unknown[] = [];
      for (const [column, value] of [['app_id', filter.appId], ['status', filter.status], ['task', filter.task]] as const) {
        if (value === null || value === undefined) continue;
        params.push(value);
        where.push(`${column} = $${params.length}`);
      }
      const select = `SELECT * FROM background_task${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`;
      return db.paged(select, params, 'id', pageQuery(page, 'descending'), backgroundTaskFromRow, (t) => t.id);
    },
  };
}

/** The next messages to purge: those after the last one up to `end`, inclusive, but those seen `pending`. */
interface PurgeRange {
  end: string;
  /** Messages seen with a pending delivery: neither locked nor purged. */
  pending: string[];
}

/** Rows per message, in message order, read up to a limit: `cut` is the last message when the limit was reached. */
interface MessageCounts {
  counts: Map<string, { rows: number; pending: boolean }>;
  cut: string | null;
}

/**
 * The next messages after `after` to lock for a purge of `left` more rows. Their deliveries are read in message order,
 * `left` at most (also the pending check: a NOT EXISTS per message let the planner walk the partial index of every
 * pending delivery for each message); the range ends at the first message not pending whose rows (itself and its
 * deliveries, at least) no longer fit, or at the last one read when the read was cut, or at `bound` when every
 * delivery up to it was read. So the range's messages have at most `left` deliveries, but for its last message's.
 */
async function nextRange(client: pg.PoolClient, after: string, bound: string, left: number): Promise<PurgeRange> {
  const deliveries = await countsByMessage(
    client,
    `SELECT message_id, status = 'pending' AS pending FROM delivery WHERE message_id > $1 AND message_id < $2 ORDER BY message_id, endpoint_id LIMIT $3`,
    [after, bound, left],
  );
  const pending = [...deliveries.counts].filter(([, d]) => d.pending).map(([id]) => id);
  let rows = 0;
  for (const [id, d] of deliveries.counts) {
    if (d.pending) continue;
    rows += 1 + d.rows;
    if (rows > left) return { end: id, pending };
  }
  return { end: deliveries.cut ?? bound, pending };
}

/** The rows of `select` (message_id and pending, in message order, limited to its last parameter) per message. */
async function countsByMessage(client: pg.PoolClient, select: string, values: unknown[]): Promise<MessageCounts> {
  const { rows } = await client.query(`SELECT message_id, count(*)::int AS n, bool_or(pending) AS pending FROM (${select}) r GROUP BY message_id ORDER BY message_id`, values);
  const counts = new Map(rows.map((r) => [r.message_id as string, { rows: r.n as number, pending: r.pending as boolean }]));
  const read = rows.reduce((sum, r) => sum + (r.n as number), 0);
  return { counts, cut: read >= (values.at(-1) as number) ? ((rows.at(-1)?.message_id as string | undefined) ?? null) : null };
}

/** What a purge counts. */
type Counted = Omit<PurgeResult, 'resumeAfter' | 'more'>;

function add(total: Counted, batch: Counted): void {
  total.messages += batch.messages;
  total.deliveries += batch.deliveries;
  total.attempts += batch.attempts;
}
