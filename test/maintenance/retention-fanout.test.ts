// Retention of messages that fanned out widely (HOOKD_MAX_ENDPOINTS_PER_APP endpoints, an attempt each): the purge
// deletes them in transactions of at most HOOKD_RETENTION_BATCH rows, deliveries and attempts included. Until 2026-12
// it took HOOKD_RETENTION_BATCH messages a transaction with all their rows: on PostgreSQL a statement of it passed the
// statement timeout, the transaction rolled back, and the next pass took the same messages again, so retention never
// advanced; on SQLite one transaction held the event loop (every tenant's requests) for all of them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { newEndpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import type { Message } from '../../src/domain/types.js';
import { MaintenanceLoop } from '../../src/maintenance/maintenance.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { PurgeResult, Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/hookd.js';
import { watchEventLoop } from '../helpers/event-loop.js';
import { recordingPurges } from '../helpers/purges.js';
import { freshPostgresSchema } from '../helpers/store-adapters.js';

const url = process.env.HOOKD_TEST_DATABASE_URL;
if (!url) throw new Error('HOOKD_TEST_DATABASE_URL is not set: run the tests through `npm test`, which starts PostgreSQL');

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const silent = pino({ level: 'silent' });
/** HOOKD_MAX_ENDPOINTS_PER_APP's default: the widest a message fans out unless configured otherwise. */
const ENDPOINTS = 1000;
/** HOOKD_RETENTION_BATCH's default. */
const BATCH = 1000;

test(`PostgreSQL: old messages fanned out to ${ENDPOINTS} endpoints are purged although deleting a batch of messages whole outlasts the statement timeout`, async () => {
  const MESSAGES = 300;
  const { schema, drop } = await freshPostgresSchema(url);
  // Seeded by a store with the usual timeout; purged by one whose HOOKD_DB_TIMEOUT (the server's statement_timeout)
  // is 100 ms. Measured on the test server (fsync off) with one transaction of HOOKD_RETENTION_BATCH messages, as
  // before: locking their 300,000 deliveries took 379 ms, deleting their attempts 181 ms, the deliveries 196 ms and
  // the messages 176 ms, so every pass failed at the first of them; now no statement took more than about 20 ms.
  const seeding = new PostgresStore({ url, schema, poolSize: 2 });
  const store = new PostgresStore({ url, schema, poolSize: 2, timeoutMs: 100 });
  const raw = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  try {
    await seeding.migrate();
    await raw.connect();
    const { appId, old, pending, recent } = await seed(seeding, MESSAGES, async (sql) => void (await raw.query(sql)));
    await raw.query('ANALYZE');

    const { loop, batches } = observedLoop(store);
    // As the maintenance loop does: a pass that fails is run again at the next interval.
    const failures: string[] = [];
    let runs = 0;
    const started = performance.now();
    while (runs < 10 && (await countOld(raw, old)) > 0) {
      runs++;
      await loop.runOnce().catch((error: Error) => failures.push(error.message));
    }
    const tookMs = performance.now() - started;
    console.log(`${MESSAGES} messages x ${ENDPOINTS} deliveries x 1 attempt purged in ${batches.length} transactions, ${runs} pass(es), ${Math.round(tookMs)} ms; failures: ${JSON.stringify(failures)}`);
    assert.equal(await countOld(raw, old), 0, `every old message purged within ${runs} passes (failures: ${failures.join('; ')})`);
    const rows = (b: PurgeResult) => b.messages + b.deliveries + b.attempts;
    assert.ok(batches.every((b) => rows(b) <= BATCH), 'no transaction deleted more rows than HOOKD_RETENTION_BATCH');
    const deleted = batches.reduce((sum, b) => sum + rows(b), 0);
    assert.equal(deleted, (MESSAGES - 1) * (1 + 2 * ENDPOINTS), 'every row of the old messages, each once');

    const left = (await raw.query('SELECT (SELECT count(*)::int FROM message) AS m, (SELECT count(*)::int FROM delivery) AS d, (SELECT count(*)::int FROM attempt) AS a')).rows[0];
    assert.deepEqual(left, { m: 2, d: 2 * ENDPOINTS, a: 2 * ENDPOINTS }, 'the message with a pending delivery and the recent one, whole');
    assert.ok(await seeding.getMessage(appId, pending), 'a message with a pending delivery stays');
    assert.ok(await seeding.getMessage(appId, recent), 'a message newer than the retention stays');
  } finally {
    await raw.end().catch(() => undefined);
    await store.close();
    await seeding.close();
    await drop();
  }
});

