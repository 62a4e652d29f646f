import type { App, Message } from '../../src/domain/types.js';
import { now } from './clock.js';
import { dist } from './dist.js';
import type { Database } from './hookd.js';
import { EVENT_TYPE, payloadJson } from './payload.js';

export interface PreloadResult {
  appId: string;
  endpointIds: string[];
  messages: number;
  deliveries: number;
  elapsedMs: number;
}

/**
 * Fills a hookd database with a due backlog through the Store API, with no hookd running: one app, one endpoint
 * per URL, then `messages` messages of 1 KB in transactions of `batch` (Store.insertMessages, the same call group
 * commit makes), each fanning out to every endpoint. Migrates first, as hookd would.
 */
export async function preloadBacklog(
  database: Database,
  options: { endpointUrls: string[]; messages: number; batch?: number; progress?: (done: number) => void },
): Promise<PreloadResult> {
  const started = now();
  const { openStore, newId, newEndpoint } = dist();
  const store = await openStore(database.kind === 'sqlite' ? database : { kind: 'postgres', url: database.url, poolSize: 4 });
  try {
    await store.migrate();
    const at = Date.now();
    const app: App = { id: newId('app', at), uid: 'bench-backlog', name: 'bench backlog', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: at, updatedAt: at };
    await store.createApp(app);
    const endpointIds: string[] = [];
    for (const url of options.endpointUrls) {
      const endpoint = newEndpoint({ appId: app.id, url, description: 'bench receiver' }, at);
      await store.createEndpoint(endpoint);
      endpointIds.push(endpoint.id);
    }
    const batch = options.batch ?? 500;
    let deliveries = 0;
    for (let done = 0; done < options.messages; ) {
      const size = Math.min(batch, options.messages - done);
      const createdAt = Date.now();
      const messages: Message[] = Array.from({ length: size }, (_, i) => ({
        id: newId('msg', createdAt),
        appId: app.id,
        eventId: null,
        eventType: EVENT_TYPE,
        payload: payloadJson(done + i, 0),
        channels: null,
        tags: null,
        createdAt,
      }));
      for (const result of await store.insertMessages(messages)) if (result.kind === 'inserted') deliveries += result.deliveries;
      done += size;
      options.progress?.(done);
    }
    return { appId: app.id, endpointIds, messages: options.messages, deliveries, elapsedMs: now() - started };
  } finally {
    await store.close();
  }
}

/** Message and delivery rows (by status), read straight from the database after hookd stopped: the ledger's other side. */
export async function databaseCounts(database: Database): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  if (database.kind === 'sqlite') {
    const { default: Sqlite } = await import('better-sqlite3');
    const db = new Sqlite(database.path, { readonly: true });
    try {
      for (const row of db.prepare('SELECT status, count(*) AS n FROM delivery GROUP BY status').all() as { status: string; n: number }[]) counts[row.status] = row.n;
      counts.messages = (db.prepare('SELECT count(*) FROM message').pluck().get() as number) ?? 0;
    } finally {
      db.close();
    }
  } else {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      for (const row of (await client.query('SELECT status, count(*)::int AS n FROM delivery GROUP BY status')).rows as { status: string; n: number }[]) counts[row.status] = row.n;
      counts.messages = ((await client.query('SELECT count(*)::int AS n FROM message')).rows[0] as { n: number }).n;
    } finally {
      await client.end();
    }
  }
  return counts;
}
