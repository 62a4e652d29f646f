import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { failingFsync, haveCompiler } from './helpers/failing-fsync.js';
import { ApiClient, LOOPBACK_ALLOW, TEST_TOKEN, eventually, freePort, startTestHookd, tempDir, type ApiResponse } from './helpers/hookd.js';
import { listeningHookd, runHookd, spawnHookd, stopProcess, waitListening } from './helpers/process.js';
import { Receiver } from './helpers/receiver.js';

/**
 * Embedded-mode faults (issue 12): a full database, a database file removed under a running hookd, an fsync that
 * fails, a second hookd on the same data directory, and the CLI run from another directory. What users see is
 * asserted, and that nothing accepted is lost.
 */

const payload = { blob: 'x'.repeat(8 * 1024) };

test('a full database (HOOKD_SQLITE_MAX_SIZE) answers 507 with Retry-After and /ready 503; nothing accepted is lost; writes come back once space is freed', async () => {
  const hookd = await startTestHookd({ env: { HOOKD_SQLITE_MAX_SIZE: String(2 * 1024 * 1024) } });
  try {
    const keep = (await hookd.api.post('/api/v1/app', { name: 'keep' })).body.id as string;
    const bulk = (await hookd.api.post('/api/v1/app', { name: 'bulk' })).body.id as string;
    const accepted: string[] = [];
    let full: ApiResponse | null = null;
    for (let i = 0; i < 1000 && !full; i++) {
      const response = await hookd.api.post(`/api/v1/app/${i % 10 === 0 ? keep : bulk}/msg`, { eventType: 'fill', payload });
      if (response.status === 202) {
        if (i % 10 === 0) accepted.push(response.body.id as string);
      } else full = response;
    }
    assert.ok(full, 'the database filled up');
    assert.equal(full.status, 507);
    assert.equal(full.body.code, 'insufficient_storage');
    assert.ok(Number(full.headers.get('retry-after')) >= 1, 'with Retry-After');
    const ready = await fetch(`${hookd.url}/ready`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { code: string }).code, 'insufficient_storage');
    assert.equal((await fetch(`${hookd.url}/health`)).status, 200, 'the process lives');
    assert.equal((await hookd.api.post(`/api/v1/app/${keep}/msg`, { eventType: 'fill', payload })).status, 507, 'still full');
    for (const id of accepted) assert.equal((await hookd.api.get(`/api/v1/app/${keep}/msg/${id}`)).status, 200, `accepted ${id} is kept`);

    // The operator frees space (here: deletes an application and its messages); no restart needed.
    assert.equal((await hookd.api.delete(`/api/v1/app/${bulk}`)).status, 204);
    await eventually(async () => (await fetch(`${hookd.url}/ready`)).status === 200, 5000, '/ready again');
    assert.equal((await hookd.api.post(`/api/v1/app/${keep}/msg`, { eventType: 'fill', payload })).status, 202, 'writes accepted again');
    console.log(`SQLite full: ${accepted.length} kept messages survived; 507 + Retry-After ${full.headers.get('retry-after')} s, /ready 503, recovered after space was freed`);
  } finally {
    await hookd.cleanup();
  }
});

