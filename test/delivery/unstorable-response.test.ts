import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startHookd } from '../../src/server.js';
import { ApiClient, eventually, TEST_TOKEN, tempDir, testEnv } from '../helpers/hookd.js';
import { freshDatabase, testDatabaseUrl } from '../helpers/process.js';
import { Receiver } from '../helpers/receiver.js';

/**
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
