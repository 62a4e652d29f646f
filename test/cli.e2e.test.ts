import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KEY_CACHE_MS } from '../src/api/auth.js';
import { ApiClient, eventually, freePort, startTestHookd, tempDir, type TestHookd } from './helpers/hookd.js';
import { CLI, ROOT, cleanEnv } from './helpers/process.js';

/** The `hookd` CLI as a user runs it: real child processes on a temp SQLite file. */


/** A clean environment (no HOOKD_* / DATABASE_URL of ours), quiet logs, plus `extra`. */
const cliEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => cleanEnv({ HOOKD_LOG_LEVEL: 'warn', ...extra });

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `hookd <args>` to completion (bounded). */
async function runCli(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}


interface StartedCli {
  child: ChildProcess;
  url: string;
  output: () => { stdout: string; stderr: string };
  /** SIGTERM, wait for exit; SIGKILL after `timeoutMs`. Resolves the exit code and how long it took. */
  stop: (timeoutMs?: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** Waits for the exit the caller's own signals bring; SIGKILL after `timeoutMs`. */
  exit: (timeoutMs: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `hookd start` and waits until it prints its URL. */
async function startCli(env: Record<string, string>): Promise<StartedCli> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'start'], { cwd: ROOT, env: cliEnv({ HOOKD_PORT: String(port), ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const exit = async (timeoutMs: number) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const [code, signal] = await exited;
    clearTimeout(timer);
    return { code, signal };
  };
  const stop = async (timeoutMs = 10_000) => {
    const started = Date.now();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return { ...(await exit(timeoutMs)), ms: Date.now() - started };
  };
  const deadline = Date.now() + 30_000;
  while (!/listening on (http:\/\/\S+)/.test(stderr)) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop(1000);
      throw new Error(`hookd start did not come up (exit ${child.exitCode}):\n${stderr}\n${stdout}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /listening on (http:\/\/\S+)/.exec(stderr)![1]!;
  return { child, url, output: () => ({ stdout, stderr }), stop, exit };
}

const TOKEN_RE = /^hookd_[A-Za-z0-9_-]{20,}$/;

describe('hookd migrate', () => {
  const temp = tempDir('hookd-cli-');
  after(() => temp.cleanup());

  test('applies migrations on an empty database, then reports up to date', async () => {
    const env = { HOOKD_SQLITE_PATH: join(temp.dir, 'hookd.db') };
    const first = await runCli(['migrate'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /applied migrations: \S+/);
    const second = await runCli(['migrate'], env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /up to date/);
  });

  test('an unknown command exits 2 with usage', async () => {
    const result = await runCli(['frobnicate'], { HOOKD_SQLITE_PATH: join(temp.dir, 'hookd.db') });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown command "frobnicate"/);
    assert.match(result.stderr, /Usage:/);
  });

  test('an unknown or incomplete option exits 2 with usage, not a stack trace', async () => {
    for (const args of [['apikey', 'create', '--ap', 'x'], ['apikey', 'create', '--app']]) {
      const result = await runCli(args, { HOOKD_SQLITE_PATH: join(temp.dir, 'hookd.db') });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /^hookd: /);
      assert.match(result.stderr, /Usage:/);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
      assert.equal(result.stdout, '');
    }
  });

  test('invalid configuration exits 2 with a one-line message, not a stack trace', async () => {
    const result = await runCli(['migrate'], { HOOKD_SQLITE_PATH: join(temp.dir, 'hookd.db'), HOOKD_BODY_LIMIT: 'lots' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^hookd: HOOKD_BODY_LIMIT must be an integer/m);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });
});

describe('hookd apikey', () => {
  const temp = tempDir('hookd-cli-');
  const dbPath = join(temp.dir, 'hookd.db');
  const env = { HOOKD_SQLITE_PATH: dbPath };
  let hookd: TestHookd & { cleanup: () => Promise<void> };
  let appA: { id: string; uid: string };
  let appB: { id: string; uid: string };

  before(async () => {
    hookd = await startTestHookd({ dbPath });
    const a = await hookd.api.post('/api/v1/app', { name: 'A', uid: 'app-a' });
    const b = await hookd.api.post('/api/v1/app', { name: 'B', uid: 'app-b' });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    appA = a.body;
    appB = b.body;
  });

  after(async () => {
    await hookd?.cleanup();
    temp.cleanup();
  });

  test('apikey create prints an admin token on stdout that authenticates against the running hookd', async () => {
    const result = await runCli(['apikey', 'create', '--name', 'ci'], env);
    assert.equal(result.code, 0, result.stderr);
    const token = result.stdout.trim();
    assert.match(token, TOKEN_RE);
    assert.match(result.stderr, /created admin key key_\S+/);
    const api = new ApiClient(hookd.url, token);
    const list = await api.get('/api/v1/app');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.data.map((a: { uid: string }) => a.uid).sort(), ['app-a', 'app-b']);
    const created = await api.post('/api/v1/app', { name: 'C' });
    assert.equal(created.status, 201);
  });

  test('apikey create --app makes an app-scoped key: reads its app, 404 for another app, 403 creating apps', async () => {
    const result = await runCli(['apikey', 'create', '--app', 'app-a'], env);
    assert.equal(result.code, 0, result.stderr);
    const token = result.stdout.trim();
    assert.match(token, TOKEN_RE);
    assert.match(result.stderr, new RegExp(`key for application ${appA.id}`));
    const api = new ApiClient(hookd.url, token);

    const own = await api.get(`/api/v1/app/${appA.id}`);
    assert.equal(own.status, 200);
    assert.equal(own.body.uid, 'app-a');
    assert.equal((await api.get('/api/v1/app/app-a')).status, 200);
    const ownMessage = await api.post('/api/v1/app/app-a/msg', { eventType: 'scoped.ok', payload: {} });
    assert.equal(ownMessage.status, 202);

    const other = await api.get(`/api/v1/app/${appB.id}`);
    assert.equal(other.status, 404);
    assert.equal(other.body.code, 'not_found');
    assert.equal((await api.get('/api/v1/app/app-b/msg')).status, 404);
    assert.equal((await api.post('/api/v1/app/app-b/msg', { eventType: 'scoped.no', payload: {} })).status, 404);

    const listed = await api.get('/api/v1/app');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.data.map((a: { id: string }) => a.id), [appA.id]);

    const create = await api.post('/api/v1/app', { name: 'not allowed' });
    assert.equal(create.status, 403);
    assert.equal(create.body.code, 'insufficient_access');
  });

  test('apikey create --app for an unknown app exits 2 without printing a token', async () => {
    const result = await runCli(['apikey', 'create', '--app', 'no-such-app'], env);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /no application "no-such-app"/);
  });

  test('apikey list shows key ids and prefixes but never a token; apikey revoke makes that token 401', async () => {
    const created = await runCli(['apikey', 'create', '--name', 'to-revoke'], env);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    const keyId = /created admin key (key_\S+)/.exec(created.stderr)?.[1];
    assert.ok(keyId, created.stderr);
    const api = new ApiClient(hookd.url, token);
    assert.equal((await api.get('/api/v1/app')).status, 200);

    const list = await runCli(['apikey', 'list'], env);
    assert.equal(list.code, 0, list.stderr);
    const line = list.stdout.split('\n').find((l) => l.startsWith(`${keyId}\t`));
    assert.ok(line, `key ${keyId} listed in:\n${list.stdout}`);
    assert.match(line, /\tadmin\tto-revoke\t.*\tactive$/);
    assert.ok(!list.stdout.includes(token), 'the token is never listed');
    assert.ok(!list.stdout.includes(token.slice(-20)), 'not even its tail');
    assert.ok(line.includes(token.slice(0, 12)), 'the prefix is listed');

    const revoke = await runCli(['apikey', 'revoke', keyId], env);
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.match(revoke.stdout, new RegExp(`revoked ${keyId}`));

    // Revoked by another process: the running hookd remembers a valid key for up to KEY_CACHE_MS.
    const denied = await eventually(
      async () => {
        const response = await api.get('/api/v1/app');
        return response.status === 401 ? response : null;
      },
      KEY_CACHE_MS + 2000,
      'the revoked token refused',
    );
    assert.equal(denied.body.code, 'authentication_failed');
    // Other keys keep working.
    assert.equal((await hookd.api.get('/api/v1/app')).status, 200);

    const listAgain = await runCli(['apikey', 'list'], env);
    assert.match(listAgain.stdout.split('\n').find((l) => l.startsWith(`${keyId}\t`)) ?? '', /\trevoked \S+$/);

    const twice = await runCli(['apikey', 'revoke', keyId], env);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /no active key/);
  });

  test('apikey without a subcommand, or revoke without an id, exits 2 with usage', async () => {
    assert.equal((await runCli(['apikey'], env)).code, 2);
    const revoke = await runCli(['apikey', 'revoke'], env);
    assert.equal(revoke.code, 2);
    assert.match(revoke.stderr, /usage: hookd apikey revoke <key id>/);
  });
});

describe('hookd start', () => {
  const temp = tempDir('hookd-cli-');
  const env = { HOOKD_SQLITE_PATH: join(temp.dir, 'hookd.db') };
  let server: StartedCli | null = null;

  after(async () => {
    await server?.stop(2000);
    temp.cleanup();
  });

  test('on an empty database prints the URL and a bootstrap admin token that works', async () => {
    const started = (server = await startCli(env));
    // The banner is several writes: the listening line can arrive before the rest.
    const stderr = await eventually(() => (/Admin API token[^\n]*\n/.test(started.output().stderr) ? started.output().stderr : null), 5000, 'the whole start banner');
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(stderr, /API docs: http:\/\/127\.0\.0\.1:\d+\/docs/);
    const token = /Admin API token \(shown once, store it now\): (\S+)/.exec(stderr)?.[1];
    assert.ok(token, `bootstrap token in:\n${stderr}`);
    assert.match(token, TOKEN_RE);
    const api = new ApiClient(server.url, token);
    const created = await api.post('/api/v1/app', { name: 'from bootstrap' });
    assert.equal(created.status, 201);
  });

  test('answers /health, /ready, /openapi.json and /docs', async () => {
    assert.ok(server, 'started by the previous test');
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });

    const ready = await fetch(`${server.url}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });

    const openapi = await fetch(`${server.url}/openapi.json`);
    assert.equal(openapi.status, 200);
    assert.match(openapi.headers.get('content-type') ?? '', /application\/json/);
    const doc = JSON.parse(await openapi.text());
    assert.match(doc.openapi, /^3\./);
    assert.ok(doc.paths['/api/v1/app/{app_id}/msg'], `paths: ${Object.keys(doc.paths).join(', ')}`);
    assert.ok(doc.paths['/api/v1/app/{app_id}/msg'].post);
    assert.ok(doc.paths['/api/v1/app'].get);

    const docs = await fetch(`${server.url}/docs`);
    assert.equal(docs.status, 200);
    assert.match(docs.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await docs.text(), /<html/i);
  });

