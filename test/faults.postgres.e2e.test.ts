import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../scripts/test-postgres.mjs';
import { BACKOFF_MAX_MS } from '../src/delivery/store-health.js';
import { ApiClient, LOOPBACK_ALLOW, TEST_TOKEN, eventually, freePort } from './helpers/hookd.js';
import { freshDatabase, listeningWorkers, spawnHookd, stopProcess, waitListening, waitReady, type HookdProcess } from './helpers/process.js';
import { Receiver } from './helpers/receiver.js';

/**
 * Database faults (issue 12), on a PostgreSQL server of this file's own so it can be broken: every backend
 * terminated, the server crashed and restarted, the server frozen with SIGSTOP. hookd runs as it is deployed
 * (`serve` + two `worker` processes). What users see is asserted: status codes and their timing, that no hookd
 * process exits, that every accepted (202) message is delivered, and that memory stays bounded.
 */

const DB_TIMEOUT_MS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let server: ThrowawayPostgres;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let api: ApiClient;
let receiver: Receiver;
const processes: HookdProcess[] = [];
let serve: HookdProcess;
let appId = '';
/** Message id -> the payload's i, for every 202. */
const accepted = new Map<string, number>();
let next = 0;

const running = (): string[] => processes.filter((p) => !p.running()).map((p) => `hookd ${p.command} (pid ${p.pid}) exited:\n${p.output().slice(-3000)}`);

/** Publishes one message; returns the status (0 when no HTTP answer came). */
async function publish(): Promise<{ status: number; retryAfter: string | null; ms: number }> {
  const i = next++;
  const started = Date.now();
  try {
    const response = await api.post(`/api/v1/app/${appId}/msg`, { eventType: 'fault.test', eventId: `evt-${i}`, payload: { i } });
    if (response.status === 202) accepted.set(response.body.id as string, i);
    return { status: response.status, retryAfter: response.headers.get('retry-after'), ms: Date.now() - started };
  } catch {
    return { status: 0, retryAfter: null, ms: Date.now() - started };
  }
}

async function allDelivered(timeoutMs = 60_000): Promise<void> {
  await eventually(
    () => {
      const got = new Set(receiver.requests.map((r) => String(r.headers['webhook-id'])));
      return [...accepted.keys()].every((id) => got.has(id));
    },
    timeoutMs,
    `every accepted message delivered (${accepted.size} accepted)`,
  );
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

async function terminateBackends(): Promise<number> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database.name]);
    return rows[0].n as number;
  } finally {
    await client.end();
  }
}

