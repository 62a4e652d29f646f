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
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { LOOPBACK_ALLOW, eventually, tempDir, testEnv } from '../helpers/hookd.js';
import { Receiver, type Responder } from '../helpers/receiver.js';

/**
 * Two workers on one real SQLite store and a real receiver: what a worker does with a lease it no longer holds,
 * and what a graceful stop does with requests that never end.
 */

async function setup(responder?: Responder) {
  const temp = tempDir();
  const store = new SqliteStore({ path: join(temp.dir, 'leases.db') });
  await store.migrate();
  const receiver = await Receiver.start(responder);
  const now = Date.now();
  const app = { id: newId('app', now), uid: null, name: 'leases', metadata: {}, rateLimit: null, createdAt: now, updatedAt: now };
  await store.createApp(app);
  await store.createEndpoint(newEndpoint({ appId: app.id, url: `${receiver.url}/hook` }, now));
  const config = loadConfig(testEnv(join(temp.dir, 'unused.db'), { HOOKD_REQUEST_TIMEOUT: '5s', HOOKD_LEASE: '8s', HOOKD_SSRF_ALLOW: LOOPBACK_ALLOW })).delivery;
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
