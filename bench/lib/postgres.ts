import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { onCleanup, ROOT } from './processes.js';

/**
 * PostgreSQL for the bench: a throwaway server from scripts/test-postgres.mjs, started DURABLE (fsync=on,
 * synchronous_commit=on, full_page_writes=on), or the server named by BENCH_DATABASE_URL. Each scenario gets a
 * fresh database on it.
 */

interface ThrowawayPostgres {
  url: string;
  stop(): void;
}
type StartThrowaway = (options: { durable: boolean }) => Promise<ThrowawayPostgres>;

export interface PostgresServer {
  url: string;
  /** What the server reports (SHOW): version, fsync, synchronous_commit, full_page_writes, shared_buffers... */
  settings: Record<string, string>;
  origin: 'throwaway' | 'BENCH_DATABASE_URL';
  stop(): void;
}

export async function startPostgres(): Promise<PostgresServer> {
  const external = process.env.BENCH_DATABASE_URL;
  let url: string;
  let stop = (): void => undefined;
  let origin: PostgresServer['origin'] = 'BENCH_DATABASE_URL';
  if (external) url = external;
  else {
    // A plain-JS module outside the TypeScript project: imported by path, typed here.
    const modulePath = pathToFileURL(join(ROOT, 'scripts', 'test-postgres.mjs')).href;
    const { startThrowawayPostgres } = (await import(modulePath)) as { startThrowawayPostgres: StartThrowaway };
    const server = await startThrowawayPostgres({ durable: true });
    const unregister = onCleanup(() => server.stop());
    url = server.url;
    origin = 'throwaway';
    stop = () => {
      unregister();
      server.stop();
    };
  }
  const settings = await query(url, async (client) => {
    const out: Record<string, string> = {};
    for (const name of ['server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'shared_buffers', 'max_connections']) {
      out[name] = ((await client.query(`SHOW ${name}`)).rows[0] as Record<string, string>)[name]!;
    }
    return out;
  });
  return { url, settings, origin, stop };
}

async function query<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new empty database on the server; `drop` removes it (after hookd has stopped). */
export async function freshDatabase(serverUrl: string, prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `bench_${prefix}_${randomBytes(4).toString('hex')}`;
  await query(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await query(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