test(`SQLite: purging old messages fanned out to ${ENDPOINTS} endpoints gives the event loop its turns between transactions of at most ${BATCH} rows`, async () => {
  const MESSAGES = 30;
  const temp = tempDir();
  const path = join(temp.dir, 'retention.db');
  const store = new SqliteStore({ path });
  try {
    await store.migrate();
    // Deliveries finished and attempts recorded by a connection of their own on the same file (through the worker it
    // would take the test's whole budget).
    const raw = new Database(path);
    const { appId, old } = await seed(store, MESSAGES, async (sql) => void raw.exec(sql));
    raw.pragma('wal_checkpoint(TRUNCATE)');
    raw.close();

    const { loop, batches } = observedLoop(store);
    const { result: report, turns, longestMs, tookMs } = await watchEventLoop(() => loop.runOnce());
    const summary = `${MESSAGES} messages x ${ENDPOINTS} deliveries x 1 attempt purged in ${batches.length} transactions, ${Math.round(tookMs)} ms; a 1 ms timer had ${turns} turns meanwhile, the longest wait ${longestMs.toFixed(1)} ms`;
    console.log(summary);
    assert.equal(report.messages, MESSAGES - 1, 'every old message but the pending one');
    assert.ok(batches.every((b) => b.messages + b.deliveries + b.attempts <= BATCH), 'no transaction deleted more rows than HOOKD_RETENTION_BATCH');
    assert.ok(turns >= 10, `the event loop had its turns between the transactions (${summary})`);
    for (const id of old) assert.equal(await store.getMessage(appId, id), null);
  } finally {
    await store.close();
    temp.cleanup();
  }
});

/**
 * One application with ENDPOINTS endpoints and `messages` messages fanned out to all of them, created 40 days before
 * the maintenance clock (retention 30 days): every delivery succeeded with one attempt, but one message's first
 * delivery is still pending; and one message of yesterday, likewise delivered. The deliveries and attempts are written
 * by `exec` (SQL on the same database, outside the store): through ingest and the worker they would take the test's
 * whole budget.
 */
async function seed(store: Store, messages: number, exec: (sql: string) => Promise<void>) {
  const appId = newId('app', T0);
  await store.createApp({ id: appId, uid: null, name: 'wide', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: T0, updatedAt: T0 });
  const message = (at: number): Message => ({ id: newId('msg', at), appId, eventId: null, eventType: 'wide.event', payload: '{"a":1}', channels: null, tags: null, createdAt: at });
  const old = Array.from({ length: messages }, (_, i) => message(T0 + i)).map((m) => m.id);
  const recent = message(T0 + 39 * DAY);
  // Stored before the endpoints exist, so that ingest makes no deliveries: they come below, all at once.
  for (let i = 0; i < messages; i += 100) await store.insertMessages(old.slice(i, i + 100).map((id, j) => ({ ...message(T0 + i + j), id })));
  await store.insertMessages([recent]);
  for (let i = 0; i < ENDPOINTS; i++) await store.createEndpoint(newEndpoint({ appId, url: `https://receiver.example/${i}` }, T0));
  const pending = old[Math.floor(messages / 2)]!;
  await exec(`INSERT INTO delivery (id, message_id, endpoint_id, app_id, status, attempts, next_attempt_at, updated_at)
    SELECT 'dlv_' || m.id || '_' || e.id, m.id, e.id, m.app_id, 'succeeded', 1, m.created_at, m.created_at FROM message m CROSS JOIN endpoint e`);
  await exec(`UPDATE delivery SET status = 'pending' WHERE id = (SELECT min(id) FROM delivery WHERE message_id = '${pending}')`);
  await exec(`INSERT INTO attempt (id, message_id, endpoint_id, delivery_id, app_id, url, status, response_status_code, response, response_duration_ms, trigger_type, created_at)
    SELECT 'atmpt_' || id, message_id, endpoint_id, id, app_id, 'https://receiver.example', 'success', 200, '', 3, 0, updated_at FROM delivery`);
  return { appId, old: old.filter((id) => id !== pending), pending, recent: recent.id };
}

/** A maintenance loop (retention 30 days, clock at 40 days) over `store`, recording each purge transaction's result. */
function observedLoop(store: Store): { loop: MaintenanceLoop; batches: PurgeResult[] } {
  const batches: PurgeResult[] = [];
  const observed = recordingPurges(store, batches);
  const loop = new MaintenanceLoop({ store: observed, retentionMs: 30 * DAY, idempotencyTtlMs: DAY, intervalMs: 60_000, batchSize: BATCH, logger: silent, clock: () => T0 + 40 * DAY });
  return { loop, batches };
}

async function countOld(raw: pg.Client, old: string[]): Promise<number> {
  return (await raw.query('SELECT count(*)::int AS n FROM message WHERE id = ANY($1)', [old])).rows[0].n as number;
}
