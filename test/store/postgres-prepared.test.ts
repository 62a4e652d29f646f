// The PostgreSQL store's hot path (ingest, claim, ack) runs as statements prepared once per connection (parsed once,
// not at every execution), and a connection that replaces a lost one prepares them again (src/store/postgres/prepared.ts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { newEndpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import type { Attempt, Message } from '../../src/domain/types.js';
import type { PostgresDb } from '../../src/store/postgres/db.js';
import { ATTEMPT_COLUMNS } from '../../src/store/rows.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { ClaimedDelivery, DeliveryResult } from '../../src/store/store.js';
import { freshPostgresSchema } from '../helpers/store-adapters.js';

const url = process.env.HOOKD_TEST_DATABASE_URL;
if (!url) throw new Error('HOOKD_TEST_DATABASE_URL is not set: run the tests through `npm test`, which starts PostgreSQL');

const HOT_STATEMENTS = [
  'hookd_ack_record_results',
  'hookd_ack_lock_queue_states',
  'hookd_app_endpoints',
  'hookd_claim_lease',
  'hookd_claim_ready_endpoints',
  'hookd_claim_settle',
  'hookd_insert_deliveries',
  'hookd_insert_messages',
  'hookd_ready_by_work',
  'hookd_write_queue_states',
];

let store: PostgresStore;
let db: PostgresDb;
let drop: () => Promise<void>;
let appId: string;

before(async () => {
  const fresh = await freshPostgresSchema(url);
  drop = fresh.drop;
  // One connection: every operation below runs on it, so its session's prepared statements are the store's.
  store = new PostgresStore({ url, schema: fresh.schema, poolSize: 1 });
  await store.migrate();
  // White box: the pool is private to the store; this test reads its one session's pg_prepared_statements.
  db = (store as unknown as { db: PostgresDb }).db;
  appId = newId('app');
  await store.createApp({ id: appId, uid: null, name: 'prepared', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: Date.now(), updatedAt: Date.now() });
  await store.createEndpoint(newEndpoint({ appId, url: 'http://127.0.0.1:1/hook' }, Date.now()));
});

after(async () => {
  await store.close();
  await drop();
});

/** Ingests `n` messages, claims their deliveries and acks them as delivered; returns how many were claimed. */
async function roundTrip(n: number): Promise<number> {
  const now = Date.now();
  const messages: Message[] = Array.from({ length: n }, () => ({ id: newId('msg'), appId, eventId: null, eventType: 'user.signup', payload: '{"a":1}', channels: null, tags: null, createdAt: now }));
  await store.insertMessages(messages);
  const claimed = await store.claimDeliveries({ owner: 'w', limit: 100, leaseMs: 30_000, nowMs: now + 1 });
  await store.completeDeliveries(claimed.map((c) => delivered(c, now + 2)));
  return claimed.length;
}

function delivered(claimed: ClaimedDelivery, at: number): DeliveryResult {
  const attempt: Attempt = {
    id: newId('atmpt', at),
    messageId: claimed.message.id,
    endpointId: claimed.endpoint.id,
    deliveryId: claimed.delivery.id,
    appId,
    url: claimed.endpoint.url,
    status: 'success',
    responseStatusCode: 200,
    response: '',
    responseDurationMs: 1,
    triggerType: 0,
    error: null,
    requestHeaders: {},
    responseHeaders: null,
    createdAt: at,
  };
  return { deliveryId: claimed.delivery.id, leaseOwner: 'w', attempt, next: { status: 'succeeded' } };
}

/** The store's statements prepared on its one connection, with how many times each was planned. */
async function preparedStatements(): Promise<Map<string, number>> {
  const { rows } = await db.pool.query("SELECT name, generic_plans + custom_plans AS plans FROM pg_prepared_statements WHERE name LIKE 'hookd_%'");
  return new Map(rows.map((row) => [row.name as string, Number(row.plans)]));
}

test('ingest, claim and ack run statements prepared once on the connection, not parsed at every execution', async () => {
  const rounds = 3;
  for (let round = 0; round < rounds; round++) assert.equal(await roundTrip(5), 5, `round ${round}: every delivery claimed`);
  const prepared = await preparedStatements();
  for (const name of HOT_STATEMENTS) {
    const plans = prepared.get(name);
    assert.ok(plans !== undefined, `${name} is prepared on the connection (has: ${[...prepared.keys()].join(', ')})`);
    assert.ok(plans >= rounds, `${name} ran from its prepared statement every round (${plans} plans)`);
  }
});

