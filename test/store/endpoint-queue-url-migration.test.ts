// Migration 20 (PostgreSQL alone) on a database that predates it: each endpoint's scheduler row gets the URL its
// state is about, which an ack reads under the row's lock (src/store/postgres/ack.ts lockQueueStates), and the
// database keeps it, whichever hookd writes (an older one, during a rolling upgrade, knows no such column).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { newEndpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { freshPostgresSchema } from '../helpers/store-adapters.js';

const url = process.env.HOOKD_TEST_DATABASE_URL;
if (!url) throw new Error('HOOKD_TEST_DATABASE_URL is not set: run the tests through `npm test`, which starts PostgreSQL');

test("PostgreSQL: migration 20 gives each endpoint's scheduler row its endpoint's URL, and new endpoints and URL changes keep it", async () => {
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
    await raw.query('DROP FUNCTION endpoint_queue_url_of_endpoint, endpoint_queue_url_follows CASCADE');
    await raw.query('ALTER TABLE endpoint_queue DROP COLUMN url');
    await raw.query('DELETE FROM schema_migrations WHERE version = 20');

    store = new PostgresStore({ url, schema, poolSize: 2 });
    try {
      assert.deepEqual(await store.migrate(), [20]);
      const urls = async () => Object.fromEntries((await raw.query('SELECT endpoint_id, url FROM endpoint_queue')).rows.map((row) => [row.endpoint_id, row.url]));
      assert.deepEqual(await urls(), { [old[0]!.id]: 'https://a.example/hook', [old[1]!.id]: 'https://b.example/hook' });
      const added = newEndpoint({ appId, url: 'https://c.example/hook' }, at);
      await store.createEndpoint(added);
      await store.updateEndpoint({ ...old[0]!, url: 'https://a2.example/hook', updatedAt: at + 1 });
      await store.updateEndpoint({ ...old[1]!, description: 'same URL', updatedAt: at + 1 });
      assert.deepEqual(await urls(), { [old[0]!.id]: 'https://a2.example/hook', [old[1]!.id]: 'https://b.example/hook', [added.id]: 'https://c.example/hook' });
      // As an older hookd writes: the queue row inserted without the column, a URL changed without a word of it.
      const olderId = newId('ep', at);
      await raw.query("INSERT INTO endpoint (id, app_id, url, secrets, headers, created_at, updated_at) VALUES ($1, $2, 'https://d.example/hook', '[]', '{}', $3, $3)", [olderId, appId, at]);
      await raw.query('INSERT INTO endpoint_queue (endpoint_id, app_id) VALUES ($1, $2)', [olderId, appId]);
      await raw.query("UPDATE endpoint SET url = 'https://b2.example/hook' WHERE id = $1", [old[1]!.id]);
      const now = await urls();
      assert.equal(now[olderId], 'https://d.example/hook');
      assert.equal(now[old[1]!.id], 'https://b2.example/hook');
    } finally {
      await store.close();
    }
  } finally {
    await raw.end().catch(() => undefined);
    await drop();
  }
});
