import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { newEndpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import { generateSecret } from '../../src/domain/signing.js';
import { MaintenanceLoop } from '../../src/maintenance/maintenance.js';
import { startHookd, type RunningHookd } from '../../src/server.js';
import { idLowerBound } from '../../src/store/retention.js';
import type { PurgeResult, Store } from '../../src/store/store.js';
import { ApiClient, eventually, TEST_TOKEN, tempDir, testEnv } from '../helpers/hookd.js';
import { recordingPurges } from '../helpers/purges.js';
import { Receiver } from '../helpers/receiver.js';
import { storeAdapters } from '../helpers/store-adapters.js';

/**
 * Retention: the maintenance loop purges messages (with deliveries and attempts) older than HOOKD_RETENTION and
 * expired idempotency keys, in bounded batches. The store methods themselves are in the contract suite.
 */

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const silent = pino({ level: 'silent' });

test('an id lower bound sorts above every id made earlier and not above any id made at or after it', () => {
  for (const at of [T0, T0 + 999, T0 + 1_000, T0 + 123_456_789]) {
    const bound = idLowerBound('msg', at);
    for (let i = 0; i < 50; i++) {
      assert.ok(newId('msg', at - 1) < bound, 'made 1 ms earlier');
      assert.ok(newId('msg', at - 1_000) < bound, 'made 1 s earlier');
      assert.ok(newId('msg', at) >= bound, 'made at the bound');
      assert.ok(newId('msg', at + 1) > bound, 'made later');
    }
  }
  assert.equal(idLowerBound('msg', 0), `msg_${'0'.repeat(27)}`, 'before the KSUID epoch: nothing sorts below');
});

for (const adapter of storeAdapters) {
  describe(`maintenance loop: ${adapter.name}`, () => {
    let store: Store;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await adapter.open());
    });
    after(async () => close());

    test('one pass purges everything older than the retention in batches of the configured size, and expired idempotency keys', async () => {
      const app = { id: newId('app', T0), uid: null, name: 'retention', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: T0, updatedAt: T0 };
      await store.createApp(app);
      const message = (at: number) => ({ id: newId('msg', at), appId: app.id, eventId: null, eventType: 'a.b', payload: '{}', channels: null, tags: null, createdAt: at });
      const old = Array.from({ length: 7 }, (_, i) => message(T0 + i));
      const young = [message(T0 + 31 * DAY), message(T0 + 40 * DAY)];
      await store.insertMessages([...old, ...young]);
      for (const key of ['k1', 'k2', 'k3', 'k4']) await store.beginIdempotent('scope', key, 'hash', T0, 60_000, DAY);
      await store.beginIdempotent('scope', 'fresh', 'hash', T0 + 40 * DAY, 60_000, DAY);
      // App-portal tokens: one expired two days before the pass (purged), one an hour before (kept a day), and an
      // admin key that never expires.
      const token = (name: string, expiresAt: number | null) => ({ id: newId('key', T0), appId: null, name, prefix: name, createdAt: T0, revokedAt: null, expiresAt, readOnly: false, capabilities: null });
      await store.createApiKey(token('old', T0 + 38 * DAY), 'hash-old-token');
      await store.createApiKey(token('recent', T0 + 40 * DAY - 3_600_000), 'hash-recent-token');
      await store.createApiKey(token('admin', null), 'hash-admin-key');
      // Recoveries' task records: four older than the retention, one younger.
      const task = (at: number) => ({ id: newId('qtask', at), appId: app.id, task: 'endpoint.recover' as const, status: 'finished' as const, data: { recovered: 1 }, updatedAt: at });
      const oldTasks = Array.from({ length: 4 }, (_, i) => task(T0 + i));
      const youngTask = task(T0 + 39 * DAY);
      for (const t of [...oldTasks, youngTask]) await store.saveBackgroundTask(t);

      const loop = new MaintenanceLoop({ store, retentionMs: 30 * DAY, idempotencyTtlMs: DAY, intervalMs: 60_000, batchSize: 3, logger: silent, clock: () => T0 + 40 * DAY });
      const report = await loop.runOnce();
      // 7 old messages in batches of 3: 3 + 3 + 1; 4 old tasks: 3 + 1; 4 expired keys: 3 + 1; 1 expired token: 1.
      assert.deepEqual(report, { messages: 7, deliveries: 0, attempts: 0, idempotencyKeys: 4, apiKeys: 1, backgroundTasks: 4, batches: 8 });
      for (const t of oldTasks) assert.equal(await store.getBackgroundTask(t.id, null), null, 'older than the retention: purged');
      assert.deepEqual(await store.getBackgroundTask(youngTask.id, app.id), youngTask, 'younger than the retention: kept');
      assert.equal(await store.findApiKeyByHash('hash-old-token'), null, 'expired for more than a day: deleted');
      assert.ok(await store.findApiKeyByHash('hash-recent-token'), 'expired less than a day ago: still there (refused as expired)');
      assert.ok(await store.findApiKeyByHash('hash-admin-key'), 'no expiry: kept');
      for (const m of old) assert.equal(await store.getMessage(app.id, m.id), null);
      for (const m of young) assert.equal((await store.getMessage(app.id, m.id))?.id, m.id, 'younger than the retention: kept');
      assert.deepEqual(await store.beginIdempotent('scope', 'fresh', 'hash', T0 + 40 * DAY + 1, 60_000, DAY), { state: 'in_progress' }, 'a live key stays');
      assert.deepEqual(await loop.runOnce(), { messages: 0, deliveries: 0, attempts: 0, idempotencyKeys: 0, apiKeys: 0, backgroundTasks: 0, batches: 4 });
      await loop.stop();
    });

    test("a pass goes on past a disabled endpoint's old backlog, each transaction passing over at most a batch of its pending messages, and purges what follows", async () => {
      const held = { id: newId('app', T0), uid: null, name: 'held', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: T0, updatedAt: T0 };
      const quiet = { ...held, id: newId('app', T0), name: 'quiet' };
      for (const a of [held, quiet]) await store.createApp(a);
      const endpoint = newEndpoint({ appId: held.id, url: 'http://127.0.0.1:9/held' }, T0);
      await store.createEndpoint(endpoint);
      const message = (appId: string, at: number) => ({ id: newId('msg', at), appId, eventId: null, eventType: 'a.b', payload: '{}', channels: null, tags: null, createdAt: at });
      // 25 old messages still pending to the (disabled) endpoint, then 4 old ones of an application without endpoints.
      const pending = Array.from({ length: 25 }, (_, i) => message(held.id, T0 + 100 + i));
      const purgeable = Array.from({ length: 4 }, (_, i) => message(quiet.id, T0 + 200 + i));
      await store.insertMessages([...pending, ...purgeable]);
      await store.updateEndpoint({ ...endpoint, disabled: true, disabledReason: 'disabled by API', updatedAt: T0 + 300 });
      const calls: PurgeResult[] = [];
      const observed = recordingPurges(store, calls);
      const loop = new MaintenanceLoop({ store: observed, retentionMs: 30 * DAY, idempotencyTtlMs: DAY, intervalMs: 60_000, batchSize: 3, logger: silent, clock: () => T0 + 40 * DAY });
      const report = await loop.runOnce();
      assert.equal(report.messages, 4, 'what follows the backlog is purged in the same pass');
      for (const m of purgeable) assert.equal(await store.getMessage(quiet.id, m.id), null);
      for (const m of pending) assert.equal((await store.getMessage(held.id, m.id))?.id, m.id, 'a message with a pending delivery stays');
      let from = '';
      for (const call of calls) {
        const passed = pending.filter((m) => m.id > from && m.id <= call.resumeAfter).length;
        assert.ok(passed <= 3, `one transaction passed over ${passed} pending messages`);
        from = call.resumeAfter;
      }
      assert.ok(calls.slice(0, -1).every((call) => call.more || call.messages + call.deliveries + call.attempts === 3), 'the pass stopped only at the end');
      await loop.stop();
    });
  });
}

