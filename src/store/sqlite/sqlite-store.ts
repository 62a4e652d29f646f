// The SQLite Store: one database file, composed of the per-concern operations in this folder.
import type { AdminOps, AppOps, MessageOps, QueueOps, StatsOps } from '../concerns.js';
import type { Store } from '../store.js';
import { sqliteAdmin } from './admin.js';
import { sqliteApps } from './apps.js';
import { SqliteDb, type SqliteDbOptions } from './db.js';
import { sqliteMessages } from './messages.js';
import { sqliteQueue } from './queue.js';
import { sqliteStats } from './stats.js';

export type { SqliteDbOptions as SqliteStoreOptions } from './db.js';

// The concern methods are assigned in the constructor; this declaration lets TypeScript see them.
export interface SqliteStore extends AppOps, MessageOps, QueueOps, AdminOps, StatsOps {}

/**
 * The embedded store: one SQLite file in WAL mode whose full commits return once the WAL is fsynced, so a committed
 * transaction survives power loss. better-sqlite3 is synchronous; callers batch writes (group commit) to amortise the fsync, and WAL
 * checkpoints run in the background (checkpointer.ts): on a thread of their own, or between the connection's commits.
 */
export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  private readonly db: SqliteDb;

  constructor(options: SqliteDbOptions) {
    const db = new SqliteDb(options);
    this.db = db;
    const concerns: AppOps & MessageOps & QueueOps & AdminOps & StatsOps = {
      ...sqliteApps(db),
      ...sqliteMessages(db),
      ...sqliteQueue(db),
      ...sqliteAdmin(db),
      ...sqliteStats(db),
    };
    Object.assign(this, concerns);
  }

  async migrate(): Promise<number[]> {
    return this.db.migrate();
  }

  async ping(): Promise<void> {
    return this.db.ping();
  }

  async probe(): Promise<void> {
    return this.db.probe();
  }

  async close(): Promise<void> {
    return this.db.close();
  }
}
