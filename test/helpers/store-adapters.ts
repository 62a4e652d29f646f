import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from './hookd.js';

/**
 * The adapters the store contract suite runs against. Each `open` gives a fresh, migrated, empty database;
 * `close` removes it. One suite, every adapter: a test never exists in two copies.
 */
export interface StoreAdapter {
  name: string;
  open(): Promise<{ store: Store; close: () => Promise<void> }>;
}

export const storeAdapters: StoreAdapter[] = [
  {
    name: 'sqlite',
    async open() {
      const temp = tempDir('hookd-store-');
      const store = new SqliteStore({ path: join(temp.dir, 'contract.db') });
      await store.migrate();
      return {
        store,
        close: async () => {
          await store.close();
          temp.cleanup();
        },
      };
    },
  },
];