describe('retention in a running hookd (injected clock)', () => {
  let running: RunningHookd;
  let api: ApiClient;
  let receiver: Receiver;
  let offsetMs = 0;
  const temp = tempDir();

  before(async () => {
    receiver = await Receiver.start();
    const config = loadConfig(
      testEnv(join(temp.dir, 'hookd.db'), {
        HOOKD_MAINTENANCE_INTERVAL: '100ms',
        HOOKD_RETENTION: '30d',
        HOOKD_RETENTION_BATCH: '2',
        HOOKD_IDEMPOTENCY_TTL: '1d',
        HOOKD_OPERATIONAL_WEBHOOK_URL: `${receiver.url}/ops`,
        HOOKD_OPERATIONAL_WEBHOOK_SECRET: generateSecret(),
      }),
    );
    running = await startHookd({ config, logger: silent, role: 'all', clock: () => Date.now() + offsetMs });
    api = new ApiClient(running.url!, TEST_TOKEN);
  });
  after(async () => {
    await running?.close();
    await receiver.close();
    temp.cleanup();
  });

  test('messages, their attempts and idempotency keys are gone once older than their age limit; newer ones stay', async () => {
    const app = (await api.post('/api/v1/app', { name: 'retained' })).body.id as string;
    await api.post(`/api/v1/app/${app}/endpoint`, { url: `${receiver.url}/hook` });
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await api.post(`/api/v1/app/${app}/msg`, { eventType: 'order.paid', payload: { i } }, { 'idempotency-key': `order-${i}` });
      assert.equal(response.status, 202);
      sent.push(response.body.id);
    }
    await receiver.waitFor((r) => r.filter((x) => x.path === '/hook').length === 5, 10_000, '5 deliveries');
    await eventually(async () => (await api.get(`/api/v1/app/${app}/attempt/msg/${sent[4]}`)).body.data.length === 1, 10_000, 'the attempts recorded');

    // A day later: the idempotency keys have expired (a repeat with another body is new, not a 422 mismatch).
    offsetMs = DAY + 1_000;
    await eventually(async () => {
      const again = await api.post(`/api/v1/app/${app}/msg`, { eventType: 'order.paid', payload: { other: true } }, { 'idempotency-key': 'order-0' });
      return again.status === 202 ? again : null;
    }, 10_000, 'the idempotency key to expire');

    // 31 days later: purged by the maintenance loop, in batches of 2 while the worker keeps going.
    offsetMs = 31 * DAY;
    await eventually(async () => (await api.get(`/api/v1/app/${app}/msg/${sent[4]}`)).status === 404, 10_000, 'the old messages to be purged');
    for (const id of sent) {
      assert.equal((await api.get(`/api/v1/app/${app}/msg/${id}`)).status, 404);
      assert.deepEqual((await running.store.listAttempts({ appId: app, messageId: id }, { limit: 10 })).data, [], 'its attempts too');
      assert.deepEqual(await running.store.listMessageDeliveries(id), [], 'and its delivery');
    }
    const fresh = await api.post(`/api/v1/app/${app}/msg`, { eventType: 'order.paid', payload: { fresh: true } });
    assert.equal(fresh.status, 202);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await api.get(`/api/v1/app/${app}/msg/${fresh.body.id}`)).status, 200, 'a new message stays');
  });
});
