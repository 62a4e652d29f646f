// What tenants configure, in SQLite: applications, endpoints, event types and inbound sources.
import type { App, Endpoint, EventType, Page } from '../../domain/types.js';
import { pageQuery } from '../paging.js';
import { appFromRow, endpointFromRow, endpointToRow, eventTypeFromRow, eventTypeToRow, sourceFromRow, sourceToRow, toJson } from '../rows.js';
import type { EventTypeChange, PageRequest, Source } from '../store.js';
import type { AppOps } from '../concerns.js';
import { AppCache } from '../app-cache.js';
import type { Row, SqliteDb } from './db.js';
import { APP_HISTORY_TABLES, BATCH_ROWS, inBatches } from '../batched-writes.js';
import { readyBy } from './endpoint-queue.js';

/** Forgets what the scheduler learnt about an endpoint (circuit breaker, adaptive limit). */
const RESET_SCHEDULER_STATE = `
  UPDATE endpoint_queue SET concurrency = NULL, slow_start_limit = NULL, saturated = 0, last_decrease_at = NULL,
    failure_streak = 0, circuit_opened_at = NULL, circuit_retry_at = NULL, circuit_openings = 0, latency_ms = NULL,
    rate_next_at = NULL
  WHERE endpoint_id = ?`;

function insertEventType(db: SqliteDb, eventType: EventType): void {
  const row = eventTypeToRow(eventType);
  const columns = Object.keys(row);
  db.uniqueOrConflict(`event type "${eventType.name}" already exists`, () =>
    db.prepare(`INSERT INTO event_type (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`).run(row),
  );
}

function setEventType(db: SqliteDb, eventType: EventType): void {
  const row = eventTypeToRow(eventType);
  const columns = Object.keys(row).filter((c) => c !== 'name' && c !== 'created_at');
  db.committed('full', () => db.prepare(`UPDATE event_type SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE name = @name`).run(row));
}

