import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startHookd } from '../../src/server.js';
import { ApiClient, TEST_TOKEN, tempDir, testEnv } from '../helpers/hookd.js';
import { freshDatabase, testDatabaseUrl } from '../helpers/process.js';
import { Receiver } from '../helpers/receiver.js';

/**
 * A slow receiver that many endpoints share (one SaaS origin, many tenants' endpoints) fills the worker's connections
 * to it; its endpoints are then passed over at each claim. There are more of them than a claim reads, and they were
 * due first: they used to keep their place at the head of the line, so every claim read the same ones and got
 * nothing, and tenant B's endpoint on another origin waited until the busy origin's whole backlog was sent.
 */
const BUSY_ENDPOINTS = 10;
const ANSWER_AFTER_MS = 3000;

for (const store of ['sqlite', 'postgres'] as const) {
  test(`${store}: endpoints waiting for a busy origin, more than a claim reads, do not hold back another tenant's endpoint`, async () => {
    const temp = tempDir('hookd-busy-origin-');
    const database = store === 'postgres' ? await freshDatabase(testDatabaseUrl(), 'busy_origin') : null;
    // A claim reads at most 4 endpoints; 2 connections to an origin.
    const env = {
      HOOKD_WORKER_BATCH: '4',
      HOOKD_WORKER_CONCURRENCY: '8',
      HOOKD_CONNECTIONS_PER_ORIGIN: '2',
      HOOKD_REQUEST_TIMEOUT: '10s',
      HOOKD_POLL_INTERVAL: '1s',
      ...(database ? { DATABASE_URL: database.url } : {}),
    };
    const hookd = await startHookd({ config: loadConfig(testEnv(join(temp.dir, 'hookd.db'), env)), logger: pino({ level: 'silent' }), role: 'all' });
    const slow = await Receiver.start((_request, response) => void setTimeout(() => response.writeHead(200).end('ok'), ANSWER_AFTER_MS));
    const healthy = await Receiver.start();
    try {
      const api = new ApiClient(hookd.url!, TEST_TOKEN);
      const appA = (await api.post('/api/v1/app', { name: 'tenant A' })).body.id as string;
      for (let i = 0; i < BUSY_ENDPOINTS; i++) assert.equal((await api.post(`/api/v1/app/${appA}/endpoint`, { url: `${slow.url}/a${i}` })).status, 201);
      const appB = (await api.post('/api/v1/app', { name: 'tenant B' })).body.id as string;
      assert.equal((await api.post(`/api/v1/app/${appB}/endpoint`, { url: `${healthy.url}/b` })).status, 201);
      // A's backlog: each message goes to all of A's endpoints.
      for (let i = 0; i < 5; i++) assert.equal((await api.post(`/api/v1/app/${appA}/msg`, { eventType: 'a.x', payload: { i } })).status, 202);
      await slow.waitFor((requests) => requests.length >= 2, 5000, "A's first requests: the busy origin's connections are full");

      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const sentAt = Date.now();
        assert.equal((await api.post(`/api/v1/app/${appB}/msg`, { eventType: 'b.x', payload: { i } })).status, 202);
        await healthy.waitFor((requests) => requests.length > i, 5000, `B's message ${i}`);
        latencies.push(healthy.requests[i]!.at - sentAt);
      }
      assert.ok(Math.max(...latencies) < 1000, `B's messages arrive at once (ms: ${latencies.join(', ')}), not after A's backlog`);
    } finally {
      await hookd.close();
      await slow.close();
      await healthy.close();
      await database?.drop();
      temp.cleanup();
    }
  });
}
