import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { newEndpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import type { App, Message } from '../../src/domain/types.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { freshPostgresSchema } from '../helpers/store-adapters.js';

// Ingest on PostgreSQL marks new work with endpoint_wake rows instead of updating the endpoint's queue row, which a
// claim or an ack may hold (store/postgres/endpoint-queue.ts). These tests hold that row the way a claim does.

const url = process.env.HOOKD_TEST_DATABASE_URL;

test('PostgreSQL ingest does not wait for a transaction holding the endpoint\'s queue row, and the next claim gets the delivery', async () => {
  assert.ok(url, 'HOOKD_TEST_DATABASE_URL is set (npm test starts PostgreSQL)');
  const { schema, drop } = await freshPostgresSchema(url);
  const store = new PostgresStore({ url, schema, poolSize: 4 });
  const holder = new pg.Client({ connectionString: url });
  try {
    await store.migrate();
    const now = Date.now();
    const app: App = { id: newId('app', now), uid: null, name: 'wakes', metadata: {}, rateLimit: null, createdAt: now, updatedAt: now };
    await store.createApp(app);
    const endpoint = newEndpoint({ appId: app.id, url: 'http://127.0.0.1:1/hook' }, now);
    await store.createEndpoint(endpoint);
    const message = (at: number): Message => ({ id: newId('msg', at), appId: app.id, eventId: null, eventType: 'a.b', payload: '{}', channels: null, tags: null, createdAt: at });

    // A "claim" in progress: the endpoint's queue row locked, as claims lock it (FOR UPDATE), not committed.
    await holder.connect();
    await holder.query(`SET search_path TO ${schema}`);
    await holder.query('BEGIN');
    await holder.query('SELECT * FROM endpoint_queue WHERE endpoint_id = $1 FOR UPDATE', [endpoint.id]);
    const started = performance.now();
    const [result] = await store.insertMessages([message(now)]);
    const waited = performance.now() - started;
    assert.deepEqual(result, { kind: 'inserted', deliveries: 1 });
    assert.ok(waited < 1000, `ingest committed in ${waited.toFixed(0)} ms while the queue row was held (it used to wait for the holder)`);
    // The holder settles the row as a claim that saw no work would (nothing pending yet in its view), then commits.
    await holder.query('UPDATE endpoint_queue SET ready_at = NULL WHERE endpoint_id = $1', [endpoint.id]);
    await holder.query('COMMIT');

    // The wake outlived the holder's write: the next claim folds it and leases the delivery.
    assert.equal(await store.nextDueAt(), now, 'a wake not folded yet is work due at its time');
    const claimed = await store.claimDeliveries({ owner: 'w', limit: 10, leaseMs: 30_000, nowMs: now + 1 });
    assert.equal(claimed.length, 1);
    assert.equal(claimed[0]!.endpoint.id, endpoint.id);
    const left = await holder.query('SELECT count(*)::int AS n FROM endpoint_wake');
    assert.equal(left.rows[0].n, 0, 'the claim consumed the wake');
  } finally {
    await holder.end().catch(() => undefined);
    await store.close();
    await drop();
  }
});
