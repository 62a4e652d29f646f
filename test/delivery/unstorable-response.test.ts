import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startHookd } from '../../src/server.js';
import { ApiClient, eventually, TEST_TOKEN, tempDir, testEnv } from '../helpers/hookd.js';
import { freshDatabase, testDatabaseUrl } from '../helpers/process.js';
import { Receiver } from '../helpers/receiver.js';

/**
 * What a receiver answers must never stop hookd recording other tenants' results.
 *
 * A receiver may answer with any bytes. Its body is kept as UTF-8, lossy: invalid sequences and NUL as U+FFFD. On
 * PostgreSQL a NUL in text is refused, and the attempt used to fail the whole ack it shared with other tenants'
 * results: none recorded, every delivery of the batch sent again after its lease, forever for that receiver.
 */
const MESSAGES = 20;
const HOSTILE_BODY = Buffer.from([0x6f, 0x6b, 0x00, 0x21, 0xff, 0x00]); // "ok", NUL, "!", an invalid byte, NUL

for (const store of ['sqlite', 'postgres'] as const) {
  test(`${store}: a response body with NUL and invalid UTF-8 is recorded with U+FFFD, and the neighbours' acks in its batches stand`, async () => {
    const temp = tempDir('hookd-unstorable-');
    const database = store === 'postgres' ? await freshDatabase(testDatabaseUrl(), 'unstorable') : null;
    const env = { HOOKD_RETRY_SCHEDULE: '1s,2s', HOOKD_REQUEST_TIMEOUT: '1s', HOOKD_LEASE: '2s', ...(database ? { DATABASE_URL: database.url } : {}) };
    const hookd = await startHookd({ config: loadConfig(testEnv(join(temp.dir, 'hookd.db'), env)), logger: pino({ level: 'silent' }), role: 'all' });
    const receiver = await Receiver.start((request, response) => {
      if (request.path === '/hostile') response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(HOSTILE_BODY);
      else response.writeHead(200).end('ok');
    });
    try {
      const api = new ApiClient(hookd.url!, TEST_TOKEN);
      const apps: Record<'hostile' | 'healthy', string> = { hostile: '', healthy: '' };
      for (const kind of ['hostile', 'healthy'] as const) {
        apps[kind] = (await api.post('/api/v1/app', { name: kind })).body.id as string;
        assert.equal((await api.post(`/api/v1/app/${apps[kind]}/endpoint`, { url: `${receiver.url}/${kind}` })).status, 201);
      }
      // Interleaved, so that the two tenants' results share ack batches.
      const sent: Record<'hostile' | 'healthy', string[]> = { hostile: [], healthy: [] };
      await Promise.all(
        Array.from({ length: MESSAGES }, async (_, i) => {
          for (const kind of ['hostile', 'healthy'] as const) {
            const response = await api.post(`/api/v1/app/${apps[kind]}/msg`, { eventType: 'e.x', payload: { i } });
            assert.equal(response.status, 202);
            sent[kind].push(response.body.id as string);
          }
        }),
      );
      for (const kind of ['hostile', 'healthy'] as const) {
        const attempts = await eventually(async () => {
          const page = (await api.get(`/api/v1/app/${apps[kind]}/attempt/endpoint/${await endpointOf(api, apps[kind])}?limit=250`)).body.data as { msgId: string; status: number; response: string }[];
          return page.length >= MESSAGES ? page : null;
        }, 15_000);
        assert.deepEqual(new Set(attempts.map((a) => a.msgId)), new Set(sent[kind]), `${kind}: an attempt for every message`);
        for (const a of attempts) assert.equal(a.status, 0, `${kind}: every attempt a success`);
        if (kind === 'hostile') for (const a of attempts) assert.equal(a.response, 'ok\uFFFD!\uFFFD\uFFFD');
      }
      // Acked once: nothing sent again after a lease ran out (the lease is 2 s; waited past it).
      await new Promise((resolve) => setTimeout(resolve, 3000));
      for (const kind of ['hostile', 'healthy'] as const) {
        const got = receiver.requests.filter((r) => r.path === `/${kind}`).length;
        assert.equal(got, MESSAGES, `${kind}: each message delivered once`);
      }
    } finally {
      await hookd.close();
      await receiver.close();
      await database?.drop();
      temp.cleanup();
    }
  });
}

async function endpointOf(api: ApiClient, appId: string): Promise<string> {
  return ((await api.get(`/api/v1/app/${appId}/endpoint`)).body.data as { id: string }[])[0]!.id;
}

