import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startHookd, type Role, type RunningHookd } from '../../src/server.js';

export const TEST_TOKEN = 'hookd_test_admin_token';

/** Test receivers listen on loopback, which the SSRF guard refuses unless allowed explicitly. */
export const LOOPBACK_ALLOW = '127.0.0.0/8,::1/128';

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'hookd-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Environment for a test instance: a short retry schedule and timeouts come from config, not from faking. */
export function testEnv(dbPath: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOOKD_PORT: '0',
    HOOKD_SQLITE_PATH: dbPath,
    HOOKD_ADMIN_TOKEN: TEST_TOKEN,
    HOOKD_RETRY_SCHEDULE: '100ms,200ms',
    HOOKD_REQUEST_TIMEOUT: '2s',
    HOOKD_POLL_INTERVAL: '200ms',
    HOOKD_LOG_LEVEL: 'silent',
    HOOKD_SSRF_ALLOW: LOOPBACK_ALLOW,
    ...extra,
  };
}

export interface TestHookd extends RunningHookd {
  url: string;
  api: ApiClient;
  dbPath: string;
}

/** Starts a real hookd (API + worker unless `role` says otherwise) on a temp SQLite file. */
export async function startTestHookd(
  options: { env?: Record<string, string>; role?: Role; dbPath?: string; logger?: Logger; clock?: () => number } = {},
): Promise<TestHookd & { cleanup: () => Promise<void> }> {
  const temp = options.dbPath ? null : tempDir();
  const dbPath = options.dbPath ?? join(temp!.dir, 'hookd.db');
  const config = loadConfig(testEnv(dbPath, options.env));
  const running = await startHookd({ config, logger: options.logger ?? pino({ level: 'silent' }), role: options.role ?? 'all', clock: options.clock });
  const url = running.url!;
  return {
    ...running,
    url,
    dbPath,
    api: new ApiClient(url, TEST_TOKEN),
    cleanup: async () => {
      await running.close();
      temp?.cleanup();
    },
  };
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A thin fetch wrapper for raw API calls (the svix SDK is exercised separately). */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  }

  get = <T = any>(path: string) => this.request<T>('GET', path);
  post = <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => this.request<T>('POST', path, body ?? {}, headers);
  put = <T = any>(path: string, body: unknown) => this.request<T>('PUT', path, body);
  patch = <T = any>(path: string, body: unknown) => this.request<T>('PATCH', path, body);
  delete = <T = any>(path: string) => this.request<T>('DELETE', path);

  /**
   * Adds these event types to the catalog (needs an admin token): an endpoint's filterTypes may only name event
   * types there, as in Svix. Names already there are left as they are.
   */
  async createEventTypes(...names: string[]): Promise<void> {
    for (const name of names) {
      const response = await this.post('/api/v1/event-type', { name, description: name });
      if (response.status !== 201 && response.status !== 409) throw new Error(`creating event type ${name}: ${response.status} ${JSON.stringify(response.body)}`);
    }
  }
}

/** Polls `check` until it returns a truthy value. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The promise rejections nobody handled while `work` ran: each would have ended a real hookd process. */
export async function unhandledRejectionsDuring(work: () => Promise<void>): Promise<unknown[]> {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => void rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  try {
    await work();
  } finally {
    process.off('unhandledRejection', onRejection);
  }
  return rejections;
}

/** A port that was free a moment ago, for a spawned process (HOOKD_PORT=0 would not tell us which it got). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
