import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startHookd } from '../../src/server.js';
import { ApiClient, eventually, TEST_TOKEN, tempDir, testEnv } from '../helpers/hookd.js';
import { freshDatabase, testDatabaseUrl } from '../helpers/process.js';
import { Receiver, type Responder } from '../helpers/receiver.js';

/**
 * What a receiver answers must never stop hookd recording other tenants' results. Two tenants, one receiver each
 * (`/<tenant>`), their messages sent interleaved so that their results share ack batches.
 */
const MESSAGES = 20;
type Store = 'sqlite' | 'postgres';

/**
 * A receiver may answer with any bytes. Its body is kept as UTF-8, lossy: invalid sequences and NUL as U+FFFD. On
 * PostgreSQL a NUL in text is refused, and the attempt used to fail the whole ack it shared with other tenants'
 * results: none recorded, every delivery of the batch sent again after its lease, forever for that receiver.
 */
const HOSTILE_BODY = Buffer.from([0x6f, 0x6b, 0x00, 0x21, 0xff, 0x00]); // "ok", NUL, "!", an invalid byte, NUL

for (const store of ['sqlite', 'postgres'] as const) {
  test(`${store}: a response body with NUL and invalid UTF-8 is recorded with U+FFFD, and the neighbours' acks in its batches stand`, async () => {
    const answer: Responder = (request, response) => {
      if (request.path === '/hostile') response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(HOSTILE_BODY);
      else response.writeHead(200).end('ok');
    };
    await twoTenants(store, answer, ['hostile', 'healthy'], { logger: pino({ level: 'silent' }) }, async ({ attemptsOf }) => {
      for (const a of await attemptsOf('hostile')) assert.equal(a.response, 'ok\uFFFD!\uFFFD\uFFFD');
      for (const a of await attemptsOf('healthy')) assert.equal(a.response, 'ok');
    });
  });
}

/**
 * Defence in depth: whatever else the database might refuse in one result (here a trigger on the real database
 * refuses any attempt whose response says POISON), the ack is split until that result is alone; the others in its
 * batch are recorded, and it is recorded without the receiver's text.
 */
for (const store of ['sqlite', 'postgres'] as const) {
  test(`${store}: a result the database refuses costs only itself: the rest of its batch is recorded, and it without the response`, async () => {
    // hookd's warnings, read back: a refused batch that held several results was recorded apart.
    const warnings: { msg: string; count?: number }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
    const answer: Responder = (request, response) => void response.writeHead(200).end(request.path === '/poison' ? 'POISON' : 'ok');
    await twoTenants(store, answer, ['poison', 'healthy'], { logger, beforeSending: (where) => refuseAttemptsSaying('POISON', where) }, async ({ attemptsOf }) => {
      for (const a of await attemptsOf('healthy')) assert.equal(a.response, 'ok');
      for (const a of await attemptsOf('poison')) assert.equal(a.response, '', 'recorded without the response the database refused');
      const apart = warnings.filter((w) => w.msg === 'the database refused a batch of delivery results; recording them apart');
      assert.ok(apart.some((w) => (w.count ?? 0) > 1), `a refused batch of several results was recorded apart (batch sizes: ${apart.map((w) => w.count).join(', ')})`);
    });
  });
}

interface Attempt {
  msgId: string;
  status: number;
  response: string;
}

/**
 * hookd (API + worker, one process) on a fresh database of `store`, with a 2 s lease; MESSAGES messages to each of
 * `tenants`, interleaved. Checks that every message got one successful attempt and, after waiting past the lease,
 * was delivered once; `check` looks at the attempts.
 */
async function twoTenants(
  store: Store,
  answer: Responder,
  tenants: [string, string],
  options: { logger: Logger; beforeSending?: (where: { postgresUrl: string | null; sqlitePath: string }) => Promise<void> },
  check: (scenario: { attemptsOf: (tenant: string) => Promise<Attempt[]> }) => Promise<void>,
): Promise<void> {
  const temp = tempDir('hookd-responses-');
  const sqlitePath = join(temp.dir, 'hookd.db');
  const database = store === 'postgres' ? await freshDatabase(testDatabaseUrl(), 'responses') : null;
  const env = { HOOKD_RETRY_SCHEDULE: '1s,2s', HOOKD_REQUEST_TIMEOUT: '1s', HOOKD_LEASE: '2s', ...(database ? { DATABASE_URL: database.url } : {}) };
  const hookd = await startHookd({ config: loadConfig(testEnv(sqlitePath, env)), logger: options.logger, role: 'all' });
  const receiver = await Receiver.start(answer);
  try {
    await options.beforeSending?.({ postgresUrl: database?.url ?? null, sqlitePath });
    const api = new ApiClient(hookd.url!, TEST_TOKEN);
    const apps = new Map<string, { appId: string; endpointId: string; sent: string[] }>();
    for (const tenant of tenants) {
      const appId = (await api.post('/api/v1/app', { name: tenant })).body.id as string;
      const endpoint = await api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/${tenant}` });
      assert.equal(endpoint.status, 201);
      apps.set(tenant, { appId, endpointId: endpoint.body.id as string, sent: [] });
    }
    await Promise.all(
      Array.from({ length: MESSAGES }, async (_, i) => {
        for (const app of apps.values()) {
          const response = await api.post(`/api/v1/app/${app.appId}/msg`, { eventType: 'e.x', payload: { i } });
          assert.equal(response.status, 202);
          app.sent.push(response.body.id as string);
        }
      }),
    );
    const attempts = new Map<string, Attempt[]>();
    for (const [tenant, app] of apps) {
      const list = await eventually(async () => {
        const page = (await api.get(`/api/v1/app/${app.appId}/attempt/endpoint/${app.endpointId}?limit=250`)).body.data as Attempt[];
        return page.length >= MESSAGES ? page : null;
      }, 15_000, `${tenant}: an attempt for every message`);
      assert.deepEqual(new Set(list.map((a) => a.msgId)), new Set(app.sent), `${tenant}: an attempt for every message`);
      for (const a of list) assert.equal(a.status, 0, `${tenant}: every attempt a success`);
      attempts.set(tenant, list);
    }
    await check({ attemptsOf: async (tenant) => attempts.get(tenant)! });
    // Acked once: nothing sent again after a lease ran out (waited past it).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    for (const tenant of tenants) assert.equal(receiver.requests.filter((r) => r.path === `/${tenant}`).length, MESSAGES, `${tenant}: each message delivered once`);
  } finally {
    await hookd.close();
    await receiver.close();
    await database?.drop();
    temp.cleanup();
  }
}

/** A trigger on the real database that refuses any attempt whose response contains `word`. */
async function refuseAttemptsSaying(word: string, where: { postgresUrl: string | null; sqlitePath: string }): Promise<void> {
  if (where.postgresUrl === null) {
    const db = new Database(where.sqlitePath);
    try {
      db.exec(`CREATE TRIGGER refuse_attempt BEFORE INSERT ON attempt WHEN NEW.response LIKE '%${word}%' BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END`);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: where.postgresUrl });
  await client.connect();
  try {
    await client.query(`CREATE FUNCTION refuse_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.response LIKE '%${word}%' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF; RETURN NEW; END $$`);
    await client.query('CREATE TRIGGER refuse_attempt BEFORE INSERT ON attempt FOR EACH ROW EXECUTE FUNCTION refuse_attempt()');
  } finally {
    await client.end();
  }
}
