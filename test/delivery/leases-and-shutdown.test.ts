import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { newEndpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import { HttpSender } from '../../src/delivery/http-sender.js';
import { DestinationPolicy } from '../../src/delivery/ssrf.js';
import { DeliveryWorker } from '../../src/delivery/worker.js';
import { StoreUnavailableError } from '../../src/store/failures.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { LOOPBACK_ALLOW, eventually, startTestHookd, tempDir, testEnv } from '../helpers/hookd.js';
import { Receiver, type Responder } from '../helpers/receiver.js';

/**
 * Two workers on one real SQLite store and a real receiver: what a worker does with a lease it no longer holds,
 * and what a graceful stop does with requests that never end.
 */

async function setup(responder?: Responder, env: Record<string, string> = { HOOKD_REQUEST_TIMEOUT: '5s', HOOKD_LEASE: '8s' }) {
  const temp = tempDir();
  const store = new SqliteStore({ path: join(temp.dir, 'leases.db') });
  await store.migrate();
  const receiver = await Receiver.start(responder);
  const now = Date.now();
  const app = { id: newId('app', now), uid: null, name: 'leases', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: now, updatedAt: now };
  await store.createApp(app);
  await store.createEndpoint(newEndpoint({ appId: app.id, url: `${receiver.url}/hook` }, now));
  const config = loadConfig(testEnv(join(temp.dir, 'unused.db'), { ...env, HOOKD_SSRF_ALLOW: LOOPBACK_ALLOW })).delivery;
  const sender = new HttpSender({ timeoutMs: config.requestTimeoutMs, responseBodyLimitBytes: 1024, connectionsPerOrigin: 16, destinations: new DestinationPolicy(config.ssrfAllow) });
  const publish = async (count: number): Promise<string[]> => {
    const messages = Array.from({ length: count }, (_, i) => ({ id: newId('msg'), appId: app.id, eventId: null, eventType: 't', payload: JSON.stringify({ i }), channels: null, tags: null, createdAt: Date.now() }));
    await store.insertMessages(messages);
    return messages.map((m) => m.id);
  };
  const close = async (): Promise<void> => {
    await sender.close();
    await store.close();
    await receiver.close();
    temp.cleanup();
  };
  return { store, receiver, config, sender, app, publish, close };
}

test("a worker that stalled past its lease does not send what another worker took over meanwhile; the new owner sends it once", async () => {
  const { store, receiver, config, sender, app, publish, close } = await setup();
  const silent = pino({ level: 'silent' });
  // B runs a lease ahead of A: for B, A's lease has expired.
  const b = new DeliveryWorker({ store, sender, config, logger: silent, owner: 'worker-b', clock: () => Date.now() + config.leaseMs + 1000 });
  let a: DeliveryWorker | null = null;
  try {
    // As soon as A's claim returns, A "stalls" for a whole lease (its clock jumps that far) and B, running
    // meanwhile, takes the delivery over. (The real store, observed: claims go through unchanged.)
    let skew = 0;
    const observed = new Proxy(store, {
      get(target, property) {
        if (property === 'claimDeliveries') {
          return async (...args: Parameters<typeof store.claimDeliveries>) => {
            const claimed = await target.claimDeliveries(...args);
            if (claimed.length > 0 && skew === 0) {
              skew = config.leaseMs;
              b.start();
              await receiver.waitFor((r) => r.length >= 1, 5000, "B's takeover delivery");
            }
            return claimed;
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    a = new DeliveryWorker({ store: observed, sender, config, logger: silent, owner: 'worker-a', clock: () => Date.now() + skew });
    const [id] = await publish(1);
    a.start();
    await eventually(async () => (await store.listMessageDeliveries(id!))[0]?.status === 'succeeded', 5000, 'delivered by B');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(receiver.requests.length, 1, 'sent exactly once: by B, never by A after its stall');
    assert.equal((await store.listAttempts({ appId: app.id, messageId: id! }, { limit: 10 })).data.length, 1, 'one attempt on record');
  } finally {
    await a?.stop(1000);
    await b.stop(1000);
    await close();
  }
});

test('stopping with requests that never end: they are aborted after the grace period, their attempts recorded, and only then are leases given back', async () => {
  const { store, receiver, config, sender, app, publish, close } = await setup(() => undefined); // never answers
  try {
    const worker = new DeliveryWorker({ store, sender, config, logger: pino({ level: 'silent' }), owner: 'worker-stop' });
    const ids = await publish(5);
    worker.start();
    await receiver.waitFor((r) => r.length >= 5, 5000, 'five requests on the wire');
    const started = Date.now();
    await worker.stop(500);
    const took = Date.now() - started;
    assert.ok(took >= 450 && took < 4000, `stop took ${took} ms with a 500 ms grace period`);
    for (const id of ids) {
      const [delivery] = await store.listMessageDeliveries(id);
      assert.equal(delivery!.status, 'pending');
      assert.equal(delivery!.leaseOwner, null, 'no lease left behind');
      assert.ok(delivery!.nextAttemptAt <= Date.now(), 'due again at once');
      const attempts = (await store.listAttempts({ appId: app.id, messageId: id }, { limit: 10 })).data;
      assert.equal(attempts.length, 1, 'the aborted attempt is recorded');
      assert.equal(attempts[0]!.error, 'aborted: hookd is shutting down');
    }
  } finally {
    await close();
  }
});

test('acks the database refuses are retried while the leases are renewed: another worker never sends them again, and each is recorded once', async () => {
  let answered = 0;
  // The first answer after 900 ms, the second after 1.2 s: it arrives while the first one's ack is being retried.
  const responder: Responder = async (_request, response) => {
    await new Promise((r) => setTimeout(r, answered++ === 0 ? 900 : 1200));
    response.writeHead(200);
    response.end('ok');
  };
  const { store, receiver, config, sender, app, publish, close } = await setup(responder, { HOOKD_REQUEST_TIMEOUT: '1500ms', HOOKD_LEASE: '2600ms' });
  const silent = pino({ level: process.env.DEBUG_TEST ? 'debug' : 'silent' });
  let away = true;
  let claimedOnce = false;
  // A's acks fail while the database is "away"; after its first claim A claims nothing more, so only B could take
  // over a lapsed lease (A would take it back itself, which is safe too).
  const flaky = new Proxy(store, {
    get(target, property) {
      if (property === 'completeDeliveries' && away) return async () => Promise.reject(new StoreUnavailableError('the database is away (test)'));
      if (property === 'claimDeliveries') {
        return async (...args: Parameters<typeof store.claimDeliveries>) => {
          if (claimedOnce) return [];
          const claimed = await target.claimDeliveries(...args);
          claimedOnce = claimed.length > 0;
          return claimed;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const a = new DeliveryWorker({ store: flaky, sender, config, logger: silent, owner: 'worker-a' });
  const b = new DeliveryWorker({ store, sender, config, logger: silent, owner: 'worker-b' });
  try {
    const ids = await publish(2);
    a.start();
    await receiver.waitFor((r) => r.length >= 2, 5000, 'both requests on the wire');
    // B would take over any lease that lapses: the claims' leases end 2.6 s after they were taken, before the
    // database answers again (3 s) and A's retried ack can commit.
    b.start();
    await new Promise((r) => setTimeout(r, 3000));
    away = false;
    for (const id of ids) await eventually(async () => (await store.listMessageDeliveries(id))[0]?.status === 'succeeded', 5000, 'recorded after the outage');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receiver.requests.length, 2, 'each sent once: the leases held through the ack retries');
    for (const id of ids) assert.equal((await store.listAttempts({ appId: app.id, messageId: id }, { limit: 10 })).data.length, 1);
  } finally {
    await a.stop(1000);
    await b.stop(1000);
    await close();
  }
});

test('a resend while its delivery is on the wire goes out as soon as that attempt is recorded, not a lease later', async () => {
  let first = true;
  const receiver = await Receiver.start(async (_request, response) => {
    if (first) {
      first = false;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    response.writeHead(200).end('ok');
  });
  const hookd = await startTestHookd({ env: { HOOKD_REQUEST_TIMEOUT: '3s', HOOKD_LEASE: '20s' } });
  try {
    const app = (await hookd.api.post('/api/v1/app', { name: 'resend' })).body.id as string;
    const endpoint = (await hookd.api.post(`/api/v1/app/${app}/endpoint`, { url: `${receiver.url}/hook` })).body.id as string;
    const msg = (await hookd.api.post(`/api/v1/app/${app}/msg`, { eventType: 'e', payload: { a: 1 } })).body.id as string;
    await receiver.waitFor((requests) => requests.length >= 1, 5000, 'the first request on the wire');
    const started = Date.now();
    assert.equal((await hookd.api.post(`/api/v1/app/${app}/msg/${msg}/endpoint/${endpoint}/resend`, {})).status, 202);
    // (Before: the ack that recorded the first attempt claimed the resend for this worker, which took it for its own
    // running work and left it leased, unsent, for the 20 s lease.)
    await receiver.waitFor((requests) => requests.length >= 2, 10_000, 'the resend on the wire');
    assert.ok(Date.now() - started < 4000, `resent ${Date.now() - started} ms after the request`);
  } finally {
    await hookd.cleanup();
    await receiver.close();
  }
});
