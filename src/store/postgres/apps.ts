// What tenants configure, in PostgreSQL: applications, endpoints, event types and inbound sources.
import type { AppOps } from '../concerns.js';
import { AppCache } from '../app-cache.js';
import type { App, Endpoint, EventType, Page } from '../../domain/types.js';
import { pageQuery } from '../paging.js';
import { appFromRow, endpointFromRow, endpointToRow, eventTypeFromRow, eventTypeToRow, sourceFromRow, sourceToRow, toJson } from '../rows.js';
import type pg from 'pg';
import type { EventTypeChange, PageRequest, Source } from '../store.js';
import { $, type PostgresDb } from './db.js';
import { readyBy } from './endpoint-queue.js';
import { APP_HISTORY_TABLES, BATCH_ROWS, inBatches } from '../batched-writes.js';

/**
 * Forgets what the scheduler learnt about an endpoint (circuit breaker, adaptive limit). The row's `url` (which receiver
 * the state is about, for an ack that waited for the row's lock) is set by migration 20's trigger on the endpoint's
 * update, before this: whichever hookd changes a URL, so an older one during a rolling upgrade too.
 */
const RESET_SCHEDULER_STATE = `
  UPDATE endpoint_queue SET concurrency = NULL, slow_start_limit = NULL, saturated = FALSE, last_decrease_at = NULL,
    failure_streak = 0, circuit_opened_at = NULL, circuit_retry_at = NULL, circuit_openings = 0, latency_ms = NULL,
    rate_next_at = NULL
  WHERE endpoint_id = $1`;

/**
 * How long this process keeps an application it read, for ingest's lookups (getApp `recent`). Other processes write
 * applications too: a change made in one is seen by the others' ingest within this time (as an API key's
 * revocation is, src/api/auth.ts); a message for an application deleted or renamed meanwhile is refused by the
 * insert itself (no-app).
 */
const APP_CACHE_MS = 1000;

/** A connection of the pool, or one holding a transaction. */
type Queryable = Pick<pg.Pool, 'query'>;

async function insertEventType(db: PostgresDb, q: Queryable, eventType: EventType): Promise<void> {
  const row = eventTypeToRow(eventType);
  const columns = Object.keys(row);
  await db.uniqueOrConflict(`event type "${eventType.name}" already exists`, () =>
    q.query(`INSERT INTO event_type (${columns.join(', ')}) VALUES (${columns.map((_, i) => $(i + 1)).join(', ')})`, Object.values(row)),
  );
}

async function setEventType(q: Queryable, eventType: EventType): Promise<void> {
  const row = eventTypeToRow(eventType);
  const columns = Object.keys(row).filter((c) => c !== 'name' && c !== 'created_at');
  await q.query(`UPDATE event_type SET ${columns.map((c, i) => `${c} = ${$(i + 2)}`).join(', ')} WHERE name = $1`, [eventType.name, ...columns.map((c) => row[c])]);
}