  test('exits 0 within 10 s on SIGTERM', async () => {
    assert.ok(server, 'started by the first test');
    const { code, signal, ms } = await server.stop(10_000);
    assert.equal(signal, null, `killed by ${signal} after ${ms} ms`);
    assert.equal(code, 0, server.output().stderr);
    assert.ok(ms < 10_000, `took ${ms} ms`);
    server = null;
  });

  test('with its stdout and stderr pipes closed from the start (a `| head` that ended, a dead log shipper) it comes up, serves and exits 0 on SIGTERM', async () => {
    const quiet = tempDir('hookd-cli-pipe-');
    try {
      for (let round = 0; round < 2; round++) {
        const port = await freePort();
        const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'start'], {
          cwd: ROOT,
          env: cliEnv({ HOOKD_SQLITE_PATH: join(quiet.dir, 'hookd.db'), HOOKD_PORT: String(port), HOOKD_LOG_LEVEL: 'info', HOOKD_LOG_REQUESTS: 'true' }),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
        // The reader goes away before hookd writes anything: its logs, and the first start's banner on stderr, meet EPIPE.
        child.stdout.destroy();
        child.stderr.destroy();
        const kill = setTimeout(() => child.kill('SIGKILL'), 40_000);
        try {
          await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.status === 200, 30_000, `round ${round}: hookd up without its logs`);
          for (let i = 0; i < 20; i++) assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200, 'serving without its logs');
          await Promise.all(Array.from({ length: 20 }, () => fetch(`http://127.0.0.1:${port}/api/v1/app`)));
          const signalled = Date.now();
          child.kill('SIGTERM');
          const [code, signal] = await exited;
          assert.equal(signal, null, `round ${round}: killed by ${signal} after ${Date.now() - signalled} ms (it hung)`);
          assert.equal(code, 0, `round ${round}`);
          assert.ok(Date.now() - signalled < 10_000, `round ${round}: ${Date.now() - signalled} ms`);
        } finally {
          clearTimeout(kill);
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        }
      }
    } finally {
      quiet.cleanup();
    }
  });

  test('npm start (the README\'s command) stops hookd on SIGTERM to npm, as Docker, systemd or kill send it: no orphan keeps serving', async () => {
    const dir = tempDir('hookd-cli-npm-');
    const port = await freePort();
    // npm itself, as the README runs it; --ignore-scripts skips prestart's build (dist/ is built by npm install).
    const npm = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] as const : ['npm', []] as const;
    const child = spawn(npm[0], [...npm[1], 'start', '--ignore-scripts'], {
      cwd: ROOT,
      env: cliEnv({ HOOKD_SQLITE_PATH: join(dir.dir, 'hookd.db'), HOOKD_PORT: String(port), HOOKD_LOG_LEVEL: 'info' }),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, which an orphaned hookd stays in: the clean-up below reaches it too.
      detached: true,
    });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) stream.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = once(child, 'exit');
    const health = async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.status ?? 0;
    try {
      await eventually(async () => (await health()) === 200, 30_000, 'npm start to serve');
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`npm did not exit:\n${output}`)), 15_000))]);
      await eventually(async () => (await health()) === 0, 10_000, `hookd to stop with npm (still serving on ${port}):\n${output}`);
      assert.match(output, /shutting down/, 'hookd itself got the signal and shut down gracefully');
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Nothing left of the group.
      }
      dir.cleanup();
    }
  });

  test('a stop signalled twice at once (Ctrl-C under npm start reaches node from the terminal and from npm) is one graceful shutdown, exit 0', async () => {
    const dir = tempDir('hookd-cli-twice-');
    try {
      const started = await startCli({ HOOKD_SQLITE_PATH: join(dir.dir, 'hookd.db'), HOOKD_LOG_LEVEL: 'info' });
      started.child.kill('SIGINT');
      started.child.kill('SIGINT');
      const { code, signal } = await started.exit(15_000);
      assert.deepEqual([code, signal], [0, null], started.output().stdout.slice(-2000));
      assert.match(started.output().stdout, /hookd stopped/, 'the shutdown ran to its end');
    } finally {
      dir.cleanup();
    }
  });

  test('HOOKD_SHUTDOWN_DELAY: after SIGTERM /ready answers 503 while everything else serves, then it shuts down and exits 0; a second SIGTERM ends the wait', async () => {
    const dir = tempDir('hookd-cli-delay-');
    try {
      const started = await startCli({ HOOKD_SQLITE_PATH: join(dir.dir, 'hookd.db'), HOOKD_SHUTDOWN_DELAY: '3s' });
      const stderr = await eventually(() => (/Admin API token[^\n]*\n/.test(started.output().stderr) ? started.output().stderr : null), 5000, 'the start banner');
      const api = new ApiClient(started.url, /Admin API token \(shown once, store it now\): (\S+)/.exec(stderr)![1]!);
      assert.equal((await fetch(`${started.url}/ready`)).status, 200);
      const signalled = Date.now();
      started.child.kill('SIGTERM');
      const ready = await eventually(async () => {
        const answer = await fetch(`${started.url}/ready`);
        return answer.status === 503 ? answer : null;
      }, 2000, '/ready to say 503');
      assert.deepEqual(await ready.json(), { code: 'shutting_down', detail: 'hookd is shutting down: send new requests to another instance' });
      // New connections, and every other route, are still served.
      assert.equal((await fetch(`${started.url}/health`)).status, 200);
      assert.equal((await api.post('/api/v1/app', { name: 'during the delay' })).status, 201);
      const { code, signal } = await started.exit(15_000);
      const ms = Date.now() - signalled;
      assert.deepEqual([code, signal], [0, null]);
      assert.ok(ms >= 2900 && ms < 12_000, `exited ${ms} ms after SIGTERM, the delay being 3 s`);

      // A signal repeated at once is the same stop (Ctrl-C under npm start reaches node twice); one a while later
      // ends the wait.
      const again = await startCli({ HOOKD_SQLITE_PATH: join(dir.dir, 'hookd.db'), HOOKD_SHUTDOWN_DELAY: '60s' });
      const second = Date.now();
      again.child.kill('SIGTERM');
      again.child.kill('SIGTERM');
      await eventually(async () => (await fetch(`${again.url}/ready`)).status === 503, 2000, '/ready to say 503');
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await fetch(`${again.url}/health`)).status, 200, 'the doubled signal did not end the wait');
      const stopped = await again.stop(15_000);
      assert.deepEqual([stopped.code, stopped.signal], [0, null]);
      assert.ok(Date.now() - second < 12_000, `a later SIGTERM ends the 60 s wait (${Date.now() - second} ms)`);
    } finally {
      dir.cleanup();
    }
  });

  test('an unresolvable HOOKD_HOST, an unusable data directory and an unreachable PostgreSQL each end in one line, no stack trace', async () => {
    const cases: [Record<string, string>, string[], RegExp][] = [
      [{ HOOKD_HOST: 'no-such-host.invalid', HOOKD_PORT: '0' }, ['start'], /^hookd: cannot listen on no-such-host\.invalid:0: .*(ENOTFOUND|EAI_AGAIN)/m],
      [{ HOOKD_SQLITE_PATH: '', HOOKD_DATA_DIR: '/dev/null/hookd' }, ['start'], /^hookd: cannot create the data directory \/dev\/null\/hookd: .*\(set HOOKD_DATA_DIR or HOOKD_SQLITE_PATH\)/m],
      [{ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/hookd', HOOKD_DB_TIMEOUT: '1s' }, ['migrate'], /^hookd: the database is not usable: .*ECONNREFUSED.*\(check DATABASE_URL and that the server is up\)/m],
    ];
    for (const [extra, args, message] of cases) {
      const result = await runCli(args, { ...env, ...extra });
      assert.equal(result.code, 1, `${JSON.stringify(extra)}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  test('start on a port already in use exits 1 with a one-line message', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (busy.address() as AddressInfo).port;
      const result = await runCli(['start'], { ...env, HOOKD_PORT: String(port) });
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`^hookd: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`, 'm'));
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });

  test('start with its metrics port in use exits 1 saying so, and which setting to change', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (busy.address() as AddressInfo).port;
      const result = await runCli(['start'], { ...env, HOOKD_PORT: '0', HOOKD_METRICS_PORT: String(port) });
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`^hookd: cannot listen on 127\\.0\\.0\\.1:${port} for metrics: .*EADDRINUSE.*\\(set HOOKD_METRICS_PORT, or HOOKD_HOST\\)$`, 'm'));
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });

  test('start warns of a HOOKD_ variable it does not know, naming the setting meant, and runs', async () => {
    const misspelled = await startCli({ ...env, HOOKD_RETRY: '1s' });
    try {
      assert.match(misspelled.output().stdout, /ignoring settings hookd does not know: HOOKD_RETRY \(did you mean HOOKD_RETRY_SCHEDULE\?\)/);
    } finally {
      assert.equal((await misspelled.stop(10_000)).code, 0);
    }
  });

  test('a second start on the same database prints no bootstrap token', async () => {
    server = await startCli(env);
    assert.doesNotMatch(server.output().stderr, /Admin API token/);
    const { code } = await server.stop(10_000);
    assert.equal(code, 0);
    server = null;
  });
});

test('a first start that cannot listen makes no admin key: the next start prints the bootstrap token', async () => {
  const temp = tempDir('hookd-cli-');
  const env = { HOOKD_SQLITE_PATH: join(temp.dir, 'hookd.db') };
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  let server: StartedCli | null = null;
  try {
    const failed = await runCli(['start'], { ...env, HOOKD_PORT: String((busy.address() as AddressInfo).port) });
    assert.equal(failed.code, 1);
    assert.doesNotMatch(failed.stderr, /Admin API token/);
    const started = (server = await startCli(env));
    const stderr = await eventually(() => (/Admin API token[^\n]*\n/.test(started.output().stderr) ? started.output().stderr : null), 5000, 'the bootstrap token');
    const token = /Admin API token \(shown once, store it now\): (\S+)/.exec(stderr)![1]!;
    assert.equal((await new ApiClient(started.url, token).post('/api/v1/app', { name: 'after a failed start' })).status, 201);
  } finally {
    await server?.stop(2000);
    await new Promise<void>((resolve) => busy.close(() => resolve()));
    temp.cleanup();
  }
});

test('dist/cli.js runs as an executable, as `npx hookd` runs it (the build makes it executable)', async () => {
  // Not through npx itself: in a fresh clone npm exec installs the package into its cache, which runs its prepare
  // script, a build that replaces dist/ under the other tests.
  const child = spawn(join(ROOT, 'dist', 'cli.js'), ['--help'], { cwd: ROOT, env: cliEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (out += chunk));
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, out);
  assert.match(out, /hookd start/);
});
