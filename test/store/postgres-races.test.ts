// Races on PostgreSQL that only another session's lock (or a slowed write) can time: deleting an endpoint while an ingest for it commits
// (nothing is left pending and never claimed), an idempotency key that goes while a request waits for it,
// two endpoint creates racing for the last place under the per-application bound, a recover that meets an expunge
// (the claim fails the delivery it left pending), two processes making the first admin key at once, and an ack that
// meets a change of its endpoint's URL (the new URL's scheduler state learns nothing from the old receiver), and an ack
// and an expunge of several messages locking the same deliveries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { newEndpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import { FIRST_ADMIN_KEY_LOCK } from '../../src/store/postgres/db.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Attempt } from '../../src/domain/types.js';
import type { ClaimedDelivery, DeliveryResult } from '../../src/store/store.js';
import { freshPostgresSchema } from '../helpers/store-adapters.js';

const url = process.env.HOOKD_TEST_DATABASE_URL ?? '';
if (!url) throw new Error('HOOKD_TEST_DATABASE_URL is not set: run the tests through `npm test`, which starts PostgreSQL');

type Sessions<N extends 1 | 2> = N extends 1 ? [pg.Client] : [pg.Client, pg.Client];

/**
 * Runs `work` on a fresh, migrated schema with a store of `poolSize` connections and `sessions` more sessions of its
 * own, connected and on that schema (another process's transaction, or a watcher of pg_stat_activity); all closed and
 * the schema dropped afterwards.
 */
async function onFreshSchema<N extends 1 | 2>(poolSize: number, sessions: N, work: (store: PostgresStore, sessions: Sessions<N>) => Promise<void>): Promise<void> {
  const { schema, drop } = await freshPostgresSchema(url);
  const store = new PostgresStore({ url, schema, poolSize });
  const clients = Array.from({ length: sessions }, () => new pg.Client({ connectionString: url }));
  try {
    await store.migrate();
    for (const client of clients) {
      await client.connect();
      await client.query(`SET search_path = ${schema}`);
    }
    await work(store, clients as Sessions<N>);
  } finally {
    for (const client of clients) await client.end().catch(() => undefined);
    await store.close();
    await drop();
  }
}

/**
 * Waits up to 2 s until a session waits for a lock (`condition` on pg_stat_activity says which), and fails with `what`
 * if none does. `watch` must be a session of its own: a transaction sees pg_stat_activity as it was at its first look.
 */
