// Races on PostgreSQL that only another session's lock (or a slowed write) can time: deleting an endpoint while an ingest for it commits
// (nothing is left pending and never claimed), an idempotency key that goes while a request waits for it,
// two endpoint creates racing for the last place under the per-application bound, a recover that meets an expunge
// (the claim fails the delivery it left pending), and two processes making the first admin key at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { newEndpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import { FIRST_ADMIN_KEY_LOCK } from '../../src/store/postgres/db.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { freshPostgresSchema } from '../helpers/store-adapters.js';

const url = process.env.HOOKD_TEST_DATABASE_URL;
if (!url) throw new Error('HOOKD_TEST_DATABASE_URL is not set: run the tests through `npm test`, which starts PostgreSQL');

async function newApp(store: PostgresStore, at: number): Promise<string> {
  const appId = newId('app', at);
  await store.createApp({ id: appId, uid: null, name: 'a', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: at, updatedAt: at });
  return appId;
}

async function newAppWithEndpoint(store: PostgresStore, at: number) {
  const appId = await newApp(store, at);
  const endpoint = newEndpoint({ appId, url: 'https://receiver.example/hook' }, at);
  await store.createEndpoint(endpoint);
  return { appId, endpoint };
}

test('an ingest that commits while its endpoint is being deleted leaves no delivery pending forever', async () => {
  const { schema, drop } = await freshPostgresSchema(url);
  const store = new PostgresStore({ url, schema, poolSize: 2 });
  const ingest = new pg.Client({ connectionString: url });
  const watch = new pg.Client({ connectionString: url });
  try {
    await store.migrate();
    const at = Date.now() - 1000;
    const { appId, endpoint } = await newAppWithEndpoint(store, at);

    // An ingest that read the endpoint before the delete: its message and delivery are written, the endpoint made
    // ready (what group commit's transaction does), and it commits only once the delete is under way.
    await ingest.connect();
    await watch.connect();
    await ingest.query(`SET search_path = ${schema}`);
    await ingest.query('BEGIN');
    const messageId = newId('msg', at);
    await ingest.query("INSERT INTO message (id, app_id, event_type, payload, created_at) VALUES ($1, $2, 'e', '{}', $3)", [messageId, appId, at]);
    await ingest.query("INSERT INTO delivery (id, message_id, endpoint_id, app_id, status, next_attempt_at, updated_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5)", [
      newId('dlv', at),
      messageId,
      endpoint.id,
      appId,
      at,
    ]);
    await ingest.query('UPDATE endpoint_queue SET ready_at = $1 WHERE endpoint_id = $2', [at, endpoint.id]);

    // The delete fails the pending deliveries it can see (not the ingest's), then waits for the queue row.
    const deleting = store.deleteEndpoint(appId, endpoint.id, Date.now());
    // (Watched from a session of its own: a transaction sees pg_stat_activity as it was at its first look.)
    const waiting = async (): Promise<boolean> =>
      (await watch.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE endpoint_queue%'")).rows[0].n > 0;
    for (let i = 0; i < 100 && !(await waiting()); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(await waiting(), 'the delete waits for the ingest on the endpoint queue row');
    await ingest.query('COMMIT');
    await deleting;

    // The claim finds the deleted endpoint's delivery and fails it; nothing stays pending.
    const claimed = await store.claimDeliveries({ owner: 'w', limit: 10, leaseMs: 30_000, nowMs: Date.now() + 1000 });
    assert.equal(claimed.length, 0, 'a deleted endpoint is never sent to');
    assert.equal((await store.queueStats(Date.now() + 1000)).pending, 0, "the ingest's delivery is not left pending");
    const status = (await ingest.query('SELECT status, last_error FROM delivery WHERE message_id = $1', [messageId])).rows[0];
    assert.equal(status.status, 'failed');
  } finally {
    await ingest.end().catch(() => undefined);
    await watch.end().catch(() => undefined);
    await store.close();
    await drop();
  }
});

test('an idempotency key deleted while a request waits for its lock is taken by that request, not a 500', async () => {
  const { schema, drop } = await freshPostgresSchema(url);
  const store = new PostgresStore({ url, schema, poolSize: 2 });
  const holder = new pg.Client({ connectionString: url });
  const watch = new pg.Client({ connectionString: url });
  try {
    await store.migrate();
    const now = Date.now();
    assert.deepEqual(await store.beginIdempotent('app_x', 'key-1', 'hash', now, 60_000, 86_400_000), { state: 'new' }, 'request A holds the key');

    // Another session locks the key's row (as request A's 5xx path or the purge does, about to delete it).
    await holder.connect();
    await watch.connect();
    await holder.query(`SET search_path = ${schema}`);
    await holder.query('BEGIN');
    await holder.query("SELECT 1 FROM idempotency WHERE scope = 'app_x' AND key = 'key-1' FOR UPDATE");
    // Request B's insert finds the key taken, then its SELECT ... FOR UPDATE waits on that lock.
    const b = store.beginIdempotent('app_x', 'key-1', 'hash', now + 1, 60_000, 86_400_000);
    const waiting = async (): Promise<boolean> =>
      (await watch.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT * FROM idempotency%'")).rows[0].n > 0;
    for (let i = 0; i < 100 && !(await waiting()); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(await waiting(), "request B waits for the key's row");
    // A's key goes (its request failed): B's SELECT then finds no row, and B inserts the key again.
    await holder.query("DELETE FROM idempotency WHERE scope = 'app_x' AND key = 'key-1'");
    await holder.query('COMMIT');
    assert.deepEqual(await b, { state: 'new' }, 'the key is B\'s to take');
    assert.deepEqual(await store.beginIdempotent('app_x', 'key-1', 'hash', now + 2, 60_000, 86_400_000), { state: 'in_progress' }, 'and B holds it now');
  } finally {
    await holder.end().catch(() => undefined);
    await watch.end().catch(() => undefined);
    await store.close();
    await drop();
  }
});

test("two endpoint creates at once for an application one short of its bound: one is created, the other refused", async () => {
  const { schema, drop } = await freshPostgresSchema(url);
  const store = new PostgresStore({ url, schema, poolSize: 4 });
  const admin = new pg.Client({ connectionString: url });
  try {
    await store.migrate();
    const at = Date.now();
    const appId = await newApp(store, at);
    assert.equal(await store.createEndpoint(newEndpoint({ appId, url: 'https://receiver.example/first' }, at), 2), true);
    // Each insert of an endpoint takes 300 ms: both creates have counted before either commits, unless the second
    // waits for the first.
    await admin.connect();
    await admin.query(`SET search_path = ${schema}`);
    await admin.query("CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$");
    await admin.query('CREATE TRIGGER slow_endpoint_insert BEFORE INSERT ON endpoint FOR EACH ROW EXECUTE FUNCTION slow_insert()');
    const created = await Promise.all(['a', 'b'].map((name) => store.createEndpoint(newEndpoint({ appId, url: `https://receiver.example/${name}` }, Date.now()), 2)));
    assert.deepEqual(created.sort(), [false, true]);
    assert.equal((await store.listEndpoints(appId, { limit: 10 })).data.length, 2);
  } finally {
    await admin.end().catch(() => undefined);
    await store.close();
    await drop();
  }
});

test('a recover that meets an expunge committing during its statement leaves nothing to send: the claim fails that delivery', async () => {
  const { schema, drop } = await freshPostgresSchema(url);
  const store = new PostgresStore({ url, schema, poolSize: 4 });
  const admin = new pg.Client({ connectionString: url });
  try {
    await store.migrate();
    const at = Date.now() - 1000;
    const { appId, endpoint } = await newAppWithEndpoint(store, at);
    await admin.connect();
    await admin.query(`SET search_path = ${schema}`);
    const messageId = newId('msg', at);
    const deliveryId = newId('dlv', at);
    await admin.query("INSERT INTO message (id, app_id, event_type, payload, created_at) VALUES ($1, $2, 'e', '{\"secret\":1}', $3)", [messageId, appId, at]);
    await admin.query("INSERT INTO delivery (id, message_id, endpoint_id, app_id, status, attempts, next_attempt_at, updated_at) VALUES ($1, $2, $3, $4, 'failed', 5, $5, $5)", [
      deliveryId,
      messageId,
      endpoint.id,
      appId,
      at,
    ]);
    // The recover's UPDATE takes 500 ms per row it makes pending: its statement has read the message (not expunged
    // yet) when the expunge commits.
    await admin.query("CREATE FUNCTION slow_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$");
    await admin.query("CREATE TRIGGER slow_recover BEFORE UPDATE ON delivery FOR EACH ROW WHEN (OLD.status = 'failed' AND NEW.status = 'pending') EXECUTE FUNCTION slow_update()");
    const recovering = store.recoverFailed(endpoint.id, at - 60_000, Date.now() + 60_000, Date.now());
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await store.expungeMessageContent(appId, messageId, Date.now()), true);
    assert.equal(await recovering, 1, 'the recover did not see the expunge (the race this test sets up)');

    const claimed = await store.claimDeliveries({ owner: 'w', limit: 10, leaseMs: 30_000, nowMs: Date.now() + 1000 });
    assert.deepEqual(
      claimed.map((c) => c.message.payload),
      [],
      'an expunged message is never sent, not even its placeholder',
    );
    const row = (await admin.query('SELECT status, last_error, lease_owner FROM delivery WHERE id = $1', [deliveryId])).rows[0];
    assert.deepEqual(row, { status: 'failed', last_error: 'message content expunged', lease_owner: null });
    assert.equal((await store.queueStats(Date.now() + 1000)).pending, 0);
  } finally {
    await admin.end().catch(() => undefined);
    await store.close();
    await drop();
  }
});

test('a bootstrap admin key made while another process makes one waits for that commit, then makes none', async () => {
  const { schema, drop } = await freshPostgresSchema(url);
  const store = new PostgresStore({ url, schema, poolSize: 2 });
  const other = new pg.Client({ connectionString: url });
  const watch = new pg.Client({ connectionString: url });
  try {
    await store.migrate();
    await other.connect();
    await watch.connect();
    // Another process's createFirstAdminKey, between its lock and its commit: it found no admin key and inserted one.
    await other.query(`SET search_path = ${schema}`);
    await other.query('BEGIN');
    await other.query('SELECT pg_advisory_xact_lock($1)', [FIRST_ADMIN_KEY_LOCK]);
    const at = Date.now();
    await other.query("INSERT INTO api_key (id, app_id, name, prefix, sha256_hash, created_at, read_only) VALUES ($1, NULL, 'bootstrap', 'hookd_a', 'hash-other', $2, FALSE)", [newId('key', at), at]);
    const mine = { id: newId('key', at), appId: null, name: 'bootstrap', prefix: 'hookd_b', createdAt: at, revokedAt: null, expiresAt: null, readOnly: false, capabilities: null };
    const made = store.createFirstAdminKey(mine, 'hash-mine');
    const waiting = async (): Promise<boolean> =>
      (await watch.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'")).rows[0].n > 0;
    for (let i = 0; !(await waiting()); i++) {
      assert.ok(i < 200, 'createFirstAdminKey waits for the other process');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await other.query('COMMIT');
    assert.equal(await made, false, 'it sees the key committed meanwhile');
    assert.deepEqual((await store.listApiKeys()).map((k) => k.prefix), ['hookd_a']);
  } finally {
    await other.end();
    await watch.end();
    await store.close();
    await drop();
  }
});