before(async () => {
  server = await startThrowawayPostgres();
  database = await freshDatabase(server.url, 'faults');
  receiver = await Receiver.start();
  const port = await freePort();
  const env = {
    DATABASE_URL: database.url,
    HOOKD_ADMIN_TOKEN: TEST_TOKEN,
    HOOKD_LOG_LEVEL: 'warn',
    HOOKD_SSRF_ALLOW: LOOPBACK_ALLOW,
    HOOKD_DB_TIMEOUT: `${DB_TIMEOUT_MS}ms`,
    HOOKD_REQUEST_TIMEOUT: '2s',
    HOOKD_RETRY_SCHEDULE: '200ms,500ms,1s,2s,5s',
    HOOKD_POLL_INTERVAL: '500ms',
  };
  serve = spawnHookd('serve', { ...env, HOOKD_PORT: String(port) });
  processes.push(serve);
  await waitListening(serve);
  for (let i = 0; i < 2; i++) processes.push(spawnHookd('worker', env));
  // Started, not merely spawned: a worker still starting up when the first test cuts its connections would
  // (rightly) exit with a start-up error.
  const pool = new pg.Pool({ connectionString: server.url, max: 1 });
  try {
    await Promise.all(processes.slice(1).map((w) => waitReady(w, async () => (await listeningWorkers(pool, database.name)) >= 2, 30_000, 'listening for deliveries')));
  } finally {
    await pool.end();
  }
  api = new ApiClient(`http://127.0.0.1:${port}`, TEST_TOKEN);
  appId = (await api.post('/api/v1/app', { name: 'faults' })).body.id;
  assert.equal((await api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/hook` })).status, 201);
});

after(async () => {
  // A frozen server must be thawed before it can be stopped.
  for (const pid of server?.processIds?.() ?? []) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone
    }
  }
  await Promise.all(processes.map((p) => stopProcess(p)));
  await receiver?.close();
  await database?.drop().catch(() => undefined);
  server?.stop();
});

test('every backend terminated, three times, during ingest and delivery: no hookd process exits, nothing accepted is lost, delivery resumes by itself', async () => {
  const statuses = new Map<number, number>();
  let stop = false;
  const publishers = Array.from({ length: 8 }, async () => {
    while (!stop) {
      const { status } = await publish();
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  });
  let terminated = 0;
  for (let round = 0; round < 3; round++) {
    await sleep(700);
    terminated += await terminateBackends();
  }
  await sleep(700);
  stop = true;
  await Promise.all(publishers);
  assert.ok(terminated >= 3, `backends terminated: ${terminated}`);
  assert.deepEqual(running(), [], 'no hookd process exits');
  assert.ok((statuses.get(202) ?? 0) > 50, `messages kept being accepted: ${JSON.stringify([...statuses])}`);
  for (const status of statuses.keys()) assert.ok(status === 202 || status === 503, `only 202 and 503 are answered: ${JSON.stringify([...statuses])}`);
  await allDelivered();
  console.log(`terminate backends: ${terminated} connections cut; answers ${JSON.stringify(Object.fromEntries(statuses))}; all ${accepted.size} accepted delivered`);
});

test('PostgreSQL down for 5 s: ingest answers 503 with Retry-After within the timeout, /ready is 503 within 1 s, /health stays 200; all recovers by itself', async () => {
  server.crash();
  const during: { status: number; retryAfter: string | null; ms: number }[] = [];
  const downSince = Date.now();
  while (Date.now() - downSince < 5000) {
    during.push(await publish());
    await sleep(100);
  }
  const ready = await timed(() => fetch(`${api.baseUrl}/ready`));
  const health = await fetch(`${api.baseUrl}/health`);
  server.restart();
  assert.ok(during.length > 5);
  for (const answer of during) {
    assert.equal(answer.status, 503, JSON.stringify(answer));
    assert.ok(Number(answer.retryAfter) >= 1, `Retry-After on every 503: ${JSON.stringify(answer)}`);
    assert.ok(answer.ms < DB_TIMEOUT_MS * 3 + 1000, `answered within the bound: ${answer.ms} ms`);
  }
  assert.equal(ready.value.status, 503);
  assert.ok(ready.ms < 1500, `/ready answered in ${ready.ms} ms`);
  assert.equal(health.status, 200, '/health: the process lives');
  // By itself: no restart of hookd.
  await eventually(async () => (await publish()).status === 202, 30_000, 'ingest accepted again');
  await eventually(async () => (await fetch(`${api.baseUrl}/ready`)).status === 200, 10_000, '/ready again');
  for (let i = 0; i < 20; i++) assert.equal((await publish()).status, 202);
  await allDelivered();
  assert.deepEqual(running(), [], 'no hookd process exits');
  for (const worker of processes.filter((p) => p.command === 'worker')) {
    // One line when the database goes and one when it is back, not one per retry. A worker the other one left
    // without work notices the return on its next try, which its backoff may put up to BACKOFF_MAX_MS away.
    await eventually(() => worker.output().includes('the database answers again'), BACKOFF_MAX_MS + 2000, `worker ${worker.pid} to log that the database answers again`);
    const failures = worker.output().split('\n').filter((line) => line.includes('the database failed')).length;
    assert.ok(failures >= 1 && failures <= 4, `worker ${worker.pid} logged the outage ${failures} times`);
  }
  console.log(`PostgreSQL down 5 s: ${during.length} requests answered 503 in at most ${Math.max(...during.map((a) => a.ms))} ms; /ready 503 in ${ready.ms} ms; recovered by itself`);
});

test('PostgreSQL frozen (SIGSTOP): requests are answered 503 within the deadline, memory stays bounded; it resumes after SIGCONT', async () => {
  const rssBefore = rssMb(serve.pid);
  const pids = server.processIds();
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  const answers: { status: number; ms: number }[] = [];
  let peakRss = rssBefore;
  try {
    // 200 requests a second for 8 s, none waiting for another: a flood a frozen database must not pile up.
    const started = Date.now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; Date.now() - started < 8000; i++) {
      inFlight.push(publish().then((a) => void answers.push(a)));
      if (i % 50 === 0) peakRss = Math.max(peakRss, rssMb(serve.pid));
      await sleep(5);
    }
    const ready = await timed(() => fetch(`${api.baseUrl}/ready`));
    assert.equal(ready.value.status, 503);
    assert.ok(ready.ms < 1500, `/ready answered in ${ready.ms} ms while frozen`);
    await Promise.all(inFlight);
  } finally {
    for (const pid of pids) process.kill(pid, 'SIGCONT');
  }
  const slowest = Math.max(...answers.map((a) => a.ms));
  const other = answers.filter((a) => a.status !== 503 && a.status !== 202);
  assert.deepEqual(other, [], 'every request is answered 503 (or 202 if it committed before the freeze)');
  assert.ok(answers.filter((a) => a.status === 503).length > answers.length * 0.9, 'almost all refused while frozen');
  assert.ok(slowest < DB_TIMEOUT_MS * 3 + 1500, `the slowest answer took ${slowest} ms (database timeout ${DB_TIMEOUT_MS} ms)`);
  assert.ok(peakRss < rssBefore + 60, `serve's RSS ${rssBefore.toFixed(0)} -> peak ${peakRss.toFixed(0)} MB during ${answers.length} refused requests`);
  await eventually(async () => (await publish()).status === 202, 30_000, 'ingest accepted again after SIGCONT');
  await allDelivered();
  assert.deepEqual(running(), [], 'no hookd process exits');
  console.log(`PostgreSQL frozen 8 s: ${answers.length} requests, slowest answer ${slowest} ms; serve RSS ${rssBefore.toFixed(0)} -> ${peakRss.toFixed(0)} MB; recovered`);
});

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await work();
  return { value, ms: Date.now() - started };
}

test('PostgreSQL cannot make commits durable (its synchronous standby does not answer): ingest answers 503 with Retry-After within the bound, /ready is 503; all recovers by itself once the standby is not required', async () => {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  const requireStandby = async (names: string | null): Promise<void> => {
    await admin.query(names === null ? 'ALTER SYSTEM RESET synchronous_standby_names' : `ALTER SYSTEM SET synchronous_standby_names = '${names}'`);
    await admin.query('SELECT pg_reload_conf()');
    // Each backend reads the new setting before its next statement; the signal reaches them within milliseconds.
    await sleep(300);
  };
  try {
    // A standby that does not exist: every synchronous commit waits for it (without a statement timeout).
    await requireStandby('hookd_phantom_standby');
    const answers: { status: number; retryAfter: string | null; ms: number }[] = [];
    let stop = false;
    const publishers = Array.from({ length: 4 }, async () => {
      while (!stop) answers.push(await publish());
    });
    try {
      await sleep(3000);
      const ready = await timed(() => fetch(`${api.baseUrl}/ready`));
      assert.equal(ready.value.status, 503, '/ready: commits are not durable');
      assert.ok(ready.ms < 1500, `/ready answered in ${ready.ms} ms`);
    } finally {
      stop = true;
      await Promise.all(publishers);
    }
    assert.ok(answers.length >= 4, `requests answered during the fault: ${answers.length}`);
    for (const answer of answers) {
      // Not 202: no commit was confirmed on disk and the standby.
      assert.equal(answer.status, 503, JSON.stringify(answer));
      assert.ok(Number(answer.retryAfter) >= 1, `Retry-After on every 503: ${JSON.stringify(answer)}`);
      // Up to a timeout waiting for its turn (the group commit before it waits too), then its commit: a statement
      // timeout for each statement it sends (the queue row's update, NOTIFY, COMMIT), and a second. A connection
      // given up is closed, not sent a ROLLBACK first (that waited a timeout more).
      assert.ok(answer.ms < DB_TIMEOUT_MS * 5 + 1000, `answered within the bound: ${answer.ms} ms`);
    }
    await requireStandby(null);
    await eventually(async () => (await publish()).status === 202, 30_000, 'ingest accepted again');
    await eventually(async () => (await fetch(`${api.baseUrl}/ready`)).status === 200, 10_000, '/ready again');
    await allDelivered();
    assert.deepEqual(running(), [], 'no hookd process exits');
    console.log(`synchronous standby missing: ${answers.length} requests answered 503 in at most ${Math.max(...answers.map((a) => a.ms))} ms; recovered, every accepted message delivered`);
  } finally {
    await requireStandby(null).catch(() => undefined);
    await admin.end();
  }
});
