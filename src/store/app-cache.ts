import type { App } from '../domain/types.js';

/** Most lookups an application cache keeps before it starts over. */
const APP_CACHE_SIZE = 10_000;

/**
 * getApp's answers by the id or uid asked for: every ingest request starts with this lookup (on SQLite it was 12% of
 * the API thread at 6,000 msg/s; on PostgreSQL a pooled round trip per request, which at 2,000 msg/s kept ingest's
 * commits waiting for a connection for seconds). The store's own writes to applications clear it. An answer is
 * kept for `ttlMs`: unbounded where this process is the database's only writer of applications (SQLite, for every
 * lookup), briefly where other processes write them too (PostgreSQL, for ingest's lookups only, which the insert
 * checks again), so a change made elsewhere is seen within that time. Misses are not kept. Answers are frozen:
 * callers share them.
 */
export class AppCache {
  private readonly apps = new Map<string, { app: App; until: number }>();
  /** Counts clears: an answer read before a clear (a write) is not kept after it. */
  private generation = 0;

  constructor(private readonly ttlMs: number) {}

  get(idOrUid: string): App | undefined {
    const kept = this.apps.get(idOrUid);
    if (!kept) return undefined;
    if (kept.until > performance.now()) return kept.app;
    this.apps.delete(idOrUid);
    return undefined;
  }

  /** Where a read begins: keep() takes its answer only if no write cleared the cache since (`readFrom`). */
  readFrom(): number {
    return this.generation;
  }

  /** Keeps (and freezes) an answer read since `readFrom`, unless a write cleared the cache meanwhile; returns it. */
  keep(idOrUid: string, app: App, readFrom: number): App {
    Object.freeze(app.metadata);
    Object.freeze(app);
    if (readFrom !== this.generation) return app;
    if (this.apps.size >= APP_CACHE_SIZE) this.clear();
    this.apps.set(idOrUid, { app, until: performance.now() + this.ttlMs });
    return app;
  }

  clear(): void {
    this.generation++;
    this.apps.clear();
  }
}
