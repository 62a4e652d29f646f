// The PostgreSQL Store: one pool on one schema, composed of the per-concern operations in this folder.
import type { AdminOps, AppOps, MessageOps, QueueOps, StatsOps } from '../concerns.js';
import type { Store } from '../store.js';
import { postgresAdmin } from './admin.js';
import { postgresApps } from './apps.js';
import { PostgresDb, type PostgresStoreOptions } from './db.js';
import { postgresMessages } from './messages.js';
import { DeliveriesDueListener, postgresQueue } from './queue.js';
import { postgresStats } from './stats.js';

export { DELIVERIES_CHANNEL, type PostgresStoreOptions } from './db.js';

// The concern methods are assigned in the constructor; this declaration lets TypeScript see them.
export interface PostgresStore extends AppOps, MessageOps, QueueOps, AdminOps, StatsOps {}

/**
 * The scale-out store: many API and worker processes on one PostgreSQL. Workers claim with
 * FOR UPDATE SKIP LOCKED under a lease; commits that make deliveries due NOTIFY waiting workers.
 */
export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  private readonly db: PostgresDb;
  private readonly deliveriesDue: DeliveriesDueListener;
  private closed = false;

  constructor(options: PostgresStoreOptions) {
    const db = new PostgresDb(options);
    this.db = db;
    this.deliveriesDue = new DeliveriesDueListener(db.connection());
    const concerns: AppOps & MessageOps & QueueOps & AdminOps & StatsOps = {
      ...postgresApps(db),
      ...postgresMessages(db),
      ...postgresQueue(db, this.deliveriesDue),
      ...postgresAdmin(db),
      ...postgresStats(db),
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
    if (this.closed) return;
    this.closed = true;
    await this.deliveriesDue.close();
    await this.db.close();
  }
}
