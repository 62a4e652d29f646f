import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from './hookd.js';

/**
 * The adapters the store contract suite runs against. Each `open` gives a fresh, migrated, empty database
 * (SQLite: a temp file; PostgreSQL: a new schema); `close` removes it. One suite, every adapter.
 *
 * PostgreSQL runs whenever HOOKD_TEST_DATABASE_URL is set; `npm test` (scripts/run-tests.mjs) sets it,
 * starting a throwaway server when none is given, so the PostgreSQL tests never skip silently.
 */
export interface StoreAdapter {
  name: string;
  open(): Promise<{ store: Store; close: () => Promise<void> }>;
}

const sqlite: StoreAdapter = {
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
};

/** A fresh schema on the test PostgreSQL server, dropped by `drop`. */
export async function freshPostgresSchema(url: string): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  return {
    schema,
    drop: async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

const postgresUrl = process.env.HOOKD_TEST_DATABASE_URL;

const postgres: StoreAdapter = {
  name: 'postgres',
  async open() {
    const { schema, drop } = await freshPostgresSchema(postgresUrl!);
    const store = new PostgresStore({ url: postgresUrl!, schema, poolSize: 4 });
    await store.migrate();
    return {
      store,
      close: async () => {
        await store.close();
        await drop();
      },
    };
  },
};

if (!postgresUrl && process.env.CI) throw new Error('HOOKD_TEST_DATABASE_URL is not set: run the tests through `npm test`, which starts PostgreSQL');

export const storeAdapters: StoreAdapter[] = postgresUrl ? [sqlite, postgres] : [sqlite];