async function lockWaitSeen(watch: pg.Client, condition: string, what: string): Promise<void> {
  const waiting = async (): Promise<boolean> =>
    (await watch.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND ${condition}`)).rows[0].n > 0;
  for (let i = 0; !(await waiting()); i++) {
    assert.ok(i < 100, what);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The pid of the session sleeping in a test's slow trigger (pg_sleep) while it runs a statement containing
 * `statement`, once it does (up to 2 s; fails with `what`).
 */
async function sleeperPid(watch: pg.Client, statement: string, what: string): Promise<number> {
  for (let i = 0; ; i++) {
    const row = (await watch.query("SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND strpos(query, $1) > 0", [statement])).rows[0];
    if (row) return row.pid as number;
    assert.ok(i < 100, what);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

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

/**
 * Inserts, through `session` (in its transaction, if one is open), a message of `appId` created at `at` and its
 * delivery to `endpointId`, pending; returns both ids.
 */
async function insertPending(session: pg.Client, appId: string, endpointId: string, at: number): Promise<{ messageId: string; deliveryId: string }> {
  const ids = { messageId: newId('msg', at), deliveryId: newId('dlv', at) };
  await session.query("INSERT INTO message (id, app_id, event_type, payload, created_at) VALUES ($1, $2, 'e', '{}', $3)", [ids.messageId, appId, at]);
  await session.query("INSERT INTO delivery (id, message_id, endpoint_id, app_id, status, next_attempt_at, updated_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5)", [
    ids.deliveryId,
    ids.messageId,
    endpointId,
    appId,
    at,
  ]);
  return ids;
}

/** The result of a failed attempt at `at` of claimed delivery `c` (owner `w`), retried 5 s later; `attempt` overrides. */
function failedResult(c: ClaimedDelivery, at: number, attempt: Partial<Attempt> = {}, extra: Partial<DeliveryResult> = {}): DeliveryResult {
  return {
    deliveryId: c.delivery.id,
    leaseOwner: 'w',
    attempt: {
      id: newId('atmpt', at),
      messageId: c.message.id,
      endpointId: c.endpoint.id,
      deliveryId: c.delivery.id,
      appId: c.message.appId,
      url: c.endpoint.url,
      status: 'fail',
      responseStatusCode: 500,
      response: '',
      responseDurationMs: 5,
      triggerType: 0,
      error: 'HTTP 500',
      requestHeaders: {},
      responseHeaders: {},
      createdAt: at,
      ...attempt,
    },
    next: { status: 'pending', nextAttemptAt: at + 5000 },
    ...extra,
  };
}

test('an ingest that commits while its endpoint is being deleted leaves no delivery pending forever', async () => {
  await onFreshSchema(2, 2, async (store, [ingest, watch]) => {
    const at = Date.now() - 1000;
    const { appId, endpoint } = await newAppWithEndpoint(store, at);

    // An ingest that read the endpoint before the delete: its message and delivery are written, the endpoint made
    // ready (what group commit's transaction does), and it commits only once the delete is under way.
    await ingest.query('BEGIN');
    const { messageId } = await insertPending(ingest, appId, endpoint.id, at);
    await ingest.query('UPDATE endpoint_queue SET ready_at = $1 WHERE endpoint_id = $2', [at, endpoint.id]);

    // The delete fails the pending deliveries it can see (not the ingest's), then waits for the queue row.
    const deleting = store.deleteEndpoint(appId, endpoint.id, Date.now());
    await lockWaitSeen(watch, "query LIKE 'UPDATE endpoint_queue%'", 'the delete waits for the ingest on the endpoint queue row');
    await ingest.query('COMMIT');
    await deleting;

    // The claim finds the deleted endpoint's delivery and fails it; nothing stays pending.
    const claimed = await store.claimDeliveries({ owner: 'w', limit: 10, leaseMs: 30_000, nowMs: Date.now() + 1000 });
    assert.equal(claimed.length, 0, 'a deleted endpoint is never sent to');
    assert.equal((await store.queueStats(Date.now() + 1000)).pending, 0, "the ingest's delivery is not left pending");
    const status = (await ingest.query('SELECT status, last_error FROM delivery WHERE message_id = $1', [messageId])).rows[0];
    assert.equal(status.status, 'failed');
  });
});

test('an idempotency key deleted while a request waits for its lock is taken by that request, not a 500', async () => {
  await onFreshSchema(2, 2, async (store, [holder, watch]) => {
    const now = Date.now();
    assert.deepEqual(await store.beginIdempotent('app_x', 'key-1', 'hash', now, 60_000, 86_400_000), { state: 'new' }, 'request A holds the key');

    // Another session locks the key's row (as request A's 5xx path or the purge does, about to delete it).
    await holder.query('BEGIN');
    await holder.query("SELECT 1 FROM idempotency WHERE scope = 'app_x' AND key = 'key-1' FOR UPDATE");
    // Request B's insert finds the key taken, then its SELECT ... FOR UPDATE waits on that lock.
    const b = store.beginIdempotent('app_x', 'key-1', 'hash', now + 1, 60_000, 86_400_000);
    await lockWaitSeen(watch, "query LIKE 'SELECT * FROM idempotency%'", "request B waits for the key's row");
    // A's key goes (its request failed): B's SELECT then finds no row, and B inserts the key again.
    await holder.query("DELETE FROM idempotency WHERE scope = 'app_x' AND key = 'key-1'");
    await holder.query('COMMIT');
    assert.deepEqual(await b, { state: 'new' }, 'the key is B\'s to take');
    assert.deepEqual(await store.beginIdempotent('app_x', 'key-1', 'hash', now + 2, 60_000, 86_400_000), { state: 'in_progress' }, 'and B holds it now');
  });
});

test("two endpoint creates at once for an application one short of its bound: one is created, the other refused", async () => {
  await onFreshSchema(4, 1, async (store, [admin]) => {
    const at = Date.now();
    const appId = await newApp(store, at);
    assert.equal(await store.createEndpoint(newEndpoint({ appId, url: 'https://receiver.example/first' }, at), 2), true);
    // Each insert of an endpoint takes 300 ms: both creates have counted before either commits, unless the second
    // waits for the first.
    await admin.query("CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$");
    await admin.query('CREATE TRIGGER slow_endpoint_insert BEFORE INSERT ON endpoint FOR EACH ROW EXECUTE FUNCTION slow_insert()');
    const created = await Promise.all(['a', 'b'].map((name) => store.createEndpoint(newEndpoint({ appId, url: `https://receiver.example/${name}` }, Date.now()), 2)));
    assert.deepEqual(created.sort(), [false, true]);
    assert.equal((await store.listEndpoints(appId, { limit: 10 })).data.length, 2);
  });
});