test('a database that fills while deliveries are on the wire: the worker sends nothing more until results can be recorded, then every message arrives (each at most twice)', async () => {
  // The receiver holds its answers until released: the deliveries' results come back once the database is full.
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const seen = new Map<string, number>();
  const receiver = await Receiver.start(async (request, response) => {
    const id = String(request.headers['webhook-id']);
    seen.set(id, (seen.get(id) ?? 0) + 1);
    await released;
    response.writeHead(200).end('ok');
  });
  let hookd: Awaited<ReturnType<typeof startTestHookd>> | null = null;
  try {
    const running = (hookd = await startTestHookd({ env: { HOOKD_SQLITE_MAX_SIZE: String(2 * 1024 * 1024), HOOKD_REQUEST_TIMEOUT: '1500ms', HOOKD_LEASE: '2s', HOOKD_RETRY_SCHEDULE: '100ms,100ms,100ms' } }));
    const api = running.api;
    const app = (await api.post('/api/v1/app', { name: 'delivered' })).body.id as string;
    await api.post(`/api/v1/app/${app}/endpoint`, { url: `${receiver.url}/hook` });
    const filler = (await api.post('/api/v1/app', { name: 'filler' })).body.id as string;
    const sent: string[] = [];
    // As many as the endpoint's first budget (16) lets on the wire at once.
    for (let i = 0; i < 16; i++) sent.push((await api.post(`/api/v1/app/${app}/msg`, { eventType: 'e', payload: { i } })).body.id as string);
    await receiver.waitFor((r) => r.length >= 16, 5000, 'sixteen requests on the wire');
    let status = 202;
    for (let i = 0; i < 2000 && status === 202; i++) status = (await api.post(`/api/v1/app/${filler}/msg`, { eventType: 'fill', payload })).status;
    assert.equal(status, 507, 'the database is full');
    release(); // the answers arrive; their attempts cannot be recorded
    await new Promise((resolve) => setTimeout(resolve, 5 * 2000)); // five leases
    const most = Math.max(...seen.values());
    assert.ok(most <= 2, `while full, a message was sent ${most} times (deliveries sent again every lease)`);
    // Space again: what was sent is recorded or sent once more, and all of it arrives.
    assert.equal((await api.delete(`/api/v1/app/${filler}`)).status, 204);
    await eventually(async () => {
      const statuses = await Promise.all(sent.map(async (id) => (await api.get(`/api/v1/app/${app}/attempt/msg/${id}`)).body.data?.some((a: { status: number }) => a.status === 0)));
      return statuses.every(Boolean);
    }, 15_000, 'every message delivered and recorded');
    for (const id of sent) assert.ok((seen.get(id) ?? 0) <= 3, `${id} sent ${seen.get(id)} times`);
  } finally {
    release();
    await hookd?.cleanup();
    await receiver.close();
  }
});

test('the database file removed under a running hookd: /ready 503 and writes answer 503 instead of going to a deleted file', async () => {
  const temp = tempDir();
  const hookd = await startTestHookd({ dbPath: join(temp.dir, 'data', 'hookd.db') });
  try {
    const app = (await hookd.api.post('/api/v1/app', { name: 'gone' })).body.id as string;
    assert.equal((await hookd.api.post(`/api/v1/app/${app}/msg`, { eventType: 'before', payload: {} })).status, 202);
    rmSync(join(temp.dir, 'data'), { recursive: true, force: true });
    await eventually(async () => (await fetch(`${hookd.url}/ready`)).status === 503, 3000, '/ready fails');
    const write = await eventually(async () => {
      const response = await hookd.api.post(`/api/v1/app/${app}/msg`, { eventType: 'after', payload: {} });
      return response.status === 202 ? null : response;
    }, 3000, 'writes refused');
    assert.equal(write.status, 503);
    assert.equal(write.body.code, 'unavailable');
  } finally {
    await hookd.close();
    temp.cleanup();
  }
});

/**
 * The two fsyncs a durable commit can meet: hookd's own of the WAL after the commit (fs.fdatasync, see SqliteDb.syncWal),
 * and SQLite's inside the commit when the WAL starts over after a checkpoint copied all of it (its new header; SQLite
 * calls fsync). Either one failing must stop the connection the same way.
 */
const FSYNC_FAILURES = [
  { name: "hookd's own fsync of the WAL after a commit", calls: ['fdatasync'] as const, idleMs: 0, cause: /EIO/ },
  { name: "SQLite's fsync inside a commit, when the WAL starts over after a checkpoint", calls: ['fsync'] as const, idleMs: 1500, cause: /disk I\/O error/ },
];