test('a connection that replaces a lost one prepares the statements again', async () => {
  assert.equal(await roundTrip(3), 3);
  const pid = (await db.pool.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
  const killer = new pg.Client({ connectionString: url });
  await killer.connect();
  try {
    assert.equal((await killer.query('SELECT pg_terminate_backend($1) AS done', [pid])).rows[0].done, true);
  } finally {
    await killer.end();
  }
  // The pool drops the lost connection (its error event); the next operation gets a new one, with no statements.
  const deadline = Date.now() + 10_000;
  while (db.pool.totalCount > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(db.pool.totalCount, 0, 'the lost connection left the pool');
  const claimed = await roundTrip(4);
  assert.equal(claimed, 4, 'ingest, claim and ack work on the new connection');
  const prepared = await preparedStatements();
  assert.ok(HOT_STATEMENTS.every((name) => prepared.has(name)), 'prepared anew on the new connection');
});

test('a migration that changes a table under the prepared statements (a rolling upgrade): the transaction runs again on a new connection, wherever the stale statement was', async () => {
  const alter = async (table: string, column: string): Promise<void> => {
    const schema = (await db.pool.query('SELECT current_schema() AS s')).rows[0].s as string;
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      // What a newer hookd's `migrate` may do while this process runs: a column added to a table read with `*`.
      await other.query(`ALTER TABLE ${schema}.${table} ADD COLUMN ${column} INTEGER`);
    } finally {
      await other.end();
    }
  };
  assert.equal(await roundTrip(2), 2, 'every hot statement prepared on the connection');

  // Stale inside an ack's work (its scheduler states, read with q.*), after its first statements ran.
  const now = Date.now();
  const message: Message = { id: newId('msg'), appId, eventId: null, eventType: 'user.signup', payload: '{}', channels: null, tags: null, createdAt: now };
  await store.insertMessages([message]);
  const claimed = await store.claimDeliveries({ owner: 'w', limit: 100, leaseMs: 30_000, nowMs: now + 1 });
  assert.equal(claimed.length, 1);
  await alter('endpoint_queue', 'added_for_acks');
  await store.completeDeliveries(claimed.map((c) => delivered(c, now + 2)));
  assert.equal((await store.listMessageDeliveries(message.id))[0]!.status, 'succeeded', 'the ack applied');

  // Stale inside a claim's work (the lease's RETURNING d.*), after its first statement, with the BEGIN, ran.
  assert.equal(await roundTrip(2), 2, 'prepared again on the new connection');
  await alter('delivery', 'added_for_claims');
  assert.equal(await roundTrip(3), 3, 'ingest, claim and ack work after the schema change');
  assert.equal(await roundTrip(3), 3, 'and keep working');
});

test('the plans the connection caches while the tables are small (a fresh database) stay index probes as the tables grow', async () => {
  // Executions while the tables hold a few rows: the plans the connection caches are made then.
  for (let round = 0; round < 8; round++) assert.equal(await roundTrip(3), 3);
  const schema = (await db.pool.query('SELECT current_schema() AS s')).rows[0].s as string;
  // 50k delivered messages, written as an earlier busy hour would leave them; no ANALYZE (autovacuum has not run yet).
  await db.pool.query(`INSERT INTO ${schema}.message (id, app_id, event_type, payload, created_at)
    SELECT 'msg_grown_' || g, $1, 'user.signup', '{}', g FROM generate_series(1, 50000) g`, [appId]);
  await db.pool.query(`INSERT INTO ${schema}.delivery (id, message_id, endpoint_id, app_id, status, attempts, next_attempt_at, updated_at)
    SELECT 'dlv_grown_' || g, 'msg_grown_' || g, (SELECT id FROM ${schema}.endpoint LIMIT 1), $1, 'succeeded', 1, g, g FROM generate_series(1, 50000) g`, [appId]);
  // The plans the next executions use: the cached generic ones (planned under the hot path's settings; changing a
  // setting does not replan them), which EXPLAIN EXECUTE shows once this session forces generic plans too. Without
  // those settings the ack's update of delivery kept the hash join over a scan of the whole table it was given on a
  // few rows.
  const cached = (await db.pool.query("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE name IN ('hookd_ack_record_results', 'hookd_claim_lease')")).rows;
  assert.equal(cached.length, 2);
  for (const row of cached) assert.ok(Number(row.generic_plans) > 0 && Number(row.custom_plans) === 0, `${row.name as string} runs one generic plan: ${JSON.stringify(row)}`);
  const plans = {
    hookd_ack_record_results: `EXPLAIN EXECUTE hookd_ack_record_results(${ATTEMPT_COLUMNS.map(() => "'{}'").join(', ')}, '{dlv_x}', '{w}', '{succeeded}', '{1}', '{NULL}', '{1}', '{1}', '{ep_x}')`,
    hookd_claim_lease: "EXPLAIN EXECUTE hookd_claim_lease(1, '{ep_x}', '{10}', 'w', 2)",
  };
  await db.pool.query('SET plan_cache_mode TO force_generic_plan');
  try {
    for (const [name, explain] of Object.entries(plans)) {
      const plan = (await db.pool.query(explain)).rows.map((row) => row['QUERY PLAN'] as string).join('\n');
      assert.doesNotMatch(plan, /Seq Scan on (delivery|message)\b/, `${name} probes delivery and message by index:\n${plan}`);
    }
  } finally {
    await db.pool.query('RESET plan_cache_mode');
  }
});
