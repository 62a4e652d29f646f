import type { Config } from '../config.js';
import { ConfigError } from '../config.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/** Opens the store the configuration names (not yet migrated). */
export async function openStore(database: Config['database']): Promise<Store> {
  switch (database.kind) {
    case 'sqlite':
      return new SqliteStore({ path: database.path });
    case 'postgres':
      throw new ConfigError('PostgreSQL support is not available in this build yet; unset DATABASE_URL to use SQLite');
  }
}
