import type { Config } from '../config.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/** Opens the store the configuration names (not yet migrated). */
export async function openStore(database: Config['database']): Promise<Store> {
  switch (database.kind) {
    case 'sqlite':
      return new SqliteStore({ path: database.path });
    case 'postgres':
      return new PostgresStore({ url: database.url, poolSize: database.poolSize });
  }
}
