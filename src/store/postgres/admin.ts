// Administration in PostgreSQL: API keys, idempotency keys (begin/finish) and retention (purging old messages and keys).
import type { AdminOps } from '../concerns.js';
import type { ApiKey } from '../../domain/types.js';
import { idLowerBound } from '../retention.js';
import { apiKeyFromRow, toJson } from '../rows.js';
import { keyState } from '../idempotency-keys.js';
import type { IdempotencyState, PurgeResult, StoredResponse } from '../store.js';
import type { PostgresDb, Row } from './db.js';

export function postgresAdmin(db: PostgresDb): AdminOps {
  return {
    // ---- API keys

    async createApiKey(key: ApiKey, sha256Hash: string): Promise<void> {
      await db.pool.query('INSERT INTO api_key (id, app_id, name, prefix, sha256_hash, created_at, revoked_at, expires_at, read_only, capabilities) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [
        key.id,
        key.appId,
        key.name,
        key.prefix,
        sha256Hash,
        key.createdAt,
        key.revokedAt,
        key.expiresAt,
        key.readOnly,
        toJson(key.capabilities),
      ]);
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

    // ---- Retention. Several workers may purge at once: each locks its batch of messages with SKIP LOCKED,
    // so batches are disjoint and nobody waits.

    async purgeMessages(beforeMs: number, limit: number): Promise<PurgeResult> {
      return db.transaction(async (client): Promise<PurgeResult> => {
        const candidates = (
          await client.query(
            `SELECT id FROM message m WHERE m.id < $1 AND m.created_at < $2
               AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.message_id = m.id AND d.status = 'pending')
             ORDER BY m.id LIMIT $3 FOR UPDATE SKIP LOCKED`,
            [idLowerBound('msg', beforeMs), beforeMs, limit],
          )
        ).rows.map((r) => r.id as string);
        if (candidates.length === 0) return { messages: 0, deliveries: 0, attempts: 0 };
        // Locked messages get no new delivery (its foreign key check waits for us); locking their deliveries too
        // means none turns pending (resend) between the check below and the delete: a pending delivery is never lost.
        const deliveries = (await client.query('SELECT message_id, status FROM delivery WHERE message_id = ANY($1) ORDER BY id FOR UPDATE', [candidates])).rows;
        const pending = new Set(deliveries.filter((d) => d.status === 'pending').map((d) => d.message_id as string));
        const ids = candidates.filter((id) => !pending.has(id));
        const attempts = (await client.query('DELETE FROM attempt WHERE message_id = ANY($1)', [ids])).rowCount ?? 0;
        const deleted = (await client.query('DELETE FROM delivery WHERE message_id = ANY($1)', [ids])).rowCount ?? 0;
        const messages = (await client.query('DELETE FROM message WHERE id = ANY($1)', [ids])).rowCount ?? 0;
        return { messages, deliveries: deleted, attempts };
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
  };
}