test('a recover that meets an expunge committing during its statement leaves nothing to send: the claim fails that delivery', async () => {
  await onFreshSchema(4, 1, async (store, [admin]) => {
    const at = Date.now() - 1000;
    const { appId, endpoint } = await newAppWithEndpoint(store, at);
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
    assert.deepEqual(await store.expungeMessageContent(appId, [messageId], Date.now()), [messageId]);
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
  });
});

test('a bootstrap admin key made while another process makes one waits for that commit, then makes none', async () => {
  await onFreshSchema(2, 2, async (store, [other, watch]) => {
    // Another process's createFirstAdminKey, between its lock and its commit: it found no admin key and inserted one.
    await other.query('BEGIN');
    await other.query('SELECT pg_advisory_xact_lock($1)', [FIRST_ADMIN_KEY_LOCK]);
    const at = Date.now();
    await other.query("INSERT INTO api_key (id, app_id, name, prefix, sha256_hash, created_at, read_only) VALUES ($1, NULL, 'bootstrap', 'hookd_a', 'hash-other', $2, FALSE)", [newId('key', at), at]);
    const mine = { id: newId('key', at), appId: null, name: 'bootstrap', prefix: 'hookd_b', createdAt: at, revokedAt: null, expiresAt: null, readOnly: false, capabilities: null };
    const made = store.createFirstAdminKey(mine, 'hash-mine');
    await lockWaitSeen(watch, "wait_event = 'advisory'", 'createFirstAdminKey waits for the other process');
    await other.query('COMMIT');
    assert.equal(await made, false, 'it sees the key committed meanwhile');
    assert.deepEqual((await store.listApiKeys()).map((k) => k.prefix), ['hookd_a']);
  });
});

test("an ack that waits for its endpoint's scheduler state while a URL change resets it feeds the old receiver's answer no further than its delivery", async () => {
  await onFreshSchema(2, 2, async (store, [admin, watch]) => {
    const at = Date.now() - 1000;
    const { appId, endpoint } = await newAppWithEndpoint(store, at);
    await insertPending(admin, appId, endpoint.id, at);
    // The old receiver has been failing: a streak on its state, and on the endpoint (so the ack's streak statement
    // changes and locks no endpoint row: only the queue row times this race).
    await admin.query('UPDATE endpoint_queue SET ready_at = $1, failure_streak = 3 WHERE endpoint_id = $2', [at, endpoint.id]);
    await admin.query('UPDATE endpoint SET first_failure_at = $1 WHERE id = $2', [at, endpoint.id]);
    const [claimed] = await store.claimDeliveries({ owner: 'w', limit: 10, leaseMs: 30_000, nowMs: Date.now() });
    assert.ok(claimed, 'the delivery is claimed');

    // The URL change holds the queue row it reset for 500 ms before it commits.
    await admin.query('CREATE FUNCTION slow_reset() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$');
    await admin.query('CREATE TRIGGER slow_reset AFTER UPDATE ON endpoint_queue FOR EACH ROW WHEN (OLD.failure_streak > 0 AND NEW.failure_streak = 0) EXECUTE FUNCTION slow_reset()');
    const changing = store.updateEndpoint({ ...endpoint, url: 'https://new-receiver.example/hook', updatedAt: Date.now() });
    const changer = await sleeperPid(watch, 'UPDATE endpoint_queue', 'the URL change holds the reset queue row');

    // The old receiver's timeout, acked now: the ack's first statement still sees the old URL (the change is not committed),
    // then it waits for the queue row.
    const attemptAt = Date.now();
    const timeout = { responseStatusCode: 0, responseDurationMs: 15_000, error: 'timeout after 15000 ms', responseHeaders: null };
    const acking = store.completeDeliveries([failedResult(claimed, attemptAt, timeout, { failure: 'timeout' })]);
    await lockWaitSeen(watch, `pg_blocking_pids(pid) @> ARRAY[${changer}]`, 'the ack waits for the queue row the URL change holds');
    await changing;
    await acking;

    const state = (await admin.query('SELECT failure_streak, in_flight, url FROM endpoint_queue WHERE endpoint_id = $1', [endpoint.id])).rows[0];
    assert.deepEqual(state, { failure_streak: 0, in_flight: 0, url: 'https://new-receiver.example/hook' }, "the new URL's state: no failure, the slot freed");
    const delivery = (await admin.query('SELECT status, attempts, lease_owner FROM delivery WHERE id = $1', [claimed.delivery.id])).rows[0];
    assert.deepEqual(delivery, { status: 'pending', attempts: 1, lease_owner: null }, 'the delivery goes on to its retry');
  });
});