export function sqliteApps(db: SqliteDb): AppOps {
  // Every write to the app table goes through one connection, the API process's (hookd start serves the file alone;
  // its threads write no applications), and clears the cache, so its answers are kept until then.
  const appCache = new AppCache(Number.POSITIVE_INFINITY);
  const forgetApps = (): void => appCache.clear();

  return {
    // ---- Applications

    async createApp(app: App): Promise<void> {
      forgetApps();
      db.uniqueOrConflict(`an application with uid "${app.uid}" already exists`, () =>
        db
          .prepare('INSERT INTO app (id, uid, name, metadata, rate_limit, ingest_rate_limit, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
          .run(app.id, app.uid, app.name, toJson(app.metadata), app.rateLimit, app.ingestRateLimit, app.createdAt, app.updatedAt),
      );
    },

    async getApp(idOrUid: string): Promise<App | null> {
      // This process is the only writer: what it remembers is always what the database holds (recent or not).
      const cached = appCache.get(idOrUid);
      if (cached) return cached;
      const readFrom = appCache.readFrom();
      const row = db.stmt('SELECT * FROM app WHERE id = ? OR uid = ? ORDER BY id = ? DESC LIMIT 1').get(idOrUid, idOrUid, idOrUid) as Row | undefined;
      return row ? appCache.keep(idOrUid, appFromRow(row), readFrom) : null;
    },

    async listApps(page: PageRequest): Promise<Page<App>> {
      return db.paged('SELECT * FROM app', [], 'id', pageQuery(page, 'ascending'), appFromRow, (a) => a.id);
    },

    async updateApp(app: App): Promise<void> {
      forgetApps();
      db.uniqueOrConflict(`an application with uid "${app.uid}" already exists`, () =>
        db
          .prepare('UPDATE app SET uid = ?, name = ?, metadata = ?, rate_limit = ?, ingest_rate_limit = ?, updated_at = ? WHERE id = ?')
          .run(app.uid, app.name, toJson(app.metadata), app.rateLimit, app.ingestRateLimit, app.updatedAt, app.id),
      );
    },

    async deleteApp(id: string): Promise<void> {
      forgetApps();
      // Each batch commits on its own, and the event loop (every tenant's requests) has its turn between them.
      for (const table of APP_HISTORY_TABLES) {
        const batch = db.stmt(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE app_id = ? LIMIT +?)`);
        await inBatches(() => db.whenWritable(() => db.transaction(() => batch.run(id, BATCH_ROWS).changes)));
      }
      await db.whenWritable(() => db.transaction(() => db.stmt('DELETE FROM app WHERE id = ?').run(id)));
      forgetApps();
    },

    // ---- Endpoints

    async createEndpoint(endpoint: Endpoint, maxPerApp = Infinity): Promise<boolean> {
      const row = endpointToRow(endpoint);
      const columns = Object.keys(row);
      return db.transaction(() => {
        // In the write transaction: creates are serialised, each counts the ones committed before it.
        if (maxPerApp !== Infinity && (db.stmt('SELECT count(*) FROM endpoint WHERE app_id = ? AND deleted_at IS NULL').pluck().get(endpoint.appId) as number) >= maxPerApp) return false;
        db.uniqueOrConflict(`an endpoint with uid "${endpoint.uid}" already exists`, () =>
          db.prepare(`INSERT INTO endpoint (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`).run(row),
        );
        db.stmt('INSERT INTO endpoint_queue (endpoint_id, app_id) VALUES (?, ?)').run(endpoint.id, endpoint.appId);
        return true;
      });
    },

    async getEndpoint(appId: string, idOrUid: string): Promise<Endpoint | null> {
      const row = db.stmt(
        'SELECT * FROM endpoint WHERE app_id = ? AND (id = ? OR uid = ?) AND deleted_at IS NULL ORDER BY id = ? DESC LIMIT 1',
      ).get(appId, idOrUid, idOrUid, idOrUid) as Row | undefined;
      return row ? endpointFromRow(row) : null;
    },

    async listEndpoints(appId: string, page: PageRequest): Promise<Page<Endpoint>> {
      return db.paged(
        'SELECT * FROM endpoint WHERE app_id = ? AND deleted_at IS NULL',
        [appId],
        'id',
        pageQuery(page, 'descending'),
        endpointFromRow,
        (e) => e.id,
      );
    },

    async updateEndpoint(endpoint: Endpoint): Promise<void> {
      const row = endpointToRow(endpoint);
      const columns = Object.keys(row).filter((c) => c !== 'id' && c !== 'app_id' && c !== 'created_at');
      db.transaction(() => {
        const before = db.stmt('SELECT url FROM endpoint WHERE id = ?').pluck().get(endpoint.id) as string | undefined;
        db.uniqueOrConflict(`an endpoint with uid "${endpoint.uid}" already exists`, () =>
          db.prepare(`UPDATE endpoint SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`).run(row),
        );
        // A new URL is a new receiver: its circuit and adaptive limit start afresh. Either way, waiting work is
        // looked at again (the endpoint may have been re-enabled, or its limits raised).
        if (before !== undefined && before !== endpoint.url) db.stmt(RESET_SCHEDULER_STATE).run(endpoint.id);
        readyBy(db, new Map([[endpoint.id, endpoint.updatedAt]]), 'capacity');
      });
    },

    async deleteEndpoint(appId: string, id: string, nowMs: number): Promise<void> {
      await db.whenWritable(() =>
        db.transaction(() => {
          db.prepare('UPDATE endpoint SET deleted_at = ?, uid = NULL, updated_at = ? WHERE id = ? AND app_id = ?').run(nowMs, nowMs, id, appId);
          // Ready now: a claim fails whatever the batches below have not reached yet (or a crash left), then settles.
          db.stmt('UPDATE endpoint_queue SET ready_at = ?, in_flight = 0 WHERE endpoint_id = ?').run(nowMs, id);
        }),
      );
      // Its backlog in bounded transactions, the event loop's turn between them.
      const batch = db.stmt(`UPDATE delivery SET status = 'failed', last_error = 'endpoint deleted', lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
        WHERE rowid IN (SELECT rowid FROM delivery WHERE endpoint_id = ? AND status = 'pending' LIMIT +?)`);
      await inBatches(() => db.whenWritable(() => db.transaction(() => batch.run(nowMs, id, BATCH_ROWS).changes)));
    },

    // ---- Event types

    async createEventType(eventType: EventType): Promise<void> {
      insertEventType(db, eventType);
    },

    async getEventType(name: string): Promise<EventType | null> {
      const row = db.stmt('SELECT * FROM event_type WHERE name = ?').get(name) as Row | undefined;
      return row ? eventTypeFromRow(row) : null;
    },

    async missingEventTypes(names: readonly string[]): Promise<string[]> {
      const rows = db.stmt('SELECT name FROM event_type WHERE archived = 0 AND name IN (SELECT value FROM json_each(?))').all(JSON.stringify(names)) as { name: string }[];
      const found = new Set(rows.map((row) => row.name));
      return names.filter((name) => !found.has(name));
    },

    async listEventTypes(page: PageRequest & { includeArchived: boolean }): Promise<Page<EventType>> {
      const where = page.includeArchived ? 'SELECT * FROM event_type' : 'SELECT * FROM event_type WHERE archived = 0';
      return db.paged(where, [], 'name', pageQuery(page, 'ascending'), eventTypeFromRow, (e) => e.name);
    },

    async updateEventType(eventType: EventType): Promise<void> {
      setEventType(db, eventType);
    },

    async saveEventTypes(changes: readonly EventTypeChange[]): Promise<void> {
      db.transaction(() => {
        for (const { eventType, created } of changes) (created ? insertEventType : setEventType)(db, eventType);
      });
    },

    async deleteEventType(name: string, expunge: boolean, nowMs: number): Promise<boolean> {
      const result = db.committed('full', () =>
        expunge ? db.prepare('DELETE FROM event_type WHERE name = ?').run(name) : db.prepare('UPDATE event_type SET archived = 1, updated_at = ? WHERE name = ?').run(nowMs, name),
      );
      return result.changes > 0;
    },

    // ---- Inbound sources

    async createSource(source: Source): Promise<void> {
      const row = sourceToRow(source);
      const columns = Object.keys(row);
      db.committed('full', () => db.stmt(`INSERT INTO source (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`).run(row));
    },

    async getSource(appId: string, id: string): Promise<Source | null> {
      const row = db.stmt('SELECT * FROM source WHERE id = ? AND app_id = ?').get(id, appId) as Row | undefined;
      return row ? sourceFromRow(row) : null;
    },

    async findSource(id: string): Promise<Source | null> {
      const row = db.stmt('SELECT * FROM source WHERE id = ?').get(id) as Row | undefined;
      return row ? sourceFromRow(row) : null;
    },

    async listSources(appId: string, page: PageRequest): Promise<Page<Source>> {
      return db.paged('SELECT * FROM source WHERE app_id = ?', [appId], 'id', pageQuery(page, 'ascending'), sourceFromRow, (s) => s.id);
    },

    async updateSource(source: Source): Promise<void> {
      const row = sourceToRow(source);
      const columns = Object.keys(row).filter((c) => c !== 'id' && c !== 'app_id' && c !== 'created_at');
      db.committed('full', () => db.stmt(`UPDATE source SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id AND app_id = @app_id`).run(row));
    },

    async deleteSource(appId: string, id: string): Promise<boolean> {
      return db.committed('full', () => db.stmt('DELETE FROM source WHERE id = ? AND app_id = ?').run(id, appId).changes > 0);
    },
  };
}
