import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Config } from '../../src/config.js';
import { now, sleep } from './clock.js';
import { dist } from './dist.js';
import { freePort, ROOT, spawnNode, type ChildHandle, type Exit } from './processes.js';

/** How the bench runs hookd: the built CLI (dist/cli.js) as its own process, configured only through env. */

export type HookdRole = 'start' | 'serve' | 'worker';
export type Database = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export interface HookdProcess {
  role: HookdRole;
  handle: ChildHandle;
  pid: number;
  /** API base URL (null for `worker`). */
  url: string | null;
  token: string;
  /** Epoch ms (hi-res) of the spawn. */
  spawnedAt: number;
  /** SIGTERM (graceful), SIGKILL after 30 s. */
  stop(): Promise<Exit>;
}

export interface HookdRunOptions {
  role: HookdRole;
  database: Database;
  /** Extra env (HOOKD_WORKER_CONCURRENCY=...). */
  env?: Record<string, string>;
  /** Write a V8 CPU profile of this process into this directory (node --cpu-prof). */
  profileDir?: string | null;
}

/** The environment hookd gets in every scenario (plus the port and the database). */
export function hookdEnv(database: Database, port: number, token: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOOKD_HOST: '127.0.0.1',
    HOOKD_PORT: String(port),
    HOOKD_ADMIN_TOKEN: token,
    HOOKD_LOG_LEVEL: 'warn',
    HOOKD_SSRF_ALLOW: '127.0.0.0/8',
    ...(database.kind === 'sqlite' ? { HOOKD_SQLITE_PATH: database.path, HOOKD_DATA_DIR: join(database.path, '..') } : { DATABASE_URL: database.url }),
    ...tuning(),
    ...extra,
  };
}

/** HOOKD_* settings from the bench's own environment (`HOOKD_WORKER_BATCH=256 npm run bench`), for tuning runs. */
function tuning(): Record<string, string> {
  const controlled = new Set(['HOOKD_HOST', 'HOOKD_PORT', 'HOOKD_ADMIN_TOKEN', 'HOOKD_SQLITE_PATH', 'HOOKD_DATA_DIR', 'HOOKD_DATABASE_URL']);
  return Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[0].startsWith('HOOKD_') && !controlled.has(entry[0]) && entry[1] !== undefined),
  );
}

/** The configuration hookd derives from that environment (for the report: what the figures were measured with). */
export function effectiveConfig(database: Database, extra: Record<string, string> = {}): Config {
  return dist().loadConfig(hookdEnv(database, 0, 'x'.repeat(32), extra));
}

export function newToken(): string {
  return `bench_${randomBytes(24).toString('hex')}`;
}

export async function startHookd(options: HookdRunOptions): Promise<HookdProcess> {
  const port = await freePort();
  const token = newToken();
  // hookd start runs with the node options `npm start` gives it; BENCH_HOOKD_NODE_ARGS adds to them (a later option
  // wins) for tuning runs (`--max-semi-space-size=8`).
  const tuningArgs = (process.env.BENCH_HOOKD_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const nodeArgs = [...(options.role === 'start' ? dist().nodeArgs : []), ...tuningArgs, ...(options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [])];
  const spawnedAt = now();
  const handle = spawnNode(`hookd ${options.role}`, join(ROOT, 'dist', 'cli.js'), [options.role], {
    env: hookdEnv(options.database, port, token, options.env),
    nodeArgs,
  });
  const url = options.role === 'worker' ? null : `http://127.0.0.1:${port}`;
  if (url) await waitHealthy(handle, url);
  return {
    role: options.role,
    handle,
    pid: handle.pid,
    url,
    token,
    spawnedAt,
    async stop() {
      const exit = await handle.stop('SIGTERM', 30_000);
      if (exit.code !== 0) process.stderr.write(`  warning: hookd ${options.role} exited with ${exit.signal ?? exit.code}:\n${handle.output().slice(-2000)}\n`);
      return exit;
    },
  };
}

async function waitHealthy(handle: ChildHandle, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!handle.running()) throw new Error(`${handle.name} exited during start-up:\n${handle.output().slice(-4000)}`);
    try {
      const response = await fetch(`${url}/health`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${handle.name} was not healthy after ${timeoutMs} ms:\n${handle.output().slice(-4000)}`);
}

/** A small admin client for setting a scenario up through the public API. */
export class HookdApi {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}

  private async post(path: string, body: unknown): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`POST ${path} answered ${response.status}: ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  }

  async createApp(uid: string): Promise<string> {
    return (await this.post('/api/v1/app', { name: `bench ${uid}`, uid })).id as string;
  }

  async createEndpoint(app: string, url: string): Promise<string> {
    return (await this.post(`/api/v1/app/${app}/endpoint`, { url, description: 'bench receiver' })).id as string;
  }
}

/** Path + headers of POST /api/v1/app/{app}/msg. */
export function ingestRequest(app: string, token: string): { path: string; headers: Record<string, string> } {
  return { path: `/api/v1/app/${app}/msg`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } };
}
