// Migration 15 on a database that predates it: an application's rate_limit, until then its ingest limit, becomes
// its ingest_rate_limit, so an upgrade neither lifts a tenant's ingest limit nor starts throttling its endpoints.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { newId } from '../../src/domain/ids.js';
import type { App } from '../../src/domain/types.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/hookd.js';
import { freshPostgresSchema } from '../helpers/store-adapters.js';

const url = process.env.HOOKD_TEST_DATABASE_URL;
if (!url) throw new Error('HOOKD_TEST_DATABASE_URL is not set: run the tests through `npm test`, which starts PostgreSQL');

const T0 = Date.UTC(2026, 11, 1);
const app = (name: string): App => ({ id: newId('app', T0), uid: name, name, metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: T0, updatedAt: T0 });

/** Sets the applications' rate_limit as a database before migration 15 held it (the ingest limit), without its column. */
const BEFORE_15 = [
  "DELETE FROM schema_migrations WHERE version = 15",
  'ALTER TABLE app DROP COLUMN ingest_rate_limit',
  "UPDATE app SET rate_limit = 7 WHERE uid = 'limited'",
  "UPDATE app SET rate_limit = 0 WHERE uid = 'exempt'",
];

async function assertMigrated(migrated: number[], getApp: (uid: string) => Promise<App | null>): Promise<void> {
  assert.deepEqual(migrated, [15]);
  const limits = async (uid: string) => {
    const found = (await getApp(uid))!;
    return [found.rateLimit, found.ingestRateLimit];
  };
  assert.deepEqual(await limits('limited'), [null, 7], 'the ingest limit kept, and no throttle on its endpoints');
  assert.deepEqual(await limits('exempt'), [null, 0], 'the exemption from HOOKD_APP_RATE_LIMIT kept');
  assert.deepEqual(await limits('default'), [null, null]);
}

test('SQLite: migration 15 moves each application rate_limit to ingest_rate_limit', async () => {
  const temp = tempDir('hookd-migration-');
  const path = join(temp.dir, 'old.db');
  try {
    let store = new SqliteStore({ path });
    await store.migrate();
    for (const uid of ['limited', 'exempt', 'default']) await store.createApp(app(uid));
    await store.close();
    const raw = new Database(path);
    for (const sql of BEFORE_15) raw.exec(sql);
    raw.close();

    store = new SqliteStore({ path });
    try {
      await assertMigrated(await store.migrate(), (uid) => store.getApp(uid));
    } finally {
      await store.close();
    }
  } finally {
    temp.cleanup();
  }
});

test('PostgreSQL: migration 15 moves each application rate_limit to ingest_rate_limit', async () => {
  const { schema, drop } = await freshPostgresSchema(url);
  try {
    let store = new PostgresStore({ url, schema, poolSize: 2 });
    await store.migrate();
    for (const uid of ['limited', 'exempt', 'default']) await store.createApp(app(uid));
    await store.close();
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    try {
      await raw.query(`SET search_path = ${schema}`);
      for (const sql of BEFORE_15) await raw.query(sql);
    } finally {
      await raw.end();
    }

    store = new PostgresStore({ url, schema, poolSize: 2 });
    try {
      await assertMigrated(await store.migrate(), (uid) => store.getApp(uid));
    } finally {
      await store.close();
    }
  } finally {
    await drop();
  }
});
