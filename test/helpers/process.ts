import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from './hookd.js';

/**
 * Whole-process helpers: spawn `hookd <command>` through tsx with a clean environment, wait for it, stop it,
 * and give each test file its own PostgreSQL database.
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'src', 'cli.ts');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface HookdProcess {
  readonly command: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything written to stdout and stderr so far (the last 256 KB). */
  output(): string;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<Exit>;
  /** True until the process has exited. */
  running(): boolean;
}

const OUTPUT_LIMIT = 256 * 1024;

/** The parent's environment without anything that would configure hookd or the test runner in the child. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('HOOKD_') || name === 'DATABASE_URL' || name === 'PORT' || name.startsWith('NODE_TEST')) continue;
    env[name] = value;
  }
  return Object.assign(env, extra);
}

/** Spawns `node --import tsx src/cli.ts <command>` (words separated by spaces) with `env` (on top of a cleaned copy of ours). */
export function spawnHookd(command: string, env: Record<string, string>): HookdProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...command.split(' ')], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk: string): void => {
    output += chunk;
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };
  child.stdout!.setEncoding('utf8').on('data', append);
  child.stderr!.setEncoding('utf8').on('data', append);
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: child.exitCode, signal: child.signalCode }));
  });
  if (child.pid === undefined) throw new Error(`could not spawn hookd ${command}`);
  return {
    command,
    child,
    pid: child.pid,
    output: () => output,
    exited,
    running: () => child.exitCode === null && child.signalCode === null,
  };
}

/** How many workers of this database are LISTENing for hookd_deliveries (a worker is ready once it listens). */
export async function listeningWorkers(pool: pg.Pool, database: string): Promise<number> {
  const { rows } = await pool.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND query = 'LISTEN hookd_deliveries'", [database]);
  return rows[0].n as number;
}

/** `hookd <command>` on a free port of 127.0.0.1 with `env`, once it listens: the process and its URL. */
export async function listeningHookd(command: string, env: Record<string, string>): Promise<HookdProcess & { url: string }> {
  const port = await freePort();
  const proc = spawnHookd(command, { ...env, HOOKD_PORT: String(port) });
  await waitListening(proc);
  return Object.assign(proc, { url: `http://127.0.0.1:${port}` });
}

/** Waits until `ready` holds; fails (and SIGKILLs the process) if it exits or the time runs out first. */
export async function waitReady(proc: HookdProcess, ready: () => boolean | Promise<boolean>, timeoutMs = 30_000, what = 'ready'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.running()) throw new Error(`hookd ${proc.command} (pid ${proc.pid}) exited before it was ${what}:\n${proc.output().slice(-4000)}`);
    if (await ready()) return;
    if (Date.now() > deadline) {
      proc.child.kill('SIGKILL');
      throw new Error(`hookd ${proc.command} (pid ${proc.pid}) was not ${what} after ${timeoutMs} ms:\n${proc.output().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the process prints "listening on http://..." (hookd serve / start). */
export function waitListening(proc: HookdProcess, timeoutMs = 30_000): Promise<void> {
  return waitReady(proc, () => /listening on http:\/\//.test(proc.output()), timeoutMs, 'listening');
}

/** Sends `signal` (if still running) and waits for the exit; SIGKILLs after `killAfterMs`. */
export async function stopProcess(proc: HookdProcess | null | undefined, signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 10_000): Promise<Exit | null> {
  if (!proc) return null;
  if (proc.running()) proc.child.kill(signal);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), killAfterMs);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a one-shot command (`migrate`, `apikey ...`) to completion within `timeoutMs`. */
export async function runHookd(command: string, env: Record<string, string>, timeoutMs = 60_000): Promise<Exit & { output: string }> {
  const proc = spawnHookd(command, env);
  const exit = await stopAfter(proc, timeoutMs);
  return { ...exit, output: proc.output() };
}

async function stopAfter(proc: HookdProcess, timeoutMs: number): Promise<Exit> {
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** The URL of the test PostgreSQL server; a test that needs it fails (never skips) when it is not set. */
export function testDatabaseUrl(): string {
  const url = process.env.HOOKD_TEST_DATABASE_URL;
  if (!url) throw new Error('HOOKD_TEST_DATABASE_URL is not set: run the tests through `npm test` (scripts/run-tests.mjs), which starts PostgreSQL');
  return url;
}

/**
 * A new, empty database on the test server; `drop` removes it. `drop` first gives connections that are closing
 * (pg's `Pool.end()` resolves before its clients' sockets are closed) up to 5 s to go, then cuts any left
 * (WITH (FORCE)), so a late "terminating connection" error never reaches a client the test has already ended.
 */
export async function freshDatabase(serverUrl: string, prefix = 'hookd'): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = async (work: (client: pg.Client) => Promise<void>): Promise<void> => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await work(client);
    } finally {
      await client.end();
    }
  };
  await admin(async (client) => {
    await client.query(`CREATE DATABASE ${name}`);
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const drop = (): Promise<void> =>
    admin(async (client) => {
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        const { rows } = await client.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
        if (rows[0].n === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    });
  return { name, url: url.toString(), drop };
}
