// Administration in SQLite: API keys, idempotency keys (begin/finish), background tasks and retention (purging old
// messages, keys and tasks).
import type { ApiKey, BackgroundTask, Page } from '../../domain/types.js';
import { PURGE_PAGE, idLowerBound } from '../retention.js';
import { pageQuery } from '../paging.js';
import { API_KEY_COLUMNS, apiKeyFromRow, apiKeyValues, backgroundTaskFromRow, toJson } from '../rows.js';
import { keyState } from '../idempotency-keys.js';
import type { BackgroundTaskFilter, IdempotencyState, PageRequest, PurgeResult, StoredResponse } from '../store.js';
import type { AdminOps } from '../concerns.js';
import type { Row, SqliteDb } from './db.js';

export function sqliteAdmin(db: SqliteDb): AdminOps {
  return {
    // ---- API keys

    async createApiKey(key: ApiKey, sha256Hash: string): Promise<void> {
      db.committed('full', () => db.stmt(`INSERT INTO api_key (${API_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...apiKeyValues(key, sha256Hash, (b) => (b ? 1 : 0))));
    },

    async createFirstAdminKey(key: ApiKey, sha256Hash: string): Promise<boolean> {
      // One statement: SQLite runs it under the database's write lock, so no other connection inserts in between.
      const insert = db.stmt(
        `INSERT INTO api_key (${API_KEY_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM api_key WHERE app_id IS NULL AND revoked_at IS NULL)`,
      );
      return db.committed('full', () => insert.run(...apiKeyValues(key, sha256Hash, (b) => (b ? 1 : 0))).changes > 0);
    },

    async findApiKeyByHash(sha256Hash: string): Promise<ApiKey | null> {
      const row = db.stmt('SELECT * FROM api_key WHERE sha256_hash = ? AND revoked_at IS NULL').get(sha256Hash) as Row | undefined;
      return row ? apiKeyFromRow(row) : null;
    },

    async listApiKeys(): Promise<ApiKey[]> {
      return (db.prepare('SELECT * FROM api_key ORDER BY id').all() as Row[]).map(apiKeyFromRow);
    },

    async revokeApiKey(id: string, nowMs: number): Promise<boolean> {
      return db.committed('full', () => db.prepare('UPDATE api_key SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(nowMs, id).changes > 0);
    },

    async expirePortalTokens(appId: string, atMs: number): Promise<number> {
      return db.committed('full', () => db.prepare('UPDATE api_key SET expires_at = ? WHERE app_id = ? AND expires_at > ? AND revoked_at IS NULL').run(atMs, appId, atMs).changes);
    },

    // ---- Idempotency

    async beginIdempotent(scope: string, key: string, requestHash: string, nowMs: number, staleMs: number, ttlMs: number): Promise<IdempotencyState> {
      const read = () => db.stmt('SELECT * FROM idempotency WHERE scope = ? AND key = ?').get(scope, key) as Row | undefined;
      // An answer that writes nothing (a replay, a mismatch, a key in progress: what a repeat waiting for its first
      // request asks again and again) is read without a write transaction and its sync.
      const answer = keyState(read(), requestHash, nowMs, staleMs, ttlMs);
      if (answer) return answer;
      return db.transaction((): IdempotencyState => {
        const row = read();
        const again = keyState(row, requestHash, nowMs, staleMs, ttlMs);
        if (again) return again;
        // Taken: a new key, or an expired or stale one started over.
        if (row) db.stmt('UPDATE idempotency SET request_hash = ?, response_status = NULL, response_body = NULL, created_at = ? WHERE scope = ? AND key = ?').run(requestHash, nowMs, scope, key);
        else db.stmt('INSERT INTO idempotency (scope, key, request_hash, created_at) VALUES (?, ?, ?, ?)').run(scope, key, requestHash, nowMs);
        return { state: 'new' };
      });
    },

    async finishIdempotent(scope: string, key: string, response: StoredResponse | null): Promise<void> {
      db.committed('full', () => {
        if (response === null) db.stmt('DELETE FROM idempotency WHERE scope = ? AND key = ?').run(scope, key);
        else db.stmt('UPDATE idempotency SET response_status = ?, response_body = ? WHERE scope = ? AND key = ?').run(response.status, response.body, scope, key);
      });
    },

    // ---- Background tasks

    async saveBackgroundTask(task: BackgroundTask): Promise<void> {
      db.committed('full', () =>
        db
          .stmt('INSERT INTO background_task (id, app_id, task, status, data, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(task.id, task.appId, task.task, task.status, toJson(task.data), task.updatedAt),
      );
    },

    async getBackgroundTask(id: string, appId: string | null): Promise<BackgroundTask | null> {
      const row = db.stmt('SELECT * FROM background_task WHERE id = ? AND (? IS NULL OR app_id = ?)').get(id, appId, appId) as Row | undefined;
      return row ? backgroundTaskFromRow(row) : null;
    },

    async listBackgroundTasks(filter: BackgroundTaskFilter, page: PageRequest): Promise<Page<BackgroundTask>> {
      const where: string[] = [];
      const params: unknown[] = [];
      for (const [column, value] of [['app_id', filter.appId], ['status', filter.status], ['task', filter.task]] as const) {
        if (value === null || value === undefined) continue;
        where.push(`${column} = ?`);
        params.push(value);
      }
      const select = `SELECT * FROM background_task${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`;
      return db.paged(select, params, 'id', pageQuery(page, 'descending'), backgroundTaskFromRow, (t) => t.id);
    },

    // ---- Retention: one immediate transaction per batch; the maintenance loop yields between batches.

    async purgeMessages(beforeMs: number, limit: number, startAfter = ''): Promise<PurgeResult> {
      // The messages after `after` in id order, a page at a time, each with whether it has a pending delivery; then a
      // message's rows, counted up to what is left.
      const page = db.stmt(`
        SELECT id, EXISTS (SELECT 1 FROM delivery d WHERE d.message_id = m.id AND d.status = 'pending') AS pending
        FROM message m WHERE m.id > ? AND m.id < ? AND m.created_at < ? ORDER BY m.id LIMIT +?`);
      const countDeliveries = db.stmt('SELECT count(*) FROM (SELECT 1 FROM delivery WHERE message_id = ? LIMIT +?)').pluck();
      const countAttempts = db.stmt('SELECT count(*) FROM (SELECT 1 FROM attempt WHERE message_id = ? LIMIT +?)').pluck();
      const bound = idLowerBound('msg', beforeMs);
      const pageSize = Math.min(limit, PURGE_PAGE);
      // Waits for the delivery thread's writes without holding the event loop, as an application's deletion does.
      return db.whenWritable(() =>
        db.transaction((): PurgeResult => {
          let left = limit;
          let after = startAfter;
          let passedOver = 0;
          const whole: string[] = [];
          let partial: string | null = null;
          let more = false;
          // Whole messages while they fit in `limit` rows (each with its deliveries and attempts); the first that does
          // not takes what is left. No message's rows are read beyond the budget, and no more than `limit` messages
          // kept for a pending delivery are passed over (PurgeResult.more).
          walk: while (left > 0) {
            const rows = page.all(after, bound, beforeMs, pageSize) as Row[];
            for (const row of rows) {
              const id = row.id as string;
              if (row.pending === 1) {
                if (passedOver === limit) {
                  more = true;
                  break walk;
                }
                passedOver++;
                after = id;
                continue;
              }
              const deliveries = countDeliveries.get(id, left) as number;
              const size = 1 + deliveries + (deliveries >= left ? 0 : (countAttempts.get(id, left - deliveries) as number));
              if (size > left) {
                partial = id;
                break walk;
              }
              whole.push(id);
              left -= size;
              after = id;
              if (left === 0) break walk;
            }
            if (rows.length < pageSize) break;
          }
          const ids = JSON.stringify(whole);
          const attempts = db.stmt('DELETE FROM attempt WHERE message_id IN (SELECT value FROM json_each(?))').run(ids).changes;
          const deliveries = db.stmt('DELETE FROM delivery WHERE message_id IN (SELECT value FROM json_each(?))').run(ids).changes;
          const messages = db.stmt('DELETE FROM message WHERE id IN (SELECT value FROM json_each(?))').run(ids).changes;
          const purged = { messages, deliveries, attempts, resumeAfter: after, more };
          if (partial !== null && left > 0) {
            // More rows than are left: its attempts, then its deliveries, as far as the budget goes; the rest, and the
            // message, in the next transactions (it is the oldest left then, right after `resumeAfter`).
            purged.attempts += db.stmt('DELETE FROM attempt WHERE rowid IN (SELECT rowid FROM attempt WHERE message_id = ? LIMIT +?)').run(partial, left).changes;
            left = limit - purged.messages - purged.deliveries - purged.attempts;
            if (left > 0) purged.deliveries += db.stmt('DELETE FROM delivery WHERE rowid IN (SELECT rowid FROM delivery WHERE message_id = ? LIMIT +?)').run(partial, left).changes;
          }
          return purged;
        }),
      );
    },

    async purgeIdempotencyKeys(beforeMs: number, limit: number): Promise<number> {
      return db.committed('full', () => db.stmt('DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE created_at <= ? LIMIT +?)').run(beforeMs, limit).changes);
    },

    async purgeExpiredApiKeys(beforeMs: number, limit: number): Promise<number> {
      return db.committed('full', () => db.stmt('DELETE FROM api_key WHERE rowid IN (SELECT rowid FROM api_key WHERE expires_at <= ? LIMIT +?)').run(beforeMs, limit).changes);
    },

    async purgeBackgroundTasks(beforeMs: number, limit: number): Promise<number> {
      return db.committed('full', () => db.stmt('DELETE FROM background_task WHERE rowid IN (SELECT rowid FROM background_task WHERE updated_at < ? LIMIT +?)').run(beforeMs, limit).changes);
    },
  };
}