export function postgresApps(db: PostgresDb): AppOps {
  const appCache = new AppCache(APP_CACHE_MS);
  /** After each write to applications: cleared once it is done, so no read made during it stays. */
  const forgetting = async <T>(write: Promise<T>): Promise<T> => {
    try {
      return await write;
    } finally {
      appCache.clear();
    }
  };

  return {
    // ---- Applications

    async createApp(app: App): Promise<void> {
      await forgetting(db.uniqueOrConflict(`an application with uid "${app.uid}" already exists`, () =>
        db.pool.query('INSERT INTO app (id, uid, name, metadata, rate_limit, ingest_rate_limit, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
          app.id,
          app.uid,
          app.name,
          toJson(app.metadata),
          app.rateLimit,
          app.ingestRateLimit,
          app.createdAt,
          app.updatedAt,
        ]),
      ));
    },

    async getApp(idOrUid: string, options?: { recent?: boolean }): Promise<App | null> {
      const cached = options?.recent ? appCache.get(idOrUid) : undefined;
      if (cached) return cached;
      const readFrom = appCache.readFrom();
      const app = await db.one('SELECT * FROM app WHERE id = $1 OR uid = $1 ORDER BY (id = $1) DESC LIMIT 1', [idOrUid], appFromRow);
      return app ? appCache.keep(idOrUid, app, readFrom) : null;
    },

    async listApps(page: PageRequest): Promise<Page<App>> {
      return db.paged('SELECT * FROM app', [], 'id', pageQuery(page, 'ascending'), appFromRow, (a) => a.id);
    },

    async updateApp(app: App): Promise<void> {
      await forgetting(db.uniqueOrConflict(`an application with uid "${app.uid}" already exists`, () =>
        db.pool.query('UPDATE app SET uid = $1, name = $2, metadata = $3, rate_limit = $4, ingest_rate_limit = $5, updated_at = $6 WHERE id = $7', [
          app.uid,
          app.name,
          toJson(app.metadata),
          app.rateLimit,
          app.ingestRateLimit,
          app.updatedAt,
          app.id,
        ]),
      ));
    },

    async deleteApp(id: string): Promise<void> {
      for (const table of APP_HISTORY_TABLES) {
        const batch = `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE app_id = $1 LIMIT $2)`;
        await inBatches(async () => (await db.pool.query(batch, [id, BATCH_ROWS])).rowCount ?? 0);
      }
      await forgetting(db.pool.query('DELETE FROM app WHERE id = $1', [id]));
    },

    // ---- Endpoints

    async createEndpoint(endpoint: Endpoint, maxPerApp = Infinity): Promise<boolean> {
      const row = endpointToRow(endpoint);
      const columns = Object.keys(row);
      return db.uniqueOrConflict(`an endpoint with uid "${endpoint.uid}" already exists`, () =>
        db.transaction(async (client) => {
          if (maxPerApp !== Infinity) {
            // Creates of one application's endpoints take its row in turn (NO KEY UPDATE: the key share that
            // inserting its messages takes does not wait for it), so each counts the ones committed before it.
            await client.query('SELECT 1 FROM app WHERE id = $1 FOR NO KEY UPDATE', [endpoint.appId]);
            const { n } = (await client.query('SELECT count(*)::int AS n FROM endpoint WHERE app_id = $1 AND deleted_at IS NULL', [endpoint.appId])).rows[0] as { n: number };
            if (n >= maxPerApp) return false;
          }
          await client.query(`INSERT INTO endpoint (${columns.join(', ')}) VALUES (${columns.map((_, i) => $(i + 1)).join(', ')})`, Object.values(row));
          await client.query('INSERT INTO endpoint_queue (endpoint_id, app_id) VALUES ($1, $2)', [endpoint.id, endpoint.appId]);
          return true;
        }),
      );
    },

    async getEndpoint(appId: string, idOrUid: string): Promise<Endpoint | null> {
      return db.one(
        'SELECT * FROM endpoint WHERE app_id = $1 AND (id = $2 OR uid = $2) AND deleted_at IS NULL ORDER BY (id = $2) DESC LIMIT 1',
        [appId, idOrUid],
        endpointFromRow,
      );
    },

    async listEndpoints(appId: string, page: PageRequest): Promise<Page<Endpoint>> {
      return db.paged('SELECT * FROM endpoint WHERE app_id = $1 AND deleted_at IS NULL', [appId], 'id', pageQuery(page, 'descending'), endpointFromRow, (e) => e.id);
    },

    async updateEndpoint(endpoint: Endpoint): Promise<void> {
      const row = endpointToRow(endpoint);
      const columns = Object.keys(row).filter((c) => c !== 'id' && c !== 'app_id' && c !== 'created_at');
      await db.uniqueOrConflict(`an endpoint with uid "${endpoint.uid}" already exists`, () =>
        db.transaction(async (client) => {
          const before = (await client.query('SELECT url FROM endpoint WHERE id = $1 FOR UPDATE', [endpoint.id])).rows[0] as { url: string } | undefined;
          await client.query(`UPDATE endpoint SET ${columns.map((c, i) => `${c} = ${$(i + 2)}`).join(', ')} WHERE id = $1`, [endpoint.id, ...columns.map((c) => row[c])]);
          // A new URL is a new receiver: its circuit and adaptive limit start afresh. Either way, waiting work is
          // looked at again (the endpoint may have been re-enabled, or its limits raised).
          if (before !== undefined && before.url !== endpoint.url) await client.query(RESET_SCHEDULER_STATE, [endpoint.id]);
          await readyBy(client, new Map([[endpoint.id, endpoint.updatedAt]]), 'capacity');
        }),
      );
    },

    async deleteEndpoint(appId: string, id: string, nowMs: number): Promise<void> {
      await db.transaction(async (client) => {
        await client.query('UPDATE endpoint SET deleted_at = $1, uid = NULL, updated_at = $1 WHERE id = $2 AND app_id = $3', [nowMs, id, appId]);
        // Ready now, not never: from here on a claim fails whatever the deleted endpoint still has (what the batches
        // below have not reached, what an ingest that read the endpoint before this delete commits for it after, what
        // a crash left) and then settles.
        await client.query('UPDATE endpoint_queue SET ready_at = $1, in_flight = 0 WHERE endpoint_id = $2', [nowMs, id]);
      });
      // Its backlog (maybe millions: one statement would pass the statement timeout), in bounded transactions.
      const batch = `UPDATE delivery SET status = 'failed', last_error = 'endpoint deleted', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
        WHERE id IN (SELECT id FROM delivery WHERE endpoint_id = $2 AND status = 'pending' LIMIT $3)`;
      await inBatches(async () => (await db.pool.query(batch, [nowMs, id, BATCH_ROWS])).rowCount ?? 0);
    },

    // ---- Event types

    async createEventType(eventType: EventType): Promise<void> {
      await insertEventType(db, db.pool, eventType);
    },

    async getEventType(name: string): Promise<EventType | null> {
      return db.one('SELECT * FROM event_type WHERE name = $1', [name], eventTypeFromRow);
    },

    async missingEventTypes(names: readonly string[]): Promise<string[]> {
      const { rows } = await db.pool.query<{ name: string }>('SELECT name FROM event_type WHERE archived = FALSE AND name = ANY($1)', [names]);
      const found = new Set(rows.map((row) => row.name));
      return names.filter((name) => !found.has(name));
    },

    async listEventTypes(page: PageRequest & { includeArchived: boolean }): Promise<Page<EventType>> {
      const select = page.includeArchived ? 'SELECT * FROM event_type' : 'SELECT * FROM event_type WHERE archived = FALSE';
      return db.paged(select, [], 'name', pageQuery(page, 'ascending'), eventTypeFromRow, (e) => e.name);
    },

    async updateEventType(eventType: EventType): Promise<void> {
      await setEventType(db.pool, eventType);
    },

    async saveEventTypes(changes: readonly EventTypeChange[]): Promise<void> {
      await db.transaction(async (client) => {
        for (const { eventType, created } of changes) await (created ? insertEventType(db, client, eventType) : setEventType(client, eventType));
      });
    },

    async deleteEventType(name: string, expunge: boolean, nowMs: number): Promise<boolean> {
      const result = expunge
        ? await db.pool.query('DELETE FROM event_type WHERE name = $1', [name])
        : await db.pool.query('UPDATE event_type SET archived = TRUE, updated_at = $2 WHERE name = $1', [name, nowMs]);
      return (result.rowCount ?? 0) > 0;
    },

    // ---- Inbound sources

    async createSource(source: Source): Promise<void> {
      const row = sourceToRow(source);
      const columns = Object.keys(row);
      await db.pool.query(`INSERT INTO source (${columns.join(', ')}) VALUES (${columns.map((_, i) => $(i + 1)).join(', ')})`, Object.values(row));
    },

    async getSource(appId: string, id: string): Promise<Source | null> {
      return db.one('SELECT * FROM source WHERE id = $1 AND app_id = $2', [id, appId], sourceFromRow);
    },

    async findSource(id: string): Promise<Source | null> {
      return db.one('SELECT * FROM source WHERE id = $1', [id], sourceFromRow);
    },

    async listSources(appId: string, page: PageRequest): Promise<Page<Source>> {
      return db.paged('SELECT * FROM source WHERE app_id = $1', [appId], 'id', pageQuery(page, 'ascending'), sourceFromRow, (s) => s.id);
    },

    async updateSource(source: Source): Promise<void> {
      const row = sourceToRow(source);
      const columns = Object.keys(row).filter((c) => c !== 'id' && c !== 'app_id' && c !== 'created_at');
      await db.pool.query(`UPDATE source SET ${columns.map((c, i) => `${c} = ${$(i + 3)}`).join(', ')} WHERE id = $1 AND app_id = $2`, [
        source.id,
        source.appId,
        ...columns.map((c) => row[c]),
      ]);
    },

    async deleteSource(appId: string, id: string): Promise<boolean> {
      return ((await db.pool.query('DELETE FROM source WHERE id = $1 AND app_id = $2', [id, appId])).rowCount ?? 0) > 0;
    },
  };
}