for (const failure of FSYNC_FAILURES) {
  test(`a failing fsync (${failure.name}): that commit answers 503, writes and /ready answer 503 until a restart, and every 202 before it is there after one`, async () => {
    // Like the SDK and browser tests, it fails saying what is missing rather than skip.
    assert.ok(haveCompiler(), 'this test builds a small C library (the fsync that fails): it needs a C compiler, `cc` (Debian: apt-get install gcc)');
    const temp = tempDir();
    const flag = join(temp.dir, 'fail-fsync');
    const env = { HOOKD_DATA_DIR: temp.dir, HOOKD_ADMIN_TOKEN: TEST_TOKEN, HOOKD_LOG_LEVEL: 'warn', HOOKD_SSRF_ALLOW: LOOPBACK_ALLOW };
    const start = async (extra: Record<string, string> = {}) => {
      const proc = await listeningHookd('start', { ...env, ...extra });
      return { proc, url: proc.url, api: new ApiClient(proc.url, TEST_TOKEN) };
    };
    let hookd = await start(failingFsync(temp.dir, flag, '/hookd.db-wal', [...failure.calls]));
    try {
      const app = (await hookd.api.post('/api/v1/app', { name: 'disk' })).body.id as string;
      const accepted: string[] = [];
      for (let i = 0; i < 20; i++) {
        const response = await hookd.api.post(`/api/v1/app/${app}/msg`, { eventType: 'before', payload: { i } });
        assert.equal(response.status, 202);
        accepted.push(response.body.id as string);
      }
      // Idle for several background checkpoints (every 200 ms): the whole WAL is copied, and the next commit starts it over.
      await new Promise((resolve) => setTimeout(resolve, failure.idleMs));
      // The disk starts failing: the next commit's fsync returns EIO.
      writeFileSync(flag, '');
      const failed = await hookd.api.post(`/api/v1/app/${app}/msg`, { eventType: 'during', payload: {} });
      assert.equal(failed.status, 503, JSON.stringify(failed.body));
      assert.equal(failed.body.code, 'unavailable');
      assert.ok(Number(failed.headers.get('retry-after')) >= 1, 'with Retry-After');
      // The operator's log names the cause; the API's detail is the generic one (paths stay in the log).
      const named = new RegExp(`an fsync of .*hookd\\.db-wal failed \\(.*${failure.cause.source}.*restart hookd`);
      await eventually(async () => named.test(hookd.proc.output()), 3000, `the log names the failed fsync (${named})`);
      // The disk works again, but what it dropped is unknown: this hookd commits nothing more until it restarts.
      rmSync(flag);
      const later = await hookd.api.post(`/api/v1/app/${app}/msg`, { eventType: 'after', payload: {} });
      assert.equal(later.status, 503, JSON.stringify(later.body));
      assert.equal((await fetch(`${hookd.url}/ready`)).status, 503);
      assert.equal((await fetch(`${hookd.url}/health`)).status, 200, 'the process lives');
      assert.equal((await hookd.api.get(`/api/v1/app/${app}/msg/${accepted[0]}`)).status, 200, 'reads go on');

      await stopProcess(hookd.proc);
      hookd = await start();
      for (const id of accepted) assert.equal((await hookd.api.get(`/api/v1/app/${app}/msg/${id}`)).status, 200, `accepted ${id} is kept`);
      assert.equal((await hookd.api.post(`/api/v1/app/${app}/msg`, { eventType: 'restarted', payload: {} })).status, 202, 'writes after the restart');
      assert.equal((await fetch(`${hookd.url}/ready`)).status, 200);
    } finally {
      await stopProcess(hookd.proc, 'SIGKILL');
      temp.cleanup();
    }
  });
}

test('a disk whose fsync hangs: /ready answers 503 within about a second and /health at once, and /ready is 200 again once the disk answers', async () => {
  assert.ok(haveCompiler(), 'this test builds a small C library (the fsync that hangs): it needs a C compiler, `cc` (Debian: apt-get install gcc)');
  const temp = tempDir();
  const flag = join(temp.dir, 'stall-fsync');
  const env = { HOOKD_DATA_DIR: temp.dir, HOOKD_ADMIN_TOKEN: TEST_TOKEN, HOOKD_LOG_LEVEL: 'error', ...failingFsync(temp.dir, flag, '/hookd.db-wal', ['fdatasync'], 'stall') };
  const hookd = await listeningHookd('start', env);
  try {
    assert.equal((await fetch(`${hookd.url}/ready`)).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 600)); // past the shared probe's reuse
    writeFileSync(flag, '');
    const unstall = setTimeout(() => rmSync(flag, { force: true }), 3000); // the disk answers again after 3 s whatever happens
    const timed = async (path: string) => {
      const started = Date.now();
      const response = await fetch(`${hookd.url}${path}`);
      return { status: response.status, ms: Date.now() - started };
    };
    const [ready, health] = await Promise.all([timed('/ready'), (async () => (await new Promise((r) => setTimeout(r, 100)), timed('/health')))()]);
    assert.equal(ready.status, 503, 'not ready while the disk hangs');
    assert.ok(ready.ms < 1500, `/ready answered in ${ready.ms} ms (its bound: 1 s)`);
    assert.equal(health.status, 200);
    assert.ok(health.ms < 500, `/health answered in ${health.ms} ms while the probe's fsync hangs`);
    clearTimeout(unstall);
    rmSync(flag);
    await eventually(async () => (await fetch(`${hookd.url}/ready`)).status === 200, 5000, '/ready again once the disk answers');
  } finally {
    rmSync(flag, { force: true });
    await stopProcess(hookd, 'SIGKILL');
    temp.cleanup();
  }
});