test('an ack and an expunge of several messages lock their deliveries in one order: neither is aborted as a deadlock', async () => {
  await onFreshSchema(2, 2, async (store, [admin, watch]) => {
    const at = Date.now() - 1000;
    const { appId, endpoint } = await newAppWithEndpoint(store, at);
    const inserted = [await insertPending(admin, appId, endpoint.id, at), await insertPending(admin, appId, endpoint.id, at + 1)];
    const messageIds = inserted.map((i) => i.messageId);
    const deliveryIds = inserted.map((i) => i.deliveryId);
    await admin.query('UPDATE endpoint_queue SET ready_at = $1 WHERE endpoint_id = $2', [at, endpoint.id]);
    const claimed = (await store.claimDeliveries({ owner: 'w', limit: 10, leaseMs: 30_000, nowMs: Date.now() })).sort((a, b) => (a.delivery.id < b.delivery.id ? -1 : 1));
    assert.deepEqual(claimed.map((c) => c.delivery.id), deliveryIds);

    // The ack holds the later delivery's row for 500 ms (it locks each row as it updates it).
    await admin.query('CREATE FUNCTION slow_ack() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$');
    await admin.query(`CREATE TRIGGER slow_ack BEFORE UPDATE ON delivery FOR EACH ROW WHEN (OLD.id = '${deliveryIds[1]}' AND OLD.lease_owner = 'w' AND NEW.lease_owner IS NULL) EXECUTE FUNCTION slow_ack()`);
    const attemptAt = Date.now();
    // The later delivery's result first: the order a worker's batch may have.
    const acking = store.completeDeliveries([failedResult(claimed[1]!, attemptAt), failedResult(claimed[0]!, attemptAt)]);
    await sleeperPid(watch, 'WITH recorded', "the ack holds the later delivery's row");
    const expunging = store.expungeMessageContent(appId, messageIds, Date.now());
    const [acked, expunged] = await Promise.allSettled([acking, expunging]);
    assert.equal(acked.status, 'fulfilled', `the ack: ${acked.status === 'rejected' ? String(acked.reason) : ''}`);
    assert.equal(expunged.status, 'fulfilled', `the expunge: ${expunged.status === 'rejected' ? String(expunged.reason) : ''}`);
    assert.deepEqual((expunged as PromiseFulfilledResult<string[]>).value.sort(), [...messageIds].sort());
    const rows = (await admin.query('SELECT status, last_error, attempts FROM delivery WHERE id = ANY($1) ORDER BY id', [deliveryIds])).rows;
    assert.deepEqual(rows, [
      { status: 'failed', last_error: 'message content expunged', attempts: 1 },
      { status: 'failed', last_error: 'message content expunged', attempts: 1 },
    ]);
  });
});
