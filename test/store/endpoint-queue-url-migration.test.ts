// Migration 20 (PostgreSQL alone) on a database that predates it: each endpoint's scheduler row gets the URL its
// state is about when the endpoint's URL changes (src/store/postgres/ack.ts lockQueueStates reads it under the row's
// lock), set by the database itself, whichever hookd makes the change (an older one, during a rolling upgrade, knows
// no such column), in whatever schema hookd's tables are.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { newEndpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { freshPostgresSchema } from '../helpers/store-adapters.js';

const url = process.env.HOOKD_TEST_DATABASE_URL;
if (!url) throw new Error('HOOKD_TEST_DATABASE_URL is not set: run the tests through `npm test`, which starts PostgreSQL');

test("PostgreSQL: migration 20 keeps on each endpoint's scheduler row the URL it changed to, whoever changes it", async () => {
  const { schema, drop } = await freshPostgresSchema(url);
  const raw = new pg.Client({ connectionString: url });
  try {
    await raw.connect();
    await raw.query(`SET search_path = ${schema}`);
    const at = Date.UTC(2026, 11, 1);
    const appId = newId('app', at);
    let store = new PostgresStore({ url, schema, poolSize: 2 });
    await store.migrate();
    await store.createApp({ id: appId, uid: null, name: 'a', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: at, updatedAt: at });
    const old = [newEndpoint({ appId, url: 'https://a.example/hook' }, at), newEndpoint({ appId, url: 'https://b.example/hook' }, at)];
    for (const endpoint of old) await store.createEndpoint(endpoint);
    await store.close();
    // The database as it was before migration 20.
    await raw.query('DROP FUNCTION endpoint_queue_url_follows CASCADE');
    await raw.query('ALTER TABLE endpoint_queue DROP COLUMN url');
    await raw.query('DELETE FROM schema_migrations WHERE version = 20');

    store = new PostgresStore({ url, schema, poolSize: 2 });
    try {
      assert.deepEqual(await store.migrate(), [20]);
      const urls = async () => Object.fromEntries((await raw.query('SELECT endpoint_id, url FROM endpoint_queue')).rows.map((row) => [row.endpoint_id, row.url]));
      // No URL changed yet: none kept (the endpoint row's is the one).
      assert.deepEqual(await urls(), { [old[0]!.id]: null, [old[1]!.id]: null });
      const added = newEndpoint({ appId, url: 'https://c.example/hook' }, at);
      await store.createEndpoint(added);
      await store.updateEndpoint({ ...old[0]!, url: 'https://a2.example/hook', updatedAt: at + 1 });
      await store.updateEndpoint({ ...old[1]!, description: 'same URL', updatedAt: at + 1 });
      assert.deepEqual(await urls(), { [old[0]!.id]: 'https://a2.example/hook', [old[1]!.id]: null, [added.id]: null });
      // As an older hookd changes a URL (not a word of the column), from a session whose search_path is elsewhere.
      await raw.query('SET search_path = public');
      await raw.query(`UPDATE ${schema}.endpoint SET url = 'https://b2.example/hook' WHERE id = $1`, [old[1]!.id]);
      await raw.query(`SET search_path = ${schema}`);
      assert.deepEqual(await urls(), { [old[0]!.id]: 'https://a2.example/hook', [old[1]!.id]: 'https://b2.example/hook', [added.id]: null });
    } finally {
      await store.close();
    }
  } finally {
    await raw.end().catch(() => undefined);
    await drop();
  }
});
