// On PostgreSQL every statement is bounded by statement_timeout: a wide fan-out is inserted, and its application
// deleted, in statements of bounded size.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newEndpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import type { Message } from '../../src/domain/types.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { freshPostgresSchema } from '../helpers/store-adapters.js';

const url = process.env.HOOKD_TEST_DATABASE_URL;
if (!url) throw new Error('HOOKD_TEST_DATABASE_URL is not set: run the tests through `npm test`, which starts PostgreSQL');

const ENDPOINTS = 200;
const MESSAGES = 300;

test(`one ingest batch fanning out to ${ENDPOINTS * MESSAGES} deliveries commits, and its application is deleted, although one statement of them all would outlast the statement timeout`, async () => {
  const { schema, drop } = await freshPostgresSchema(url);
  // HOOKD_DB_TIMEOUT 1.5 s, the server's statement_timeout: 60,000 delivery rows in one statement passed it (the batch
  // failed); in statements of 5,000 the batch committed in about 3 s.
  const store = new PostgresStore({ url, schema, poolSize: 2, timeoutMs: 1500 });
  try {
    await store.migrate();
    const at = Date.now();
    const appId = newId('app', at);
    await store.createApp({ id: appId, uid: null, name: 'wide', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: at, updatedAt: at });
    for (let i = 0; i < ENDPOINTS; i++) await store.createEndpoint(newEndpoint({ appId, url: `https://receiver.example/${i}` }, at));
    const messages = Array.from({ length: MESSAGES }, (): Message => ({ id: newId('msg', at), appId, eventId: null, eventType: 'wide.event', payload: '{"a":1}', channels: null, tags: null, createdAt: at }));
    const started = performance.now();
    const results = await store.insertMessages(messages);
    console.log(`${MESSAGES} messages x ${ENDPOINTS} endpoints committed in ${Math.round(performance.now() - started)} ms`);
    assert.deepEqual(new Set(results.map((r) => (r.kind === 'inserted' ? r.deliveries : -1))), new Set([ENDPOINTS]));
    assert.equal((await store.queueStats(Date.now())).pending, ENDPOINTS * MESSAGES);

    // The application can be deleted: its 60,000 deliveries and messages in batches (one cascade of them all outlasted
    // the timeout, so such an application could never be deleted), then the app.
    const other = await store.insertMessages([{ ...messages[0]!, id: newId('msg', at), appId: await otherApp(store, at) }]);
    assert.equal(other[0]?.kind, 'inserted');
    const deleting = performance.now();
    await store.deleteApp(appId);
    console.log(`its application deleted in ${Math.round(performance.now() - deleting)} ms`);
    assert.equal(await store.getApp(appId), null);
    assert.equal((await store.queueStats(Date.now())).pending, 1, "only the other application's delivery is left");
    assert.equal((await store.listMessages(appId, {}, { limit: 10 })).data.length, 0);
  } finally {
    await store.close();
    await drop();
  }
});

/** Another application, with one endpoint, that the deletion must leave alone. */
async function otherApp(store: PostgresStore, at: number): Promise<string> {
  const id = newId('app', at);
  await store.createApp({ id, uid: null, name: 'other', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: at, updatedAt: at });
  await store.createEndpoint(newEndpoint({ appId: id, url: 'https://other.example/hook' }, at));
  return id;
}