test('a second hookd start on the same data directory stops at once, naming the first one; the first keeps serving', async () => {
  const temp = tempDir();
  const env = { HOOKD_DATA_DIR: temp.dir, HOOKD_ADMIN_TOKEN: TEST_TOKEN, HOOKD_LOG_LEVEL: 'warn', HOOKD_SSRF_ALLOW: LOOPBACK_ALLOW };
  const port = await freePort();
  const first = spawnHookd('start', { ...env, HOOKD_PORT: String(port) });
  try {
    await waitListening(first);
    const second = await runHookd('start', { ...env, HOOKD_PORT: String(await freePort()) });
    assert.equal(second.code, 1, second.output);
    assert.match(second.output, new RegExp(`another hookd \\(pid ${first.pid}\\) is already serving ${join(temp.dir, 'hookd.db').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    assert.doesNotMatch(second.output, /\n\s+at /, 'one line, no stack trace');
    assert.equal((await fetch(`http://127.0.0.1:${port}/ready`)).status, 200, 'the first is untouched');
  } finally {
    await stopProcess(first);
    temp.cleanup();
  }
  // A crashed holder's lock is stale: the next start takes it over.
});

test('hookd apikey run from another directory says where it looked instead of creating an empty database there', async () => {
  const temp = tempDir();
  try {
    const result = await runHookd('apikey list', { HOOKD_DATA_DIR: temp.dir });
    assert.equal(result.code, 2, result.output);
    assert.match(result.output, /no hookd database at .*hookd\.db: run this from the directory you run "hookd start" in/);
    assert.deepEqual(readdirSync(temp.dir), [], 'nothing created');
    assert.equal(existsSync(join(temp.dir, 'hookd.db')), false);
  } finally {
    temp.cleanup();
  }
});

test('SIGTERM with a receiver that never answers and a client that stalls its upload: hookd exits 0 after HOOKD_SHUTDOWN_TIMEOUT, the aborted attempts recorded (not counted) and no lease left', async () => {
  const temp = tempDir();
  const receiver = await Receiver.start(() => undefined); // never answers
  const env = { HOOKD_DATA_DIR: temp.dir, HOOKD_ADMIN_TOKEN: TEST_TOKEN, HOOKD_LOG_LEVEL: 'warn', HOOKD_SSRF_ALLOW: LOOPBACK_ALLOW, HOOKD_SHUTDOWN_TIMEOUT: '1s', HOOKD_REQUEST_TIMEOUT: '30s' };
  const port = await freePort();
  const hookd = spawnHookd('start', { ...env, HOOKD_PORT: String(port) });
  try {
    await waitListening(hookd);
    const api = new ApiClient(`http://127.0.0.1:${port}`, TEST_TOKEN);
    const app = (await api.post('/api/v1/app', { name: 'hanging' })).body.id as string;
    await api.post(`/api/v1/app/${app}/endpoint`, { url: `${receiver.url}/hook` });
    for (let i = 0; i < 3; i++) assert.equal((await api.post(`/api/v1/app/${app}/msg`, { eventType: 'hang', payload: { i } })).status, 202);
    await receiver.waitFor((r) => r.length >= 3, 5000, 'three requests on the wire');
    // A request whose body never finishes: its connection must not hold the shutdown (it held it without end).
    const stalled = connect(port, '127.0.0.1');
    stalled.on('error', () => undefined);
    await new Promise((resolve) => stalled.once('connect', resolve));
    stalled.write(`POST /api/v1/app/${app}/msg HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"eventType"`);
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    const exit = await stopProcess(hookd, 'SIGTERM', 15_000);
    stalled.destroy();
    const took = Date.now() - started;
    assert.equal(exit?.code, 0, hookd.output());
    assert.ok(took < 5000, `exited ${took} ms after SIGTERM (shutdown timeout 1 s)`);
    const store = new SqliteStore({ path: join(temp.dir, 'hookd.db') });
    try {
      const attempts = (await store.listAttempts({ appId: app }, { limit: 10 })).data;
      assert.equal(attempts.length, 3, 'each aborted request is on record');
      for (const attempt of attempts) {
        assert.equal(attempt.error, 'aborted: hookd is shutting down');
        const [delivery] = await store.listMessageDeliveries(attempt.messageId);
        assert.equal(delivery!.status, 'pending');
        assert.equal(delivery!.leaseOwner, null, 'its lease ended with the recorded attempt, after the request was cut');
        assert.equal(delivery!.attempts, 0, 'a request cut off by the shutdown does not count toward its attempts');
      }
    } finally {
      await store.close();
    }
  } finally {
    await stopProcess(hookd, 'SIGKILL');
    await receiver.close();
    temp.cleanup();
  }
});

