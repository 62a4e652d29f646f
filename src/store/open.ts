import type { DatabaseConfig } from '../config.js';
import type { Store } from './store.js';

/**
 * Opens the store the configuration names (not yet migrated). `exclusive`: this process serves the SQLite file
 * (hookd start), so no other hookd may (a lock file next to it names the holder). `checkpoint`: where the SQLite
 * file's background checkpoints run (SqliteDbOptions): a thread of their own (default), this connection between its
 * commits (`'here'`: hookd start's main connection beside a delivery thread), or another connection of this process
 * (`false`: the delivery thread's).
 * Each adapter is loaded when named: an embedded hookd (and each of its threads) never loads pg, nor PostgreSQL
 * better-sqlite3.
 */
export async function openStore(database: DatabaseConfig, options: { exclusive?: boolean; checkpoint?: boolean | 'here' } = {}): Promise<Store> {
  switch (database.kind) {
    case 'sqlite': {
      const { SqliteStore } = await import('./sqlite/sqlite-store.js');
      return new SqliteStore({ path: database.path, timeoutMs: database.timeoutMs, maxSizeBytes: database.maxSizeBytes, exclusive: options.exclusive, checkpoint: options.checkpoint });
    }
    case 'postgres': {
      const { PostgresStore } = await import('./postgres/postgres-store.js');
      return new PostgresStore({ url: database.url, poolSize: database.poolSize, timeoutMs: database.timeoutMs });
    }
  }
}