/**
 * Defence in depth: whatever else the database might refuse in one result (here a trigger on the real database
 * refuses any attempt whose response says POISON), the ack is split until that result is alone; the others in its
 * batch are recorded, and it is recorded without the receiver's text.
 */
for (const store of ['sqlite', 'postgres'] as const) {
  test(`${store}: a result the database refuses costs only itself: the rest of its batch is recorded, and it without the response`, async () => {
    const temp = tempDir('hookd-refused-');
    const dbPath = join(temp.dir, 'hookd.db');
    const database = store === 'postgres' ? await freshDatabase(testDatabaseUrl(), 'refused') : null;
    const env = { HOOKD_RETRY_SCHEDULE: '1s,2s', HOOKD_REQUEST_TIMEOUT: '1s', HOOKD_LEASE: '2s', ...(database ? { DATABASE_URL: database.url } : {}) };
    // hookd's warnings, read back: a refused batch that held results of both tenants was recorded apart.
    const warnings: { msg: string; count?: number }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
    const hookd = await startHookd({ config: loadConfig(testEnv(dbPath, env)), logger, role: 'all' });
    await refuseAttemptsSaying('POISON', database?.url ?? null, dbPath);
    const receiver = await Receiver.start((request, response) => void response.writeHead(200).end(request.path === '/poison' ? 'POISON' : 'ok'));
    try {
      const api = new ApiClient(hookd.url!, TEST_TOKEN);
      const apps: Record<'poison' | 'healthy', string> = { poison: '', healthy: '' };
      for (const kind of ['poison', 'healthy'] as const) {
        apps[kind] = (await api.post('/api/v1/app', { name: kind })).body.id as string;
        assert.equal((await api.post(`/api/v1/app/${apps[kind]}/endpoint`, { url: `${receiver.url}/${kind}` })).status, 201);
      }
      const sent: Record<'poison' | 'healthy', string[]> = { poison: [], healthy: [] };
      await Promise.all(
        Array.from({ length: MESSAGES }, async (_, i) => {
          for (const kind of ['poison', 'healthy'] as const) {
            const response = await api.post(`/api/v1/app/${apps[kind]}/msg`, { eventType: 'e.x', payload: { i } });
            assert.equal(response.status, 202);
            sent[kind].push(response.body.id as string);
          }
        }),
      );
      for (const kind of ['healthy', 'poison'] as const) {
        const attempts = await eventually(async () => {
          const page = (await api.get(`/api/v1/app/${apps[kind]}/attempt/endpoint/${await endpointOf(api, apps[kind])}?limit=250`)).body.data as { msgId: string; response: string }[];
          return page.length >= MESSAGES ? page : null;
        }, 15_000);
        assert.deepEqual(new Set(attempts.map((a) => a.msgId)), new Set(sent[kind]), `${kind}: an attempt for every message`);
        if (kind === 'healthy') for (const a of attempts) assert.equal(a.response, 'ok');
        else for (const a of attempts) assert.equal(a.response, '', 'recorded without the response the database refused');
      }
      const apart = warnings.filter((w) => w.msg === 'the database refused a batch of delivery results; recording them apart');
      assert.ok(apart.some((w) => (w.count ?? 0) > 1), `a refused batch of several results was recorded apart (batch sizes: ${apart.map((w) => w.count).join(', ')})`);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      for (const kind of ['poison', 'healthy'] as const) {
        assert.equal(receiver.requests.filter((r) => r.path === `/${kind}`).length, MESSAGES, `${kind}: each message delivered once`);
      }
    } finally {
      await hookd.close();
      await receiver.close();
      await database?.drop();
      temp.cleanup();
    }
  });
}

/** A trigger on the real database that refuses any attempt whose response contains `word`. */
async function refuseAttemptsSaying(word: string, postgresUrl: string | null, sqlitePath: string): Promise<void> {
  if (postgresUrl === null) {
    const db = new Database(sqlitePath);
    try {
      db.exec(`CREATE TRIGGER refuse_attempt BEFORE INSERT ON attempt WHEN NEW.response LIKE '%${word}%' BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END`);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(`CREATE FUNCTION refuse_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.response LIKE '%${word}%' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF; RETURN NEW; END $$`);
    await client.query('CREATE TRIGGER refuse_attempt BEFORE INSERT ON attempt FOR EACH ROW EXECUTE FUNCTION refuse_attempt()');
  } finally {
    await client.end();
  }
}
