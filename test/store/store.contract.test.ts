import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bootstrapAdminKey, createApiKey, hashToken } from '../../src/auth/api-keys.js';
import { newId } from '../../src/domain/ids.js';
import { DEFAULT_SCHEDULER_POLICY, type SchedulerPolicy } from '../../src/domain/scheduler.js';
import { generateSecret } from '../../src/domain/signing.js';
import type { ApiKey, Attempt, BackgroundTask, Endpoint, EventType, Message } from '../../src/domain/types.js';
import { idLowerBound } from '../../src/store/retention.js';
import type { ClaimedDelivery, DeliveryFilter, DeliveryResult, PageRequest, Source, Store } from '../../src/store/store.js';
import { storeAdapters } from '../helpers/store-adapters.js';
import { T0, attemptFor, claim, freshStore, makeApp, makeEndpoint, makeMessage, resultOf, retry, seedEndpoint } from '../helpers/store-contract.js';

for (const adapter of storeAdapters) {
  describe(`store contract: ${adapter.name}`, () => {
    let store: Store;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await adapter.open());
    });
    after(async () => close());

    const fresh = (work: (s: Store) => Promise<void>): Promise<void> => freshStore(adapter, work);

    test('migrate is idempotent and ping answers', async () => {
      assert.deepEqual(await store.migrate(), []);
      await store.ping();
    });

    test('apps are found by id or uid and a duplicate uid is a conflict', async () => {
      const app = makeApp('acme-contract');
      await store.createApp(app);
      assert.equal((await store.getApp(app.id))?.id, app.id);
      assert.equal((await store.getApp('acme-contract'))?.id, app.id);
      await assert.rejects(store.createApp(makeApp('acme-contract')), (e: { status?: number }) => e.status === 409);
    });

    test('an app lookup never answers from before the latest write: a renamed uid, a new rate limit, a deletion', async () => {
      const app = makeApp('lookup-before');
      await store.createApp(app);
      assert.equal((await store.getApp('lookup-before'))?.rateLimit, app.rateLimit);
      assert.equal(await store.getApp('lookup-after'), null);
      await store.updateApp({ ...app, uid: 'lookup-after', rateLimit: 7, updatedAt: app.updatedAt + 1 });
      assert.equal(await store.getApp('lookup-before'), null, 'the old uid is gone');
      assert.equal((await store.getApp('lookup-after'))?.rateLimit, 7);
      assert.equal((await store.getApp(app.id))?.uid, 'lookup-after');
      // A uid that was looked up in vain before the app that has it was created.
      assert.equal(await store.getApp('lookup-later'), null);
      const later = makeApp('lookup-later');
      await store.createApp(later);
      assert.equal((await store.getApp('lookup-later'))?.id, later.id);
      await store.deleteApp(app.id);
      assert.equal(await store.getApp(app.id), null);
      assert.equal(await store.getApp('lookup-after'), null);
    });

    test("createEndpoint with a bound creates none beyond it, counting only the application's endpoints not deleted, even when the creates run at once", async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const other = await seedEndpoint(s);
        assert.equal(await s.createEndpoint(makeEndpoint(app.id, { id: newId('ep', T0) }), 2), true);
        assert.equal(await s.createEndpoint(makeEndpoint(app.id, { id: newId('ep', T0) }), 2), false, 'the third of two');
        assert.equal(await s.createEndpoint(makeEndpoint(other.app.id, { id: newId('ep', T0) }), 2), true, "another application's own count");
        await s.deleteEndpoint(app.id, endpoint.id, T0);
        // One slot is free again: of twelve creates at once (each its own transaction on PostgreSQL), exactly one wins.
        const created = await Promise.all(Array.from({ length: 12 }, () => s.createEndpoint(makeEndpoint(app.id, { id: newId('ep', T0) }), 2)));
        assert.equal(created.filter(Boolean).length, 1, JSON.stringify(created));
        assert.equal((await s.listEndpoints(app.id, { limit: 50 })).data.length, 2);
        assert.equal(await s.createEndpoint(makeEndpoint(app.id, { id: newId('ep', T0) })), true, 'without a bound, no count');
      });
    });

    test('a message fans out to one delivery per matching endpoint in the same transaction', async () => {
      const app = makeApp();
      await store.createApp(app);
      const all = makeEndpoint(app.id);
      const filtered = makeEndpoint(app.id, { id: newId('ep', T0), filterTypes: ['invoice.paid'] });
      const channelled = makeEndpoint(app.id, { id: newId('ep', T0), channels: ['eu'] });
      const disabled = makeEndpoint(app.id, { id: newId('ep', T0), disabled: true });
      for (const e of [all, filtered, channelled, disabled]) await store.createEndpoint(e);

      const plain = makeMessage(app.id);
      const onEu = makeMessage(app.id, { id: newId('msg', T0), channels: ['eu'] });
      const paid = makeMessage(app.id, { id: newId('msg', T0), eventType: 'invoice.paid' });
      const results = await store.insertMessages([plain, onEu, paid]);
      assert.deepEqual(results, [
        { kind: 'inserted', deliveries: 1 },
        { kind: 'inserted', deliveries: 2 },
        { kind: 'inserted', deliveries: 2 },
      ]);
      assert.deepEqual((await store.listMessageDeliveries(onEu.id)).map((d) => d.endpointId).sort(), [all.id, channelled.id].sort());
    });

    test('a message comes back byte for byte, read and claimed: quotes, backslashes, control characters and any Unicode in its payload, eventId, type, channels and tags', async () => {
      await fresh(async (s) => {
        const { app } = await seedEndpoint(s);
        const payloads = [
          `{"quote":"it's","backslash":"a\\\\b \\"q\\"","unicode":"é 😀 \u2028 \\u0001","newline":"a\\nb"}`,
          `{"quotes":"'''","raw controls":"\u0001\u0007\t\r\n\u001f\u007f"}`,
          `{"raw":"${'x'.repeat(3000)}'\\\\"}`,
        ];
        const sent = payloads.map((payload, i) =>
          makeMessage(app.id, { id: newId('msg', T0), payload, eventId: `evt-'${i}\\`, eventType: "type.with'quote", channels: [`chan'${i}`, 'back\\slash'], tags: [`tag"${i}`] }),
        );
        assert.deepEqual((await s.insertMessages(sent)).map((r) => r.kind), ['inserted', 'inserted', 'inserted']);
        for (const message of sent) {
          const stored = await s.getMessage(app.id, message.id);
          assert.ok(stored, message.id);
          for (const field of ['payload', 'eventId', 'eventType', 'channels', 'tags'] as const) assert.deepEqual(stored[field], message[field], field);
        }
        // What a worker signs and sends.
        const claimed = await claim(s, 'w', 10, 30_000, T0 + 1);
        assert.deepEqual(
          claimed.map((c) => c.message.payload).sort(),
          payloads.slice().sort(),
        );
      });
    });

    test('a duplicate eventId in an app is not inserted, even within one batch', async () => {
      const app = makeApp();
      await store.createApp(app);
      const first = makeMessage(app.id, { eventId: 'evt-1' });
      const again = makeMessage(app.id, { id: newId('msg', T0), eventId: 'evt-1' });
      const results = await store.insertMessages([first, again]);
      assert.equal(results[0]!.kind, 'inserted');
      assert.equal(results[1]!.kind, 'duplicate');
      assert.equal(results[1]!.kind === 'duplicate' && results[1]!.existing.id, first.id);
      assert.equal((await store.getMessage(app.id, 'evt-1'))?.id, first.id);
      // Another app may use the same eventId.
      const other = makeApp();
      await store.createApp(other);
      assert.equal((await store.insertMessages([makeMessage(other.id, { id: newId('msg', T0), eventId: 'evt-1' })]))[0]!.kind, 'inserted');
    });

    test('a message whose application was deleted before the commit is refused alone: the batch it shares is stored', async () => {
      const live = makeApp();
      const gone = makeApp();
      await store.createApp(live);
      await store.createApp(gone);
      await store.deleteApp(gone.id);
      const kept = makeMessage(live.id, { eventId: 'evt-live' });
      const results = await store.insertMessages([makeMessage(gone.id), kept, makeMessage(gone.id, { id: newId('msg', T0), eventId: 'evt-gone' })]);
      assert.deepEqual(
        results.map((r) => r.kind),
        ['no-app', 'inserted', 'no-app'],
      );
      assert.equal((await store.getMessage(live.id, 'evt-live'))?.id, kept.id);
      assert.equal(await store.getMessage(gone.id, 'evt-gone'), null);
    });

    test('a message addressed by a uid its application no longer has is refused (no-app); by the uid it has, stored', async () => {
      const moved = makeApp('uid-before');
      await store.createApp(moved);
      await store.updateApp({ ...moved, uid: 'uid-after', updatedAt: moved.updatedAt + 1 });
      const results = await store.insertMessages([
        { ...makeMessage(moved.id), addressedUid: 'uid-before' },
        { ...makeMessage(moved.id, { id: newId('msg', T0) }), addressedUid: 'uid-after' },
      ]);
      assert.deepEqual(
        results.map((r) => r.kind),
        ['no-app', 'inserted'],
      );
    });

    test('a claimed delivery is leased: not claimable again until the lease expires', async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        await s.insertMessages([makeMessage(app.id)]);
        const now = T0 + 1000;
        const claimed = await claim(s, 'worker-a', 10, 30_000, now);
        assert.equal(claimed.length, 1);
        assert.equal(claimed[0]!.endpoint.url, endpoint.url);
        assert.equal(claimed[0]!.message.payload, '{"a":1}');
        assert.equal((await claim(s, 'worker-b', 10, 30_000, now + 29_000)).length, 0);
        // The crashed worker-a never acks: after the lease, worker-b gets it.
        const reclaimed = await claim(s, 'worker-b', 10, 30_000, now + 30_001);
        assert.equal(reclaimed.length, 1);
        // worker-a's late ack does not change the delivery now owned by worker-b.
        const message = makeMessage(app.id, { id: claimed[0]!.message.id });
        await s.completeDeliveries([
          { deliveryId: claimed[0]!.delivery.id, leaseOwner: 'worker-a', attempt: attemptFor(claimed[0]!.delivery.id, message, endpoint.id, 'success', now + 30_002), next: { status: 'succeeded' } },
        ]);
        assert.equal((await s.listMessageDeliveries(message.id))[0]!.status, 'pending');
        await s.completeDeliveries([
          { deliveryId: claimed[0]!.delivery.id, leaseOwner: 'worker-b', attempt: attemptFor(claimed[0]!.delivery.id, message, endpoint.id, 'success', now + 30_003), next: { status: 'succeeded' } },
        ]);
        const [delivery] = await s.listMessageDeliveries(message.id);
        assert.equal(delivery!.status, 'succeeded');
        assert.equal(delivery!.leaseOwner, null);
        const attempts = (await s.listAttempts({ appId: app.id, messageId: message.id }, { limit: 10 })).data;
        assert.equal(attempts.length, 2);
        // Each attempt keeps the request and response headers it was recorded with.
        assert.deepEqual(attempts[0]!.requestHeaders, { 'content-type': 'application/json', 'webhook-id': message.id });
        assert.deepEqual((await s.getAttempt(message.id, attempts[0]!.id))?.responseHeaders, { 'content-type': 'text/plain', 'x-trace': 'a, b' });
      });
    });

    test('claims take due deliveries oldest first, respect the batch limit, and skip future ones', async () => {
      await fresh(async (s) => {
        const { app } = await seedEndpoint(s);
        const messages = [3, 1, 2].map((k) => makeMessage(app.id, { id: newId('msg', T0 + k), createdAt: T0 + k }));
        await s.insertMessages(messages);
        const first = await claim(s, 'w', 2, 10_000, T0 + 10);
        assert.deepEqual(first.map((c) => c.delivery.nextAttemptAt <= T0 + 10 + 10_000), [true, true]);
        assert.deepEqual(first.map((c) => c.message.id), [messages[1]!.id, messages[2]!.id]);
        assert.equal((await claim(s, 'w', 10, 10_000, T0 + 10)).length, 1);
        assert.equal(await s.nextDueAt(), T0 + 10 + 10_000);
      });
    });

    test('a request cut off by a shutdown is recorded, and counts toward neither the delivery nor the endpoint', async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const message = makeMessage(app.id);
        await s.insertMessages([message]);
        const [c] = await claim(s, 'w', 1, 10_000, T0);
        const cut = { ...attemptFor(c!.delivery.id, message, endpoint.id, 'fail', T0 + 1), responseStatusCode: 0, error: 'aborted: hookd is shutting down' };
        await s.completeDeliveries([{ deliveryId: c!.delivery.id, leaseOwner: 'w', attempt: cut, next: { status: 'pending', nextAttemptAt: T0 + 1 }, aborted: true }]);
        const [d] = await s.listMessageDeliveries(message.id);
        assert.deepEqual([d!.status, d!.attempts, d!.leaseOwner], ['pending', 0, null]);
        assert.equal((await s.listAttempts({ appId: app.id }, { limit: 10 })).data.length, 1, 'the attempt is on record');
        assert.equal((await s.getEndpoint(app.id, endpoint.id))!.firstFailureAt, null, 'no failure streak begins');
        const [again] = await claim(s, 'w', 1, 10_000, T0 + 1);
        assert.equal(again!.delivery.attempts, 0, 'the next attempt is still its first');
      });
    });

    test('retry, exhaustion, resend and recover move a delivery through its states', async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const message = makeMessage(app.id);
        await s.insertMessages([message]);
        let [c] = await claim(s, 'w', 1, 10_000, T0);
        await s.completeDeliveries([{ deliveryId: c!.delivery.id, leaseOwner: 'w', attempt: attemptFor(c!.delivery.id, message, endpoint.id, 'fail', T0 + 1), next: { status: 'pending', nextAttemptAt: T0 + 5000 } }]);
        assert.equal((await claim(s, 'w', 1, 10_000, T0 + 4999)).length, 0);
        [c] = await claim(s, 'w', 1, 10_000, T0 + 5000);
        assert.equal(c!.delivery.attempts, 1);
        await s.completeDeliveries([{ deliveryId: c!.delivery.id, leaseOwner: 'w', attempt: attemptFor(c!.delivery.id, message, endpoint.id, 'fail', T0 + 5001), next: { status: 'failed' } }]);
        let [d] = await s.listMessageDeliveries(message.id);
        assert.equal(d!.status, 'failed');
        assert.equal(d!.attempts, 2);
        // nextDueAt is a lower bound: the claim that finds nothing left settles it.
        assert.equal((await claim(s, 'w', 1, 10_000, T0 + 20_000)).length, 0);
        assert.equal(await s.nextDueAt(), null);
        const failures = await s.listAttempts({ appId: app.id, endpointId: endpoint.id, status: 'fail' }, { limit: 10 });
        assert.equal(failures.data.length, 2);
        assert.ok(failures.data[0]!.id > failures.data[1]!.id, 'attempts list newest first');

        await s.resendDelivery(message, endpoint, T0 + 6000);
        [c] = await claim(s, 'w', 1, 10_000, T0 + 6000);
        assert.equal(c!.delivery.nextTrigger, 1, 'a resend is a manual attempt');
        assert.equal(c!.delivery.attempts, 0);
        await s.completeDeliveries([{ deliveryId: c!.delivery.id, leaseOwner: 'w', attempt: attemptFor(c!.delivery.id, message, endpoint.id, 'fail', T0 + 6001), next: { status: 'failed' } }]);

        assert.equal(await s.recoverFailed(endpoint.id, T0 + 1, T0 + 10_000, T0 + 7000), 0, 'message created before since is not recovered');
        assert.equal(await s.recoverFailed(endpoint.id, T0, T0 + 10_000, T0 + 7000), 1);
        [d] = await s.listMessageDeliveries(message.id);
        assert.equal(d!.status, 'pending');
        assert.equal(d!.nextTrigger, 1);
      });
    });

    test('replayMissing sends an endpoint what it never got: every matching message in range, a batch at a time, none it already had, expunged, filtered out, out of range or of another app', async () => {
      await fresh(async (s) => {
        const { app, endpoint: first } = await seedEndpoint(s);
        const other = await seedEndpoint(s);
        const at = (i: number) => T0 + i * 1_000;
        const inRange = Array.from({ length: 2_100 }, (_, i) => makeMessage(app.id, { id: newId('msg', at(i)), createdAt: at(i), eventType: 'a', channels: ['c'] }));
        const [resent, expunged] = inRange;
        const wrongType = makeMessage(app.id, { id: newId('msg', at(2_200)), createdAt: at(2_200), eventType: 'b', channels: ['c'] });
        const wrongChannel = makeMessage(app.id, { id: newId('msg', at(2_201)), createdAt: at(2_201), eventType: 'a', channels: ['d'] });
        const before = makeMessage(app.id, { id: newId('msg', T0 - 1), createdAt: T0 - 1, eventType: 'a', channels: ['c'] });
        const late = makeMessage(app.id, { id: newId('msg', at(3_000)), createdAt: at(3_000), eventType: 'a', channels: ['c'] });
        const elsewhere = makeMessage(other.app.id, { id: newId('msg', at(5)), createdAt: at(5), eventType: 'a', channels: ['c'] });
        for (let i = 0; i < inRange.length; i += 1_000) await s.insertMessages(inRange.slice(i, i + 1_000));
        await s.insertMessages([wrongType, wrongChannel, before, late, elsewhere]);
        // A test event sent to the first endpoint alone (send-example), of a type the added one takes.
        const example = makeMessage(app.id, { id: newId('msg', at(2_202)), createdAt: at(2_202), eventType: 'a', channels: ['c'] });
        await s.insertMessageTo(example, first.id);
        // Added afterwards, subscribed to a on channel c: it has none of them.
        const added = makeEndpoint(app.id, { id: newId('ep', at(4_000)), url: 'http://127.0.0.1:7/added', filterTypes: ['a'], channels: ['c'] });
        await s.createEndpoint(added);
        await s.resendDelivery(resent!, added, at(4_000));
        assert.deepEqual(await s.expungeMessageContent(app.id, [expunged!.id], at(4_000)), [expunged!.id]);

        const now = at(4_001);
        const pendingBefore = (await s.queueStats(now)).pending;
        assert.equal(await s.replayMissing(added, T0, at(2_500), now), 2_098, 'every message in range but the one it got and the expunged one');
        assert.equal((await s.queueStats(now)).pending, pendingBefore + 2_098);
        assert.equal(await s.replayMissing(added, T0, at(2_500), now + 1), 0, 'a second replay finds nothing missing');
        const toAdded = async (m: Message) => (await s.listMessageDeliveries(m.id)).filter((d) => d.endpointId === added.id);
        for (const m of [inRange[2]!, inRange[1_999]!, inRange[2_000]!, inRange[2_099]!]) {
          const [d] = await toAdded(m);
          assert.equal(d?.status, 'pending', `message ${m.createdAt - T0}`);
          assert.equal(d?.nextTrigger, 1, 'a manual attempt');
          assert.equal(d?.nextAttemptAt, now, 'due now');
        }
        for (const m of [expunged!, wrongType, wrongChannel, before, late, elsewhere, example]) assert.deepEqual(await toAdded(m), [], `not ${m.eventType} ${m.createdAt - T0}`);
        assert.equal((await s.listMessageDeliveries(inRange[1_000]!.id)).length, 2, 'its first endpoint keeps its own delivery');
        const claimed = await claim(s, 'w', 10, 60_000, now + 2);
        assert.ok(claimed.some((c) => c.endpoint.id === added.id), 'the added endpoint is ready');
      });
    });

    test("bulkReplay sends an endpoint again its ended deliveries in range that match every filter (status, latest status code class, event type, channel, tag), a batch at a time; none pending, expunged, out of range or another endpoint's", async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const neighbour = makeEndpoint(app.id, { id: newId('ep', T0 + 1) });
        await s.createEndpoint(neighbour);
        const at = (i: number) => T0 + i * 1_000;
        const message = (i: number, overrides: Partial<Message> = {}) =>
          makeMessage(app.id, { id: newId('msg', at(i)), createdAt: at(i), eventType: 'a', channels: ['c'], tags: ['t'], ...overrides });
        const bulk = Array.from({ length: 2_100 }, (_, i) => message(i));
        const typeB = message(2_200, { eventType: 'b' });
        const channelD = message(2_201, { channels: ['d'] });
        const tagU = message(2_202, { tags: ['u'] });
        const failed5xx = message(2_203);
        const failedUnanswered = message(2_204);
        const expunged = message(2_205);
        const before = message(0, { id: newId('msg', T0 - 1), createdAt: T0 - 1 });
        const late = message(3_000);
        const ended = [...bulk, typeB, channelD, tagU, failed5xx, failedUnanswered, expunged, before, late];
        for (let i = 0; i < ended.length; i += 1_000) await s.insertMessages(ended.slice(i, i + 1_000));
        // Every delivery ends at its first attempt: two of the endpoint's fail (503, no answer), the rest are delivered.
        const policy = { ...DEFAULT_SCHEDULER_POLICY, initialConcurrency: 10_000, circuitFailureThreshold: 1_000_000 };
        const byId = new Map(ended.map((m) => [m.id, m]));
        let done = 0;
        for (let round = 0; round < 10 && done < ended.length * 2; round++) {
          const t = at(4_000 + round);
          const claimed = await claim(s, 'w', 10_000, 60_000, t, { policy });
          await s.completeDeliveries(
            claimed.map((c) => {
              const fails = c.endpoint.id === endpoint.id && (c.message.id === failed5xx.id || c.message.id === failedUnanswered.id);
              const attempt = attemptFor(c.delivery.id, byId.get(c.message.id)!, c.endpoint.id, fails ? 'fail' : 'success', t + 1);
              if (fails) attempt.responseStatusCode = c.message.id === failed5xx.id ? 503 : 0;
              return { deliveryId: c.delivery.id, leaseOwner: 'w', attempt, next: fails ? { status: 'failed' as const } : { status: 'succeeded' as const } };
            }),
            { scheduler: policy },
          );
          done += claimed.length;
        }
        assert.equal(done, ended.length * 2);
        assert.deepEqual(await s.expungeMessageContent(app.id, [expunged.id], at(4_100)), [expunged.id]);
        const stillPending = message(2_206);
        await s.insertMessages([stillPending]);

        const range = { sinceMs: T0, untilMs: at(2_500) };
        const now = at(4_200);
        const deliveryOf = async (m: Message) => (await s.listMessageDeliveries(m.id)).find((d) => d.endpointId === endpoint.id)!;
        assert.equal(await s.bulkReplay(endpoint.id, { ...range, status: 'failed', statusCodeClass: 5 }, now), 1, 'the failure answered 5xx');
        assert.deepEqual((({ status, attempts, nextTrigger, nextAttemptAt }) => ({ status, attempts, nextTrigger, nextAttemptAt }))(await deliveryOf(failed5xx)), {
          status: 'pending',
          attempts: 0,
          nextTrigger: 1,
          nextAttemptAt: now,
        });
        assert.equal(await s.bulkReplay(endpoint.id, { ...range, status: 'failed', statusCodeClass: 0 }, now), 1, 'the failure with no answer');
        assert.equal(await s.bulkReplay(endpoint.id, { ...range, status: 'failed' }, now), 0, 'both failures are on their way again');
        assert.equal(await s.bulkReplay(endpoint.id, { ...range, statusCodeClass: 4 }, now), 0, 'no 4xx');
        assert.equal(await s.bulkReplay(endpoint.id, { ...range, eventTypes: ['b', 'x'] }, now), 1);
        assert.equal(await s.bulkReplay(endpoint.id, { ...range, channel: 'd' }, now), 1);
        assert.equal(await s.bulkReplay(endpoint.id, { ...range, tag: 'u' }, now), 1);
        const pendingBefore = (await s.queueStats(now)).pending;
        assert.equal(await s.bulkReplay(endpoint.id, { ...range, status: 'succeeded', statusCodeClass: 2 }, now), 2_100, 'every delivered one left in range');
        assert.equal((await s.queueStats(now)).pending, pendingBefore + 2_100);
        assert.equal(await s.bulkReplay(endpoint.id, range, now + 1), 0, 'a second replay: all of them are pending');
        for (const m of [bulk[0]!, bulk[1_999]!, bulk[2_000]!, bulk[2_099]!, typeB, channelD, tagU]) assert.equal((await deliveryOf(m)).status, 'pending', `message ${m.createdAt - T0}`);
        for (const m of [expunged, before, late]) assert.notEqual((await deliveryOf(m)).status, 'pending', `not message ${m.createdAt - T0}`);
        assert.equal((await deliveryOf(stillPending)).attempts, 0);
        for (const m of [bulk[0]!, bulk[2_099]!]) {
          const theirs = (await s.listMessageDeliveries(m.id)).find((d) => d.endpointId === neighbour.id)!;
          assert.equal(theirs.status, 'succeeded', "the neighbour's delivery is untouched");
        }
        const claimed = await claim(s, 'w', 10, 60_000, now + 2);
        assert.ok(claimed.some((c) => c.endpoint.id === endpoint.id), 'the endpoint is ready');
      });
    });

    test('expungeAllContents expunges every message the application has, a batch at a time, and fails their pending deliveries; those of other applications and those expunged before are not counted', async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const other = await seedEndpoint(s);
        const messages = Array.from({ length: 2_100 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i), createdAt: T0 + i }));
        for (let i = 0; i < messages.length; i += 1_000) await s.insertMessages(messages.slice(i, i + 1_000));
        const elsewhere = makeMessage(other.app.id, { id: newId('msg', T0 + 5), createdAt: T0 + 5 });
        await s.insertMessages([elsewhere]);
        assert.deepEqual(await s.expungeMessageContent(app.id, [messages[7]!.id], T0 + 10_000), [messages[7]!.id]);
        // Its newest was made after `now` by a clock ahead of this one (another API process): it is the application's too.
        const now = T0 + 20_000;
        const ahead = makeMessage(app.id, { id: newId('msg', now + 50), createdAt: now + 50 });
        await s.insertMessages([ahead]);

        assert.equal(await s.expungeAllContents(app.id, now), 2_100, 'all but the one expunged before');
        for (const m of [messages[0]!, messages[1_999]!, messages[2_000]!, messages[2_099]!]) {
          assert.equal((await s.getMessage(app.id, m.id))?.payload, '{"expired":true}');
          const [d] = await s.listMessageDeliveries(m.id);
          assert.deepEqual([d!.endpointId, d!.status, d!.lastError], [endpoint.id, 'failed', 'message content expunged']);
        }
        assert.equal((await s.getMessage(app.id, ahead.id))?.payload, '{"expired":true}', 'made by a clock ahead of the caller');
        const after = makeMessage(app.id, { id: newId('msg', now + 100), createdAt: now + 100 });
        await s.insertMessages([after]);
        assert.equal((await s.getMessage(app.id, after.id))?.payload, after.payload, 'made after the call');
        assert.equal((await s.getMessage(other.app.id, elsewhere.id))?.payload, elsewhere.payload, 'another application');
        assert.equal((await s.listMessageDeliveries(elsewhere.id))[0]!.status, 'pending');
        assert.equal(await s.expungeAllContents(app.id, now + 200), 1, 'called again: the one message made since');
        assert.equal(await s.recoverFailed(endpoint.id, T0, now, now + 2), 0, 'recover passes them over');
      });
    });

    test('recover reads dead letters a batch at a time: all of 4,600 in range are recovered, none before since, after until, expunged or of another endpoint', async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s, { filterTypes: ['dead'] });
        const other = makeEndpoint(app.id, { filterTypes: ['other'] });
        await s.createEndpoint(other);
        const messages: Message[] = [];
        for (let i = 0; i < 5_000; i++) messages.push(makeMessage(app.id, { eventType: 'dead', createdAt: i < 4_600 ? T0 : i < 4_800 ? T0 - 10 : T0 + 10 }));
        const otherMessage = makeMessage(app.id, { eventType: 'other' });
        const expunged = makeMessage(app.id, { eventType: 'dead' });
        for (let i = 0; i < messages.length; i += 1_000) await s.insertMessages(messages.slice(i, i + 1_000));
        await s.insertMessages([otherMessage, expunged]);
        // Every delivery fails for good at its first attempt (no circuit breaker in the way).
        const policy = { ...DEFAULT_SCHEDULER_POLICY, initialConcurrency: 10_000, circuitFailureThreshold: 1_000_000 };
        let failed = 0;
        for (let round = 0; round < 10 && failed < 5_002; round++) {
          const at = T0 + 1_000 * (round + 1);
          const claimed = await claim(s, 'w', 10_000, 60_000, at, { policy });
          const byId = new Map([...messages, otherMessage, expunged].map((m) => [m.id, m]));
          await s.completeDeliveries(claimed.map((c) => ({ deliveryId: c.delivery.id, leaseOwner: 'w', attempt: attemptFor(c.delivery.id, byId.get(c.message.id)!, c.endpoint.id, 'fail', at + 1), next: { status: 'failed' } })), { scheduler: policy });
          failed += claimed.length;
        }
        assert.equal(failed, 5_002);
        assert.deepEqual(await s.expungeMessageContent(app.id, [expunged.id], T0 + 20_000), [expunged.id]);
        assert.equal((await s.queueStats(T0 + 20_000)).pending, 0);

        assert.equal(await s.recoverFailed(endpoint.id, T0, T0 + 1, T0 + 20_001), 4_600);
        assert.equal((await s.queueStats(T0 + 20_001)).pending, 4_600);
        for (const [i, m] of [messages[0]!, messages[4_599]!, messages[4_600]!, messages[4_999]!, otherMessage, expunged].entries()) {
          const [d] = await s.listMessageDeliveries(m.id);
          assert.equal(d!.status, i < 2 ? 'pending' : 'failed', `message ${i}`);
        }
        assert.equal(await s.recoverFailed(endpoint.id, T0, T0 + 1, T0 + 20_002), 0, 'nothing left to recover in the range');
      });
    });

    test('a resend while the delivery is on the wire is not overwritten by that attempt\'s ack: it goes again', async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const message = makeMessage(app.id);
        await s.insertMessages([message]);
        const [c] = await claim(s, 'w', 1, 10_000, T0);
        // The receiver has it; before its attempt is recorded, the operator resends.
        await s.resendDelivery(message, endpoint, T0 + 5);
        assert.equal((await claim(s, 'other', 1, 10_000, T0 + 6)).length, 0, 'not sent twice at once: the lease still holds');
        await s.completeDeliveries([{ deliveryId: c!.delivery.id, leaseOwner: 'w', attempt: attemptFor(c!.delivery.id, message, endpoint.id, 'success', T0 + 10), next: { status: 'succeeded' } }]);
        let [d] = await s.listMessageDeliveries(message.id);
        assert.equal(d!.status, 'pending', 'the resend wins over the attempt that was on the wire');
        assert.equal(d!.attempts, 0);
        assert.equal((await s.listAttempts({ appId: app.id, endpointId: endpoint.id }, { limit: 10 })).data.length, 1, 'the attempt is recorded');
        const [again] = await claim(s, 'w', 1, 10_000, T0 + 11);
        assert.equal(again?.delivery.id, c!.delivery.id, 'claimable at once');
        assert.equal(again!.delivery.nextTrigger, 1, 'as a manual attempt');
        await s.completeDeliveries([{ deliveryId: again!.delivery.id, leaseOwner: 'w', attempt: attemptFor(again!.delivery.id, message, endpoint.id, 'success', T0 + 20), next: { status: 'succeeded' } }]);
        [d] = await s.listMessageDeliveries(message.id);
        assert.equal(d!.status, 'succeeded');
        assert.equal(d!.attempts, 1);
      });
    });

    test('attempts filter by the attempted message: channel, tag and event type', async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const onEu = makeMessage(app.id, { channels: ['eu'], tags: ['vip'] });
        const paid = makeMessage(app.id, { id: newId('msg', T0), eventType: 'invoice.paid' });
        await s.insertMessages([onEu, paid]);
        const claimed = await claim(s, 'w', 10, 10_000, T0);
        await s.completeDeliveries(claimed.map((c, i) => ({
          deliveryId: c.delivery.id,
          leaseOwner: 'w',
          attempt: attemptFor(c.delivery.id, c.message.id === onEu.id ? onEu : paid, endpoint.id, 'success', T0 + i + 1),
          next: { status: 'succeeded' as const },
        })));
        const ids = async (filter: object) => (await s.listAttempts({ appId: app.id, ...filter }, { limit: 10 })).data.map((a) => a.messageId);
        assert.deepEqual(await ids({ channel: 'eu' }), [onEu.id]);
        assert.deepEqual(await ids({ tag: 'vip' }), [onEu.id]);
        assert.deepEqual(await ids({ eventTypes: ['invoice.paid', 'other'] }), [paid.id]);
        assert.deepEqual(await ids({ channel: 'us' }), []);
        assert.equal((await ids({})).length, 2);
      });
    });

    test('a rate-limited endpoint gets one delivery per interval; the backlog is deferred to reserved slots', async () => {
      await fresh(async (s) => {
        const { app } = await seedEndpoint(s, { rateLimit: 10 });
        await s.insertMessages(Array.from({ length: 5 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i) })));
        assert.equal((await claim(s, 'w', 10, 30_000, T0)).length, 1, 'one now');
        assert.equal((await claim(s, 'other', 10, 30_000, T0 + 50)).length, 0, 'not before the next slot, for any worker');
        assert.deepEqual(await s.queueStats(T0 + 50), { pending: 5, due: 0, held: 4, oldestDueAt: null, circuitsOpen: 0 }, 'the backlog waits for its slots: held');
        assert.equal(await s.nextDueAt(), T0 + 100);
        let sent = 1;
        for (let t = T0 + 100; t <= T0 + 400; t += 100) sent += (await claim(s, 'w', 10, 30_000, t)).length;
        assert.equal(sent, 5, 'each deferred delivery goes at its own slot, 100 ms apart');
      });
    });

    test("an endpoint without a rate limit of its own has its application's (Svix's throttleRate); its own wins, and 0 is none", async () => {
      await fresh(async (s) => {
        const app = { ...makeApp(), rateLimit: 10 };
        await s.createApp(app);
        const inherits = makeEndpoint(app.id);
        const own = makeEndpoint(app.id, { id: newId('ep', T0 + 1), rateLimit: 20 });
        const unlimited = makeEndpoint(app.id, { id: newId('ep', T0 + 2), rateLimit: 0 });
        for (const endpoint of [inherits, own, unlimited]) await s.createEndpoint(endpoint);
        await s.insertMessages(Array.from({ length: 5 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i) })));
        const sentBy = new Map<string, number>();
        const count = (claimed: ClaimedDelivery[]) => {
          for (const c of claimed) sentBy.set(c.endpoint.id, (sentBy.get(c.endpoint.id) ?? 0) + 1);
        };
        count(await claim(s, 'w', 50, 30_000, T0));
        assert.deepEqual([inherits.id, own.id, unlimited.id].map((id) => sentBy.get(id) ?? 0), [1, 1, 5], 'one slot each now, the unlimited all');
        count(await claim(s, 'w', 50, 30_000, T0 + 50));
        assert.deepEqual([inherits.id, own.id].map((id) => sentBy.get(id) ?? 0), [1, 2], '50 ms on: a slot at 20/s, none yet at 10/s');
        count(await claim(s, 'w', 50, 30_000, T0 + 100));
        assert.deepEqual([inherits.id, own.id].map((id) => sentBy.get(id) ?? 0), [2, 3]);
        // A changed application rate applies from its endpoint's next slot on (one more at 10/s would be 3).
        await s.updateApp({ ...app, rateLimit: null, updatedAt: T0 + 100 });
        count(await claim(s, 'w', 50, 30_000, T0 + 200));
        assert.equal(sentBy.get(inherits.id), 5, 'no limit left for it: the rest at once');
      });
    });

    test('an endpoint concurrency cap holds across workers and frees up as deliveries finish', async () => {
      await fresh(async (s) => {
        const app = makeApp();
        await s.createApp(app);
        const capped = makeEndpoint(app.id, { maxConcurrency: 2 });
        const free = makeEndpoint(app.id, { id: newId('ep', T0) });
        await s.createEndpoint(capped);
        await s.createEndpoint(free);
        const messages = Array.from({ length: 4 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i) }));
        await s.insertMessages(messages);
        const first = await claim(s, 'w1', 10, 30_000, T0);
        assert.equal(first.filter((c) => c.endpoint.id === capped.id).length, 2);
        assert.equal(first.filter((c) => c.endpoint.id === free.id).length, 4, 'other endpoints are not held back');
        assert.equal((await claim(s, 'w2', 10, 30_000, T0 + 1000)).length, 0, 'a second worker sees the cap too');
        const done = first.find((c) => c.endpoint.id === capped.id)!;
        const message = messages.find((m) => m.id === done.message.id)!;
        await s.completeDeliveries([{ deliveryId: done.delivery.id, leaseOwner: 'w1', attempt: attemptFor(done.delivery.id, message, capped.id, 'success', T0 + 1001), next: { status: 'succeeded' } }]);
        assert.equal((await claim(s, 'w2', 10, 30_000, T0 + 2000)).length, 1, 'one slot freed, one more goes');
        assert.equal((await claim(s, 'w2', 10, 30_000, T0 + 3000)).length, 0);
        // w1 and w2 "crash": once all their leases have expired, the 3 capped deliveries not done are due again, 2 go.
        const retaken = await claim(s, 'w3', 10, 30_000, T0 + 33_000);
        assert.equal(retaken.filter((c) => c.endpoint.id === capped.id).length, 2, 'expired leases stop counting against the cap');
      });
    });

    test('a default concurrency cap applies to endpoints without their own', async () => {
      await fresh(async (s) => {
        const app = makeApp();
        await s.createApp(app);
        const plain = makeEndpoint(app.id);
        const own = makeEndpoint(app.id, { id: newId('ep', T0), maxConcurrency: 2 });
        await s.createEndpoint(plain);
        await s.createEndpoint(own);
        await s.insertMessages(Array.from({ length: 3 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i) })));
        const capped = { policy: { ...DEFAULT_SCHEDULER_POLICY, endpointMaxConcurrency: 1 } };
        const claimed = await claim(s, 'w', 10, 30_000, T0, capped);
        assert.equal(claimed.filter((c) => c.endpoint.id === plain.id).length, 1, 'the default cap');
        assert.equal(claimed.filter((c) => c.endpoint.id === own.id).length, 2, "the endpoint's own cap wins");
        assert.equal((await claim(s, 'w2', 10, 30_000, T0 + 1000, capped)).length, 0, 'both at their cap, for every worker');
      });
    });

    test('deliveries to a disabled or deleted endpoint are failed at claim time, not sent', async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const message = makeMessage(app.id);
        await s.insertMessages([message]);
        await s.updateEndpoint({ ...endpoint, disabled: true });
        assert.equal((await claim(s, 'w', 10, 10_000, T0 + 1)).length, 0);
        const [d] = await s.listMessageDeliveries(message.id);
        assert.equal(d!.status, 'failed');
        assert.equal(d!.lastError, 'endpoint disabled');
      });
    });

    test('a renewed lease keeps a delivery from being claimed again; only its owner can renew it', async () => {
      await fresh(async (s) => {
        const { app } = await seedEndpoint(s);
        await s.insertMessages([makeMessage(app.id)]);
        const [c] = await claim(s, 'w', 10, 3000, T0);
        assert.deepEqual(await s.extendLeases('intruder', [c!.delivery.id], T0 + 9000), []);
        assert.deepEqual(await s.extendLeases('w', [c!.delivery.id, 'dlv_unknown'], T0 + 6000), [c!.delivery.id], 'only the renewed lease is named');
        assert.equal((await claim(s, 'other', 10, 3000, T0 + 4000)).length, 0, 'still leased after the original expiry');
        assert.equal((await claim(s, 'other', 10, 3000, T0 + 6001)).length, 1, 'an unrenewed lease expires');
      });
    });

    test('releasing a worker leases makes its unfinished deliveries due at once', async () => {
      await fresh(async (s) => {
        const { app } = await seedEndpoint(s);
        await s.insertMessages([makeMessage(app.id), makeMessage(app.id, { id: newId('msg', T0) })]);
        assert.equal((await claim(s, 'w', 10, 60_000, T0)).length, 2);
        assert.equal(await s.releaseDeliveries('w', T0 + 1), 2);
        assert.equal((await claim(s, 'other', 10, 60_000, T0 + 1)).length, 2);
      });
    });

    // ---- The scheduler: fair claims, budgets, circuit breaking (src/domain/scheduler.ts)

    /** Acks claimed deliveries with one outcome: an HTTP status, or a connection failure (status 0). */
    const ackAll = (s: Store, claimed: ClaimedDelivery[], owner: string, at: number, outcome: { status: number; failure?: 'timeout' | 'connection'; durationMs?: number; holdUntil?: number }, next: DeliveryResult['next'] = { status: 'succeeded' }) =>
      s.completeDeliveries(
        claimed.map((c) => {
          const attempt = attemptFor(c.delivery.id, { ...makeMessage(c.message.appId), id: c.message.id }, c.endpoint.id, outcome.status >= 200 && outcome.status < 300 ? 'success' : 'fail', at);
          return {
            deliveryId: c.delivery.id,
            leaseOwner: owner,
            attempt: { ...attempt, url: c.endpoint.url, responseStatusCode: outcome.status, responseDurationMs: outcome.durationMs ?? 5 },
            failure: outcome.failure ?? null,
            next,
            holdEndpointUntil: outcome.holdUntil ?? null,
          };
        }),
      );

    test("one endpoint's backlog is not in front of another endpoint's newer first attempt", async () => {
      await fresh(async (s) => {
        const busy = await seedEndpoint(s);
        const quiet = await seedEndpoint(s, { url: 'http://127.0.0.1:2/hook' });
        await s.insertMessages(Array.from({ length: 200 }, (_, i) => makeMessage(busy.app.id, { id: newId('msg', T0 + i), createdAt: T0 + i })));
        const newer = makeMessage(quiet.app.id, { id: newId('msg', T0 + 5_000), createdAt: T0 + 5_000 });
        await s.insertMessages([newer]);
        const policy = { ...DEFAULT_SCHEDULER_POLICY, initialConcurrency: 500 };
        const claimed = await claim(s, 'w', 10, 30_000, T0 + 5_000, { policy });
        assert.ok(claimed.some((c) => c.message.id === newer.id), 'the quiet endpoint gets its share of the first claim');
        assert.equal(claimed.filter((c) => c.endpoint.id === busy.endpoint.id).length, 5, 'the busy one its half');
        assert.equal((await claim(s, 'w', 10, 30_000, T0 + 5_001, { policy })).length, 10, 'what the quiet one left, the next claim takes');
      });
    });

    test('applications share a claim round-robin, then their endpoints do; each endpoint takes its oldest due first', async () => {
      await fresh(async (s) => {
        const big = makeApp();
        await s.createApp(big);
        const endpoints = [0, 1, 2, 3].map((i) => makeEndpoint(big.id, { id: newId('ep', T0 + i), url: `http://127.0.0.1:${10 + i}/hook` }));
        for (const e of endpoints) await s.createEndpoint(e);
        const small = await seedEndpoint(s, { url: 'http://127.0.0.1:20/hook' });
        await s.insertMessages(Array.from({ length: 20 }, (_, i) => makeMessage(big.id, { id: newId('msg', T0 + i), createdAt: T0 + i })));
        await s.insertMessages(Array.from({ length: 20 }, (_, i) => makeMessage(small.app.id, { id: newId('msg', T0 + 100 + i), createdAt: T0 + 100 + i })));
        const claimed = await claim(s, 'w', 8, 30_000, T0 + 1_000);
        const perEndpoint = (id: string): ClaimedDelivery[] => claimed.filter((c) => c.endpoint.id === id);
        assert.equal(perEndpoint(small.endpoint.id).length, 4, 'the one-endpoint application gets half');
        for (const e of endpoints) assert.equal(perEndpoint(e.id).length, 1, 'the four-endpoint application shares its half');
        const dues = perEndpoint(small.endpoint.id).map((c) => c.delivery.id);
        assert.deepEqual(dues, [...dues].sort(), 'oldest first within an endpoint');
      });
    });

    test("a worker's room for an origin bounds what it claims for that origin's endpoints", async () => {
      await fresh(async (s) => {
        const { app } = await seedEndpoint(s, { url: 'http://shared.example:8080/a' });
        await s.createEndpoint(makeEndpoint(app.id, { id: newId('ep', T0), url: 'http://shared.example:8080/b' }));
        await s.insertMessages(Array.from({ length: 10 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i) })));
        const room = (origin: string): number => (origin === 'http://shared.example:8080' ? 3 : 0);
        assert.equal((await claim(s, 'w', 100, 30_000, T0 + 1, { originRoom: room })).length, 3);
        assert.equal((await claim(s, 'w', 100, 30_000, T0 + 2, { originRoom: () => 0 })).length, 0, 'no room: nothing claimed, nothing waits');
      });
    });

    test('endpoints waiting for an origin with no room do not hold back the endpoints behind them, however many there are', async () => {
      await fresh(async (s) => {
        // Six endpoints on one busy origin (a slow receiver many tenants share), more than a claim reads, all due first.
        const busy = makeApp();
        await s.createApp(busy);
        for (let i = 0; i < 6; i++) await s.createEndpoint(makeEndpoint(busy.id, { id: newId('ep', T0 + i), url: `http://busy.example/${i}` }));
        await s.insertMessages([makeMessage(busy.id, { id: newId('msg', T0), createdAt: T0 })]);
        const other = await seedEndpoint(s, { url: 'http://127.0.0.1:5/hook' });
        await s.insertMessages([makeMessage(other.app.id, { id: newId('msg', T0 + 10), createdAt: T0 + 10 })]);
        const room = (origin: string): number => (origin === 'http://busy.example' ? 0 : 1000);
        const claimed: ClaimedDelivery[] = [];
        for (let i = 1; i <= 3 && claimed.length === 0; i++) claimed.push(...(await claim(s, 'w', 3, 30_000, T0 + i * 1_000, { originRoom: room })));
        assert.deepEqual(
          claimed.map((c) => c.endpoint.id),
          [other.endpoint.id],
          'within three claims of three (the six busy endpoints go to the back of the line as they are passed over)',
        );
        const later = await claim(s, 'w', 100, 30_000, T0 + 10_000);
        assert.equal(later.filter((c) => c.endpoint.appId === busy.id).length, 6, 'with room again, every busy endpoint is claimed: none was stranded');
      });
    });

    test('several workers claiming at once never exceed an endpoint budget and never take the same delivery', async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s, { maxConcurrency: 7 });
        const other = await seedEndpoint(s, { url: 'http://127.0.0.1:3/hook' });
        await s.insertMessages(Array.from({ length: 50 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i) })));
        await s.insertMessages(Array.from({ length: 5 }, (_, i) => makeMessage(other.app.id, { id: newId('msg', T0 + 100 + i) })));
        const all = (await Promise.all(['w1', 'w2', 'w3', 'w4'].map((w) => claim(s, w, 4, 30_000, T0 + 1_000)))).flat();
        assert.equal(new Set(all.map((c) => c.delivery.id)).size, all.length, 'no delivery twice');
        assert.ok(all.filter((c) => c.endpoint.id === endpoint.id).length <= 7, 'the budget holds across workers');
        const again = await claim(s, 'w5', 100, 30_000, T0 + 2_000);
        assert.equal([...all, ...again].filter((c) => c.endpoint.id === endpoint.id).length, 7);
        assert.equal([...all, ...again].filter((c) => c.endpoint.id === other.endpoint.id).length, 5);
      });
    });

    /** Claims three of the endpoint's deliveries at T0 + 1 and acks each as a timeout at T0 + 100 (retry at T0 + 200). */
    const timeOutThree = async (s: Store, appId: string, endpointId: string, policy: SchedulerPolicy) => {
      const first = await claim(s, 'w', 3, 60_000, T0 + 1, { policy });
      await s.completeDeliveries(
        first.map((c) => ({
          deliveryId: c.delivery.id,
          leaseOwner: 'w',
          attempt: { ...attemptFor(c.delivery.id, { ...makeMessage(appId), id: c.message.id }, endpointId, 'fail', T0 + 100), responseStatusCode: 0, error: 'timeout' },
          failure: 'timeout' as const,
          next: retry(T0 + 200),
        })),
        { scheduler: policy },
      );
    };

    test("consecutive timeouts open an endpoint's circuit: what waits is not claimed and spends no attempt; one probe after the cool-down; an answer closes it", async () => {
      await fresh(async (s) => {
        const policy = { ...DEFAULT_SCHEDULER_POLICY, circuitFailureThreshold: 3, circuitCooldownMs: 10_000 };
        const { app, endpoint } = await seedEndpoint(s);
        const healthy = await seedEndpoint(s, { url: 'http://127.0.0.1:4/hook' });
        await s.insertMessages(Array.from({ length: 20 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i) })));
        await timeOutThree(s, app.id, endpoint.id, policy);
        const open = await s.endpointQueueState(endpoint.id, T0 + 100, policy);
        assert.equal(open?.circuit, 'open');
        assert.equal(open?.nextProbeAt, T0 + 100 + 10_000);
        assert.equal((await s.queueStats(T0 + 100)).circuitsOpen, 1);
        assert.deepEqual(
          await s.queueStats(T0 + 200),
          { pending: 20, due: 0, held: 20, oldestDueAt: null, circuitsOpen: 1 },
          'what waits behind the open circuit is held, not due: no worker is behind',
        );
        // The lists show what waits behind the open circuit as due when the probe may go, not at its own due time
        // (T0 + 200 for the three that timed out, earlier for the rest), in the past for the whole cool-down; one due
        // after the probe at its own time. The stored next attempt is unchanged.
        const retryAt = T0 + 100 + 10_000;
        const late = makeMessage(app.id, { id: newId('msg', T0 + 20_000), createdAt: T0 + 20_000 });
        await s.insertMessages([late]);
        const shown = async (at: number) => {
          const listed = (await s.listDeliveries(app.id, {}, { limit: 100 }, at)).data.map((item) => item.delivery).filter((d) => d.status === 'pending');
          const routed = (await s.listEndpointMessages(app.id, endpoint.id, {}, { limit: 100 }, at)).data.filter((m) => m.nextAttemptAt !== null);
          const ofOne = await s.listMessageDeliveries(listed.at(-1)!.messageId);
          const early = (id: string) => id !== late.id;
          return {
            listed: new Set(listed.filter((d) => early(d.messageId)).map((d) => d.shownNextAttemptAt)),
            routed: new Set(routed.filter((m) => early(m.message.id)).map((m) => m.nextAttemptAt)),
            ofOne: ofOne.map((d) => [d.nextAttemptAt, d.shownNextAttemptAt]),
            late: [listed.find((d) => d.messageId === late.id)?.shownNextAttemptAt, routed.find((m) => m.message.id === late.id)?.nextAttemptAt],
          };
        };
        const whileOpen = await shown(T0 + 100);
        assert.deepEqual(whileOpen.listed, new Set([retryAt]));
        assert.deepEqual(whileOpen.routed, new Set([retryAt]));
        assert.equal(whileOpen.ofOne[0]![1], retryAt);
        assert.ok(whileOpen.ofOne[0]![0]! < retryAt, 'the stored next attempt is its own');
        assert.deepEqual(whileOpen.late, [T0 + 20_000, T0 + 20_000], 'due after the probe: its own time');
        const healthyMessage = makeMessage(healthy.app.id, { id: newId('msg', T0 + 200) });
        await s.insertMessages([healthyMessage]);
        assert.deepEqual((await s.listMessageDeliveries(healthyMessage.id)).map((d) => d.shownNextAttemptAt), [healthyMessage.createdAt], "another endpoint's own time");
        const meanwhile = await claim(s, 'w', 100, 60_000, T0 + 5_000, { policy });
        assert.deepEqual(meanwhile.map((c) => c.endpoint.id), [healthy.endpoint.id], 'the open circuit holds back only its own endpoint');
        const probe = await claim(s, 'w', 100, 60_000, T0 + 10_100, { policy });
        assert.equal(probe.length, 1, 'half-open: one probe');
        assert.equal((await claim(s, 'w', 100, 60_000, T0 + 10_200, { policy })).length, 0, 'nothing else while the probe is out');
        await ackAll(s, probe, 'w', T0 + 10_300, { status: 200 });
        const closed = await s.endpointQueueState(endpoint.id, T0 + 10_300, policy);
        assert.equal(closed?.circuit, 'closed');
        const after = await shown(T0 + 10_300);
        assert.ok(after.listed.size > 0 && [...after.listed, ...after.routed].every((at) => at! < retryAt), 'closed: each pending one shows its own time again');
        assert.deepEqual(after.late, [T0 + 20_000, T0 + 20_000]);
        const rest = await claim(s, 'w', 100, 60_000, T0 + 10_300, { policy });
        assert.ok(rest.length >= 1, 'what waited flows again');
        const waited = (await s.listAttempts({ appId: app.id, endpointId: endpoint.id }, { limit: 100 })).data;
        assert.equal(waited.length, 4, 'three failures and the probe: waiting cost no attempt');
      });
    });

    test("a 429's Retry-After holds its endpoint: nothing of it is claimed (nor charged an attempt) until then, other endpoints are; a new URL clears the hold", async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const other = await seedEndpoint(s, { url: 'http://127.0.0.1:4/hook' });
        await s.insertMessages(Array.from({ length: 5 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i) })));
        const first = await claim(s, 'w', 1, 60_000, T0 + 1);
        await ackAll(s, first, 'w', T0 + 100, { status: 429, holdUntil: T0 + 30_000 }, retry(T0 + 30_000));
        const shown = (await s.listDeliveries(app.id, {}, { limit: 10 }, T0 + 200)).data.map((item) => item.delivery);
        assert.deepEqual(new Set(shown.map((d) => d.shownNextAttemptAt)), new Set([T0 + 30_000]), 'the lists show the held deliveries due when the hold ends');
        assert.ok(shown.some((d) => d.nextAttemptAt < T0 + 30_000), 'though their own due time has come');
        assert.deepEqual(await s.queueStats(T0 + 200), { pending: 5, due: 0, held: 4, oldestDueAt: null, circuitsOpen: 0 }, 'the held deliveries are not due');
        await s.insertMessages([makeMessage(other.app.id, { id: newId('msg', T0 + 200) })]);
        assert.deepEqual(await s.queueStats(T0 + 1_000), { pending: 6, due: 1, held: 4, oldestDueAt: T0, circuitsOpen: 0 }, "the other endpoint's is");
        const meanwhile = await claim(s, 'w', 100, 60_000, T0 + 1_000);
        assert.deepEqual(meanwhile.map((c) => c.endpoint.id), [other.endpoint.id], 'the held endpoint sends nothing; the other does');
        assert.deepEqual(
          await s.queueStats(T0 + 30_000),
          { pending: 6, due: 5, held: 0, oldestDueAt: T0, circuitsOpen: 0 },
          "the hold ends at its time (the other endpoint's delivery is on the wire)",
        );
        const after = await claim(s, 'w', 100, 60_000, T0 + 30_000);
        assert.ok(after.length >= 4 && after.every((c) => c.endpoint.id === endpoint.id), `then the held endpoint's deliveries go (${after.length})`);
        assert.equal((await s.listAttempts({ appId: app.id, endpointId: endpoint.id }, { limit: 100 })).data.length, 1, 'only the 429 was an attempt');

        // Held again; a new URL is a new receiver, which asked for nothing.
        await ackAll(s, after.slice(0, 1), 'w', T0 + 30_100, { status: 503, holdUntil: T0 + 90_000 }, retry(T0 + 30_200));
        assert.deepEqual(await claim(s, 'w', 100, 60_000, T0 + 31_000), [], 'held');
        await s.updateEndpoint({ ...endpoint, url: 'http://127.0.0.1:5/new', updatedAt: T0 + 31_000 });
        assert.equal((await claim(s, 'w', 100, 60_000, T0 + 31_000)).length, 1, 'the new URL is not held');
      });
    });

    test('hookd_endpoint_circuits_open counts live, enabled endpoints only: disabling or deleting one whose circuit is open takes it out', async () => {
      await fresh(async (s) => {
        const policy = { ...DEFAULT_SCHEDULER_POLICY, circuitFailureThreshold: 3, circuitCooldownMs: 10_000 };
        const { app, endpoint } = await seedEndpoint(s);
        await s.insertMessages(Array.from({ length: 5 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i) })));
        await timeOutThree(s, app.id, endpoint.id, policy);
        assert.deepEqual(await s.queueStats(T0 + 100), { pending: 5, due: 0, held: 2, oldestDueAt: null, circuitsOpen: 1 }, 'the two due wait behind the open circuit');
        await s.updateEndpoint({ ...endpoint, disabled: true, disabledReason: 'manual', updatedAt: T0 + 200 });
        assert.deepEqual(
          await s.queueStats(T0 + 200),
          { pending: 5, due: 5, held: 0, oldestDueAt: T0, circuitsOpen: 0 },
          'a disabled endpoint waits on nothing: the next claim fails its deliveries, so they are due, not held',
        );
        await s.updateEndpoint({ ...endpoint, disabled: false, disabledReason: null, updatedAt: T0 + 300 });
        assert.equal((await s.queueStats(T0 + 300)).circuitsOpen, 1, 're-enabled with the same URL, its circuit is still open');
        assert.deepEqual(await s.queueStats(T0 + 10_100), { pending: 5, due: 0, held: 5, oldestDueAt: null, circuitsOpen: 1 }, 'half-open: held (only a probe goes)');
        await s.deleteEndpoint(app.id, endpoint.id, T0 + 400);
        assert.equal((await s.queueStats(T0 + 400)).circuitsOpen, 0, 'a deleted endpoint is not counted');
      });
    });

    test('the adaptive limit grows while an endpoint uses its whole budget and answers fast, and halves on 429', async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        await s.insertMessages(Array.from({ length: 100 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i) })));
        let t = T0 + 1_000;
        const first = await claim(s, 'w', 100, 60_000, t);
        assert.equal(first.length, 16, 'the initial budget');
        await ackAll(s, first, 'w', (t += 10), { status: 200 });
        assert.equal((await s.endpointQueueState(endpoint.id, t))?.adaptiveLimit, 32, 'slow start: one more per fast answer');
        const second = await claim(s, 'w', 100, 60_000, (t += 10));
        assert.equal(second.length, 32);
        await ackAll(s, second, 'w', (t += 10), { status: 429 }, retry(t + 60_000));
        const after = await s.endpointQueueState(endpoint.id, t);
        assert.equal(after?.adaptiveLimit, 16, 'halved');
        assert.equal(after?.inFlight, 0);
      });
    });

    test("an endpoint's new URL starts its circuit and adaptive limit afresh", async () => {
      await fresh(async (s) => {
        const policy = { ...DEFAULT_SCHEDULER_POLICY, circuitFailureThreshold: 1 };
        const { app, endpoint } = await seedEndpoint(s);
        await s.insertMessages([makeMessage(app.id), makeMessage(app.id, { id: newId('msg', T0) })]);
        const [c] = await claim(s, 'w', 1, 60_000, T0 + 1, { policy });
        await s.completeDeliveries([{ deliveryId: c!.delivery.id, leaseOwner: 'w', attempt: attemptFor(c!.delivery.id, { ...makeMessage(app.id), id: c!.message.id }, endpoint.id, 'fail', T0 + 2), failure: 'connection', next: retry(T0 + 3) }], { scheduler: policy });
        assert.equal((await s.endpointQueueState(endpoint.id, T0 + 2, policy))?.circuit, 'open');
        await s.updateEndpoint({ ...endpoint, url: 'http://127.0.0.1:9/fixed', updatedAt: T0 + 10 });
        assert.equal((await s.endpointQueueState(endpoint.id, T0 + 10, policy))?.circuit, 'closed');
        assert.equal((await claim(s, 'w', 10, 60_000, T0 + 10, { policy })).length, 2, 'both go at once to the new URL');
      });
    });

    test("answers from an endpoint's former URL (on the wire when it changed) free their slots and set their retries, but neither open the new URL's circuit, hold it nor disable it", async () => {
      await fresh(async (s) => {
        const policy = { ...DEFAULT_SCHEDULER_POLICY, circuitFailureThreshold: 1 };
        const { app, endpoint } = await seedEndpoint(s);
        await s.insertMessages(Array.from({ length: 3 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i) })));
        const claimed = await claim(s, 'w', 3, 60_000, T0 + 1, { policy });
        assert.equal(claimed.length, 3);
        const moved = { ...endpoint, url: 'http://127.0.0.1:9/moved', updatedAt: T0 + 10 };
        await s.updateEndpoint(moved);
        // The three requests went to the old URL, and answer one after the other: a timeout, a 429 asking for a
        // minute, a 410.
        const [timedOut, throttled, gone] = claimed.map((c) => ({
          deliveryId: c.delivery.id,
          leaseOwner: 'w',
          attempt: { ...attemptFor(c.delivery.id, { ...makeMessage(app.id), id: c.message.id }, endpoint.id, 'fail', T0 + 100), url: endpoint.url },
          next: retry(T0 + 200),
        }));
        const ackPolicy = { scheduler: policy, endpointDisableAfterMs: 1 };
        await s.completeDeliveries([{ ...timedOut!, attempt: { ...timedOut!.attempt, responseStatusCode: 0, error: 'timeout' }, failure: 'timeout' as const }], ackPolicy);
        assert.equal((await s.endpointQueueState(endpoint.id, T0 + 100, policy))?.circuit, 'closed', 'no circuit opened on the new URL');
        await s.completeDeliveries([{ ...throttled!, attempt: { ...throttled!.attempt, responseStatusCode: 429 }, holdEndpointUntil: T0 + 60_000 }], ackPolicy);
        await s.completeDeliveries([{ ...gone!, attempt: { ...gone!.attempt, responseStatusCode: 410 }, disableEndpoint: 'endpoint answered 410 Gone' }], ackPolicy);
        assert.equal((await s.endpointQueueState(endpoint.id, T0 + 100, policy))?.inFlight, 0, 'every slot freed');
        assert.equal((await s.getEndpoint(app.id, endpoint.id))?.disabled, false, 'not disabled');
        assert.equal((await s.listAttempts({ appId: app.id, endpointId: endpoint.id }, { limit: 10 })).data.length, 3, 'the attempts are recorded');
        const retried = await claim(s, 'w', 10, 60_000, T0 + 200, { policy });
        assert.equal(retried.length, 3, 'not held: the retries go to the new URL when due');

        // What the new URL answers counts as before.
        await s.completeDeliveries(
          [{ deliveryId: retried[0]!.delivery.id, leaseOwner: 'w', attempt: { ...attemptFor(retried[0]!.delivery.id, { ...makeMessage(app.id), id: retried[0]!.message.id }, endpoint.id, 'fail', T0 + 300), url: moved.url, responseStatusCode: 0, error: 'timeout' }, failure: 'timeout', next: retry(T0 + 400) }],
          { scheduler: policy },
        );
        assert.equal((await s.endpointQueueState(endpoint.id, T0 + 300, policy))?.circuit, 'open', "the new URL's own timeout opens its circuit");
      });
    });

    test("an answer from an endpoint's former URL that would end its delivery (410, or a last attempt failed) leaves it pending for the new URL, that attempt uncounted", async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        await s.insertMessages(Array.from({ length: 2 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i) })));
        const claimed = await claim(s, 'w', 2, 60_000, T0 + 1);
        assert.equal(claimed.length, 2);
        await s.updateEndpoint({ ...endpoint, url: 'http://127.0.0.1:9/moved', updatedAt: T0 + 10 });
        const toOldUrl = (c: (typeof claimed)[number], statusCode: number) => ({
          deliveryId: c.delivery.id,
          leaseOwner: 'w',
          attempt: { ...attemptFor(c.delivery.id, { ...makeMessage(app.id), id: c.message.id }, endpoint.id, 'fail', T0 + 100), url: endpoint.url, responseStatusCode: statusCode },
          next: { status: 'failed' as const },
        });
        const outcome = await s.completeDeliveries([{ ...toOldUrl(claimed[0]!, 410), disableEndpoint: 'endpoint answered 410 Gone' }, toOldUrl(claimed[1]!, 500)], { endpointDisableAfterMs: 1 });
        assert.deepEqual(outcome.retriedAtNewUrl, claimed.map((c) => c.delivery.id), 'the ack says which it left pending (the metrics count them as retrying)');
        for (const c of claimed) {
          const [d] = await s.listMessageDeliveries(c.message.id);
          assert.deepEqual([d!.status, d!.attempts, d!.nextAttemptAt, d!.leaseOwner], ['pending', 0, T0 + 100, null]);
        }
        assert.equal((await s.listAttempts({ appId: app.id }, { limit: 10 })).data.length, 2, 'both attempts are on record');
        assert.equal((await s.getEndpoint(app.id, endpoint.id))?.disabled, false);
        const again = await claim(s, 'w', 10, 60_000, T0 + 100);
        assert.deepEqual(again.map((c) => [c.endpoint.url, c.delivery.attempts]), [['http://127.0.0.1:9/moved', 0], ['http://127.0.0.1:9/moved', 0]], 'due at once, to the new URL');
      });
    });

    test('cursor pages walk forwards and backwards without gaps or repeats', async () => {
      await fresh(async (s) => {
        const app = makeApp();
        await s.createApp(app);
        const messages = Array.from({ length: 7 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i * 1000), createdAt: T0 + i * 1000, channels: i % 2 ? ['odd'] : null }));
        await s.insertMessages(messages);
        const newestFirst = messages.map((m) => m.id).reverse();
        const page1 = await s.listMessages(app.id, {}, { limit: 3 });
        assert.deepEqual(page1.data.map((m) => m.id), newestFirst.slice(0, 3));
        assert.equal(page1.done, false);
        const page2 = await s.listMessages(app.id, {}, { limit: 3, iterator: page1.iterator! });
        assert.deepEqual(page2.data.map((m) => m.id), newestFirst.slice(3, 6));
        const page3 = await s.listMessages(app.id, {}, { limit: 3, iterator: page2.iterator! });
        assert.deepEqual(page3.data.map((m) => m.id), newestFirst.slice(6));
        assert.equal(page3.done, true);
        const back = await s.listMessages(app.id, {}, { limit: 3, iterator: page2.prevIterator! });
        assert.deepEqual(back.data.map((m) => m.id), newestFirst.slice(0, 3));
        const odd = await s.listMessages(app.id, { channel: 'odd' }, { limit: 10 });
        assert.equal(odd.data.length, 3);
        const window = await s.listMessages(app.id, { afterMs: T0 + 1500, beforeMs: T0 + 4500 }, { limit: 10 });
        assert.deepEqual(window.data.map((m) => m.createdAt), [T0 + 4000, T0 + 3000, T0 + 2000]);
      });
    });

    test('a newest-first list bounded by after alone starts there: its page is the oldest items after it, newest first; prevIterator walks on forward, iterator back', async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const messages = Array.from({ length: 7 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i * 1000), createdAt: T0 + i * 1000 }));
        await s.insertMessages(messages);
        const [, , m2, m3, m4, m5, m6] = messages.map((m) => m.id);
        const afterMs = T0 + 1000;
        const fromAfter = { limit: 2, afterKey: idLowerBound('msg', afterMs) };
        const ids = (page: { data: { id: string }[] }) => page.data.map((m) => m.id);

        const first = await s.listMessages(app.id, { afterMs }, fromAfter);
        assert.deepEqual(ids(first), [m3, m2], 'the two oldest messages after `after`, newest first');
        assert.deepEqual([first.iterator, first.prevIterator, first.done], [m2, `-${m3}`, false]);
        const second = await s.listMessages(app.id, { afterMs }, { limit: 2, iterator: first.prevIterator! });
        assert.deepEqual([ids(second), second.done], [[m5, m4], false]);
        const third = await s.listMessages(app.id, { afterMs }, { limit: 2, iterator: second.prevIterator! });
        assert.deepEqual([ids(third), third.done], [[m6], true], 'forward to the newest: nothing is skipped');
        const back = await s.listMessages(app.id, { afterMs }, { limit: 2, iterator: first.iterator! });
        assert.deepEqual([ids(back), back.done], [[], true], 'back from the first page: nothing older is after `after`');
        const againBack = await s.listMessages(app.id, { afterMs }, { limit: 2, iterator: third.iterator! });
        assert.deepEqual(ids(againBack), [m5, m4], "a later page's iterator walks back");
        assert.deepEqual(
          await s.listMessages(app.id, { afterMs: T0 + 6000 }, { limit: 2, afterKey: idLowerBound('msg', T0 + 6000) }),
          { data: [], iterator: null, prevIterator: null, done: true },
          'nothing after the bound: no cursor either way',
        );
        assert.deepEqual(ids(await s.listMessages(app.id, { afterMs }, { ...fromAfter, order: 'ascending' })), [m2, m3], 'an oldest-first list starts there too');
        assert.deepEqual(ids(await s.listMessages(app.id, { afterMs }, { ...fromAfter, iterator: m5 })), [m4, m3], 'an iterator wins over the bound');

        // The same for attempts (by id) and an endpoint's messages (by message id).
        const claimed = await claim(s, 'w', 10, 10_000, T0 + 10_000);
        const attempts = claimed
          .sort((a, b) => (a.message.id < b.message.id ? -1 : 1))
          .map((c, i) => ({ deliveryId: c.delivery.id, leaseOwner: 'w', attempt: attemptFor(c.delivery.id, messages.find((m) => m.id === c.message.id)!, endpoint.id, 'success', T0 + 10_000 + i * 1000), next: { status: 'succeeded' as const } }));
        await s.completeDeliveries(attempts);
        const attemptIds = attempts.map((a) => a.attempt.id);
        const attemptsAfter = { appId: app.id, endpointId: endpoint.id, afterMs: T0 + 11_000 };
        const firstAttempts = await s.listAttempts(attemptsAfter, { limit: 2, afterKey: idLowerBound('atmpt', T0 + 11_000) });
        assert.deepEqual([ids(firstAttempts), firstAttempts.done], [[attemptIds[3], attemptIds[2]], false]);
        assert.deepEqual(ids(await s.listAttempts(attemptsAfter, { limit: 2, iterator: firstAttempts.prevIterator! })), [attemptIds[5], attemptIds[4]]);
        const routed = await s.listEndpointMessages(app.id, endpoint.id, { afterMs }, fromAfter, T0 + 20_000);
        assert.deepEqual([routed.data.map((e) => e.message.id), routed.iterator, routed.prevIterator], [[m3, m2], m2, `-${m3}`]);
        const routedNext = await s.listEndpointMessages(app.id, endpoint.id, { afterMs }, { limit: 2, iterator: routed.prevIterator! }, T0 + 20_000);
        assert.deepEqual(routedNext.data.map((e) => e.message.id), [m5, m4]);
      });
    });

    test('delivery status views: deliveries by status, message status filter, counts per message and endpoint, attempt series', async () => {
      await fresh(async (s) => {
        const app = makeApp();
        await s.createApp(app);
        const e1 = makeEndpoint(app.id, { filterTypes: ['user.signup'] });
        const e2 = makeEndpoint(app.id, { id: newId('ep', T0), filterTypes: ['user.signup'] });
        await s.createEndpoint(e1);
        await s.createEndpoint(e2);
        const [m1, m2, m3] = [1, 2, 3].map((k) => makeMessage(app.id, { id: newId('msg', T0 + k), createdAt: T0 + k }));
        const unrouted = makeMessage(app.id, { id: newId('msg', T0 + 4), createdAt: T0 + 4, eventType: 'other' });
        await s.insertMessages([m1!, m2!, m3!, unrouted]);
        const claimed = await claim(s, 'w', 10, 10_000, T0 + 10);
        assert.equal(claimed.length, 6);
        const find = (m: Message, e: Endpoint) => claimed.find((c) => c.message.id === m.id && c.endpoint.id === e.id)!.delivery.id;
        const done = (m: Message, e: Endpoint, status: Attempt['status'], at: number, next: DeliveryResult['next']): DeliveryResult => ({
          deliveryId: find(m, e),
          leaseOwner: 'w',
          attempt: attemptFor(find(m, e), m, e.id, status, at),
          next,
        });
        // m1 delivered to both; m2 delivered to e1, failed for good at e2; m3 to retry at e1, still being sent to e2.
        await s.completeDeliveries([
          done(m1!, e1, 'success', T0 + 1_000, { status: 'succeeded' }),
          done(m1!, e2, 'success', T0 + 1_500, { status: 'succeeded' }),
          done(m2!, e1, 'success', T0 + 61_000, { status: 'succeeded' }),
          done(m2!, e2, 'fail', T0 + 62_000, { status: 'failed' }),
          done(m3!, e1, 'fail', T0 + 125_000, { status: 'pending', nextAttemptAt: T0 + 500_000 }),
        ]);
        const now = T0 + 20;

        const counts = await s.countMessageDeliveries([m1!.id, m2!.id, m3!.id, unrouted.id], now);
        assert.deepEqual(counts.get(m1!.id), { success: 2, pending: 0, sending: 0, fail: 0 });
        assert.deepEqual(counts.get(m2!.id), { success: 1, pending: 0, sending: 0, fail: 1 });
        assert.deepEqual(counts.get(m3!.id), { success: 0, pending: 1, sending: 1, fail: 0 });
        assert.equal(counts.has(unrouted.id), false, 'a message without deliveries has no counts');
        assert.deepEqual(await s.countMessageDeliveries([], now), new Map());

        const byStatus = async (deliveryStatus: 'success' | 'pending' | 'fail') =>
          (await s.listMessages(app.id, { deliveryStatus }, { limit: 10 })).data.map((m) => m.id);
        assert.deepEqual(await byStatus('fail'), [m2!.id], 'a message with a failed delivery is failed');
        assert.deepEqual(await byStatus('pending'), [m3!.id]);
        assert.deepEqual(await byStatus('success'), [m1!.id], 'success: every delivery succeeded');
        assert.deepEqual((await s.listMessages(app.id, { deliveryStatus: 'fail', eventTypes: ['other'] }, { limit: 10 })).data, []);

        const [dead] = (await s.listDeliveries(app.id, { status: 'fail' }, { limit: 10 }, now)).data;
        assert.equal(dead!.delivery.id, find(m2!, e2));
        assert.deepEqual([dead!.statusText, dead!.eventType, dead!.messageCreatedAt, dead!.lastStatusCode, dead!.delivery.attempts], ['fail', 'user.signup', T0 + 2, 500, 1]);
        const ids = async (filter: DeliveryFilter, at = now) => (await s.listDeliveries(app.id, filter, { limit: 10 }, at)).data.map((d) => d.delivery.id);
        assert.deepEqual(await ids({ status: 'sending' }), [find(m3!, e2)], 'pending under a live lease is sending');
        assert.deepEqual(await ids({ status: 'pending' }), [find(m3!, e1)]);
        assert.deepEqual((await ids({ status: 'pending' }, T0 + 20_000)).sort(), [find(m3!, e1), find(m3!, e2)].sort(), 'an expired lease is pending again');
        assert.deepEqual(await ids({ status: 'success' }, now), [find(m2!, e1), find(m1!, e2), find(m1!, e1)].sort().reverse());
        const all = await ids({});
        assert.equal(all.length, 6);
        assert.deepEqual(all, [...all].sort().reverse(), 'newest first');
        assert.equal((await ids({ endpointId: e1.id })).length, 3);
        assert.deepEqual(await ids({ eventTypes: ['other'] }), []);
        assert.equal((await ids({ afterMs: T0 + 1 })).length, 4);
        assert.equal((await ids({ beforeMs: T0 + 2 })).length, 2);
        const page1 = await s.listDeliveries(app.id, {}, { limit: 4 }, now);
        const page2 = await s.listDeliveries(app.id, {}, { limit: 4, iterator: page1.iterator! }, now);
        assert.deepEqual([page1.data.length, page1.done, page2.data.length, page2.done], [4, false, 2, true]);
        assert.deepEqual([...page1.data, ...page2.data].map((d) => d.delivery.id), all);
        const lastCodes = (await s.listDeliveries(app.id, { endpointId: e2.id }, { limit: 10 }, now)).data.map((d) => d.lastStatusCode);
        assert.deepEqual(lastCodes, [null, 500, 200], 'null before the first attempt');

        assert.deepEqual(await s.endpointStats(e2.id, {}, now), { success: 1, pending: 0, sending: 1, fail: 1 });
        assert.deepEqual(await s.endpointStats(e2.id, { sinceMs: T0 + 2 }, now), { success: 0, pending: 0, sending: 1, fail: 1 });
        assert.deepEqual(await s.endpointStats(e2.id, { untilMs: T0 + 2 }, now), { success: 1, pending: 0, sending: 0, fail: 0 });
        assert.deepEqual(await s.endpointStats(e1.id, { sinceMs: T0 + 3, untilMs: T0 + 4 }, now), { success: 0, pending: 1, sending: 0, fail: 0 });

        const minute = 60_000;
        assert.deepEqual(await s.attemptSeries(app.id, { sinceMs: T0, untilMs: T0 + 3 * minute, bucketMs: minute }), [
          { startMs: T0, success: 2, fail: 0 },
          { startMs: T0 + minute, success: 1, fail: 1 },
          { startMs: T0 + 2 * minute, success: 0, fail: 1 },
        ]);
        assert.deepEqual(await s.attemptSeries(app.id, { sinceMs: T0, untilMs: T0 + 2 * minute, bucketMs: minute, endpointId: e2.id }), [
          { startMs: T0, success: 1, fail: 0 },
          { startMs: T0 + minute, success: 0, fail: 1 },
        ]);
        assert.deepEqual(await s.attemptSeries(app.id, { sinceMs: T0 + 1_200, untilMs: T0 + 61_200, bucketMs: 30_000 }), [
          { startMs: T0 + 1_200, success: 1, fail: 0 },
          { startMs: T0 + 31_200, success: 1, fail: 0 },
        ], 'buckets start at since; both ends bound');
        assert.deepEqual(await s.attemptSeries(newId('app', T0), { sinceMs: T0, untilMs: T0 + 3 * minute, bucketMs: minute }), []);
      });
    });

    test('idempotency: new, in progress, replay, mismatch, stale takeover and expiry', async () => {
      const ttl = 86_400_000;
      assert.deepEqual(await store.beginIdempotent('k1', 'idem', 'h1', T0, 60_000, ttl), { state: 'new' });
      assert.deepEqual(await store.beginIdempotent('k1', 'idem', 'h1', T0 + 1, 60_000, ttl), { state: 'in_progress' });
      assert.deepEqual(await store.beginIdempotent('k1', 'idem', 'h2', T0 + 1, 60_000, ttl), { state: 'mismatch' });
      await store.finishIdempotent('k1', 'idem', { status: 202, body: '{"id":"x"}' });
      assert.deepEqual(await store.beginIdempotent('k1', 'idem', 'h1', T0 + 2, 60_000, ttl), { state: 'done', response: { status: 202, body: '{"id":"x"}' } });
      assert.deepEqual(await store.beginIdempotent('k2', 'idem', 'h1', T0 + 2, 60_000, ttl), { state: 'new' }, 'keys are scoped per caller');
      assert.deepEqual(await store.beginIdempotent('k2', 'idem', 'h1', T0 + 60_003, 60_000, ttl), { state: 'new' }, 'a stale in-progress key is taken over');
      assert.deepEqual(await store.beginIdempotent('k1', 'idem', 'h9', T0 + ttl + 1, 60_000, ttl), { state: 'new' }, 'an expired key is new');
      await store.finishIdempotent('k2', 'idem', null);
      assert.deepEqual(await store.beginIdempotent('k2', 'idem', 'h1', T0 + 60_004, 60_000, ttl), { state: 'new' }, 'a forgotten key can be retried');
    });

    test('api keys are found by hash only while active', async () => {
      const key = { id: newId('key', T0), appId: null, name: 'admin', prefix: 'hookd_abc', createdAt: T0, revokedAt: null, expiresAt: null, readOnly: false, capabilities: null };
      await store.createApiKey(key, 'hash-1');
      assert.deepEqual(await store.findApiKeyByHash('hash-1'), key);
      assert.equal(await store.revokeApiKey(key.id, T0 + 1), true);
      assert.equal(await store.findApiKeyByHash('hash-1'), null);
      assert.equal(await store.revokeApiKey(key.id, T0 + 2), false);
    });

    test('processes starting at once on an empty database make one bootstrap admin key between them; none once an admin key is active', async () => {
      await fresh(async (s) => {
        // Five at once: on PostgreSQL each on its own pooled connection, as separate processes would be.
        const tokens = await Promise.all(Array.from({ length: 5 }, () => bootstrapAdminKey(s)));
        const made = tokens.filter((t) => t !== null);
        assert.equal(made.length, 1, `tokens printed: ${made.length}`);
        const admins = (await s.listApiKeys()).filter((k) => k.appId === null);
        assert.deepEqual(admins.map((k) => k.name), ['bootstrap']);
        assert.equal((await s.findApiKeyByHash(hashToken(made[0]!)))?.id, admins[0]!.id, 'the printed token is the stored key');
        assert.equal(await bootstrapAdminKey(s), null, 'a later start makes none');
        await s.revokeApiKey(admins[0]!.id, Date.now());
        const app = makeApp();
        await s.createApp(app);
        await createApiKey(s, { appId: app.id, name: 'scoped' });
        assert.notEqual(await bootstrapAdminKey(s), null, 'with every admin key revoked (an application key is none), a start makes one again');
      });
    });

    test("an app-portal token's expiry, read-only flag and capabilities are stored with the key", async () => {
      const app = makeApp();
      await store.createApp(app);
      const token: ApiKey = { id: newId('key', T0), appId: app.id, name: 'app portal', prefix: 'hookd_def', createdAt: T0, revokedAt: null, expiresAt: T0 + 3_600_000, readOnly: true, capabilities: null };
      const limited: ApiKey = { ...token, id: newId('key', T0 + 1), readOnly: false, capabilities: ['ViewBase', 'CreateAttempts'] };
      await store.createApiKey(token, 'hash-portal');
      await store.createApiKey(limited, 'hash-limited');
      assert.deepEqual(await store.findApiKeyByHash('hash-portal'), token);
      assert.deepEqual(await store.findApiKeyByHash('hash-limited'), limited);
      assert.deepEqual((await store.listApiKeys()).find((k) => k.id === token.id), token);
    });

    test("background tasks: found by id within their application's scope, listed newest first, filtered by status and kind, paged both ways, deleted with their application", async () => {
      const [one, two] = [makeApp(), makeApp()];
      await store.createApp(one);
      await store.createApp(two);
      const task = (appId: string, at: number, kind: BackgroundTask['task'], status: BackgroundTask['status'] = 'finished'): BackgroundTask => ({
        id: newId('qtask', at),
        appId,
        task: kind,
        status,
        data: { endpointId: 'ep_x', since: new Date(at).toISOString(), count: at - T0, nested: { quote: 'a "b" \\ ü' } },
        updatedAt: at,
      });
      const mine = [task(one.id, T0 + 1, 'endpoint.recover'), task(one.id, T0 + 2, 'endpoint.replay'), task(one.id, T0 + 3, 'endpoint.recover', 'failed'), task(one.id, T0 + 4, 'endpoint.recover')];
      const theirs = task(two.id, T0 + 5, 'endpoint.recover');
      for (const t of [...mine, theirs]) await store.saveBackgroundTask(t);

      assert.deepEqual(await store.getBackgroundTask(mine[1]!.id, null), mine[1], 'an admin finds any task, its data as stored');
      assert.deepEqual(await store.getBackgroundTask(mine[1]!.id, one.id), mine[1]);
      assert.equal(await store.getBackgroundTask(mine[1]!.id, two.id), null, "another application's key does not");
      assert.equal(await store.getBackgroundTask(newId('qtask', T0), null), null);

      const ids = (page: { data: BackgroundTask[] }) => page.data.map((t) => t.id);
      const first = await store.listBackgroundTasks({ appId: one.id }, { limit: 3 });
      assert.deepEqual(ids(first), [mine[3]!.id, mine[2]!.id, mine[1]!.id], 'newest first, its own only');
      assert.equal(first.done, false);
      const second = await store.listBackgroundTasks({ appId: one.id }, { limit: 3, iterator: first.iterator! });
      assert.deepEqual(ids(second), [mine[0]!.id]);
      assert.equal(second.done, true);
      assert.deepEqual(ids(await store.listBackgroundTasks({ appId: one.id }, { limit: 3, iterator: second.prevIterator! })), ids(first), 'prevIterator pages back');
      assert.deepEqual(ids(await store.listBackgroundTasks({ appId: one.id, task: 'endpoint.recover', status: 'finished' }, { limit: 10 })), [mine[3]!.id, mine[0]!.id]);
      assert.deepEqual(ids(await store.listBackgroundTasks({ appId: one.id, status: 'failed' }, { limit: 10 })), [mine[2]!.id]);
      assert.deepEqual(ids(await store.listBackgroundTasks({ appId: one.id }, { limit: 2, order: 'ascending' })), [mine[0]!.id, mine[1]!.id]);
      const everyone = ids(await store.listBackgroundTasks({ appId: null }, { limit: 250 }));
      assert.ok(everyone.includes(theirs.id) && mine.every((t) => everyone.includes(t.id)), "an admin's list has every application's");

      await store.deleteApp(two.id);
      assert.equal(await store.getBackgroundTask(theirs.id, null), null, 'deleted with its application');
    });

    // ---- Svix compatibility: send-example, expunge, list-attempted-messages

    test('a message inserted for one endpoint gets a delivery to that endpoint only, whatever the filters', async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s, { filterTypes: ['invoice.paid'] });
        const other = makeEndpoint(app.id);
        await s.createEndpoint(other);
        const message = makeMessage(app.id, { eventType: 'svix.ping', payload: '{"success":true}' });
        await s.insertMessageTo(message, endpoint.id);
        assert.deepEqual((await s.getMessage(app.id, message.id))?.payload, '{"success":true}');
        assert.deepEqual(
          (await s.listMessageDeliveries(message.id)).map((d) => [d.endpointId, d.status, d.nextTrigger]),
          [[endpoint.id, 'pending', 0]],
        );
        const [c] = await claim(s, 'w', 10, 10_000, T0);
        assert.equal(c?.delivery.endpointId, endpoint.id, 'the delivery is claimable at once');
        assert.equal(c?.message.payload, '{"success":true}');
      });
    });

    test('expunging a message replaces its payload, fails its pending deliveries (leased ones too) and keeps recover away from it', async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const second = makeEndpoint(app.id);
        await s.createEndpoint(second);
        const message = makeMessage(app.id, { payload: '{"card":"4242"}' });
        const kept = makeMessage(app.id, { createdAt: T0 + 1 });
        await s.insertMessages([message, kept]);
        const claimed = await claim(s, 'w', 1, 10_000, T0);
        assert.equal(claimed.length, 1, 'one delivery is on the wire when the content is expunged');

        assert.deepEqual(await s.expungeMessageContent(app.id, [message.id], T0 + 10), [message.id]);
        const expunged = await s.getMessage(app.id, message.id);
        assert.equal(expunged?.payload, '{"expired":true}');
        assert.equal(expunged?.expungedAt, T0 + 10);
        assert.deepEqual(
          (await s.listMessageDeliveries(message.id)).map((d) => [d.status, d.lastError, d.leaseOwner]),
          [
            ['failed', 'message content expunged', null],
            ['failed', 'message content expunged', null],
          ],
        );
        assert.equal((await s.getMessage(app.id, kept.id))?.expungedAt, null, 'other messages are untouched');
        assert.ok((await s.listMessageDeliveries(kept.id)).every((d) => d.status === 'pending'));

        // The request that was on the wire is recorded, but its retry schedule does not revive the delivery.
        const onWire = claimed[0]!;
        await s.completeDeliveries([
          { deliveryId: onWire.delivery.id, leaseOwner: 'w', attempt: attemptFor(onWire.delivery.id, message, onWire.delivery.endpointId, 'fail', T0 + 20), next: { status: 'pending', nextAttemptAt: T0 + 30 } },
        ]);
        assert.equal((await s.listAttempts({ appId: app.id, messageId: message.id }, { limit: 10 })).data.length, 1);
        assert.ok((await s.listMessageDeliveries(message.id)).every((d) => d.status === 'failed'));
        const later = await claim(s, 'w2', 10, 10_000, T0 + 100);
        assert.ok(later.every((c) => c.message.id === kept.id), 'nothing of the expunged message is claimed again');

        assert.equal(await s.recoverFailed(endpoint.id, T0, T0 + 1, T0 + 200), 0, 'recover passes over an expunged message');
        // A resend of the message as read before the expunge (the API checked it then) is refused, and changes nothing.
        await assert.rejects(s.resendDelivery(message, endpoint, T0 + 300), (error: { kind?: string }) => error.kind === 'HOOKD_ERR_MISSING_PAYLOAD');
        assert.ok((await s.listMessageDeliveries(message.id)).every((d) => d.status === 'failed'), 'nothing made pending again');
        assert.deepEqual(await s.expungeMessageContent(app.id, ['msg_2zzzzzzzzzzzzzzzzzzzzzzzzzz'], T0), []);
        assert.deepEqual(await s.expungeMessageContent(makeApp().id, [message.id], T0), [], 'another app cannot expunge it');
      });
    });

    test('several messages are expunged at once: the ids found are returned, one expunged before keeps its time, and another app\'s message and a missing id are passed over', async () => {
      await fresh(async (s) => {
        const { app } = await seedEndpoint(s);
        const other = await seedEndpoint(s);
        const messages = [0, 1, 2, 3].map((i) => makeMessage(app.id, { id: newId('msg', T0 + i), createdAt: T0 + i }));
        const foreign = makeMessage(other.app.id, { id: newId('msg', T0 + 9), createdAt: T0 + 9 });
        await s.insertMessages([...messages, foreign]);
        assert.deepEqual(await s.expungeMessageContent(app.id, [messages[0]!.id], T0 + 10), [messages[0]!.id]);
        assert.deepEqual(await s.expungeMessageContent(app.id, [], T0 + 15), []);

        const named = [messages[2]!.id, messages[0]!.id, foreign.id, 'msg_2zzzzzzzzzzzzzzzzzzzzzzzzzz', messages[1]!.id];
        const found = await s.expungeMessageContent(app.id, named, T0 + 20);
        assert.deepEqual([...found].sort(), [messages[0]!.id, messages[1]!.id, messages[2]!.id].sort());
        const expungedAt = async (appId: string, id: string) => (await s.getMessage(appId, id))?.expungedAt;
        assert.deepEqual(
          await Promise.all(messages.map((m) => expungedAt(app.id, m.id))),
          [T0 + 10, T0 + 20, T0 + 20, null],
          'the first kept its time; the one not named is untouched',
        );
        assert.equal(await expungedAt(other.app.id, foreign.id), null, "another app's message is untouched");
        for (const m of messages.slice(0, 3)) {
          assert.deepEqual((await s.listMessageDeliveries(m.id)).map((d) => [d.status, d.lastError]), [['failed', 'message content expunged']], m.id);
        }
        assert.deepEqual((await s.listMessageDeliveries(messages[3]!.id)).map((d) => d.status), ['pending']);
        assert.deepEqual((await s.listMessageDeliveries(foreign.id)).map((d) => d.status), ['pending']);
      });
    });

    test('a delivery whose message is expunged while its attempt is on the wire succeeds when the receiver takes it (no dead letter), and is failed when not', async () => {
      await fresh(async (s) => {
        const { app } = await seedEndpoint(s);
        const [taken, refused] = [makeMessage(app.id), makeMessage(app.id, { id: newId('msg', T0 + 1), createdAt: T0 + 1 })];
        await s.insertMessages([taken, refused]);
        const claimed = await claim(s, 'w', 10, 10_000, T0 + 1);
        assert.equal(claimed.length, 2);
        for (const m of [taken, refused]) assert.deepEqual(await s.expungeMessageContent(app.id, [m.id], T0 + 10), [m.id]);
        await s.completeDeliveries(
          claimed.map((c) => (c.message.id === taken.id ? resultOf(c, 'w', 'success', T0 + 20, { status: 'succeeded' }) : resultOf(c, 'w', 'fail', T0 + 20, { status: 'pending', nextAttemptAt: T0 + 30 }))),
        );
        const [delivered] = await s.listMessageDeliveries(taken.id);
        assert.deepEqual([delivered!.status, delivered!.attempts, delivered!.lastError, delivered!.updatedAt], ['succeeded', 1, null, T0 + 20]);
        const [dead] = await s.listMessageDeliveries(refused.id);
        assert.deepEqual([dead!.status, dead!.attempts, dead!.lastError], ['failed', 0, 'message content expunged']);
        assert.deepEqual((await s.listDeliveries(app.id, { status: 'fail' }, { limit: 10 }, T0 + 30)).data.map((d) => d.delivery.messageId), [refused.id], 'one dead letter');
        assert.equal((await claim(s, 'w', 10, 10_000, T0 + 100)).length, 0, 'neither goes again');
      });
    });

    test("a late 2xx from a lost lease changes nothing but an expunged delivery: not one another worker holds now, nor one that failed otherwise", async () => {
      await fresh(async (s) => {
        const { app } = await seedEndpoint(s);
        const [taken, failed] = [makeMessage(app.id), makeMessage(app.id, { id: newId('msg', T0 + 1), createdAt: T0 + 1 })];
        await s.insertMessages([taken, failed]);
        const first = await claim(s, 'w', 10, 1_000, T0 + 1);
        assert.equal(first.length, 2);
        // Both leases expire; another worker takes both, fails one for good and is still sending the other.
        const second = await claim(s, 'w2', 10, 60_000, T0 + 2_000);
        assert.equal(second.length, 2);
        const failedByW2 = second.find((c) => c.message.id === failed.id)!;
        await s.completeDeliveries([resultOf(failedByW2, 'w2', 'fail', T0 + 2_100, { status: 'failed' })]);
        // The first worker's late 2xx for both.
        await s.completeDeliveries(first.map((c) => resultOf(c, 'w', 'success', T0 + 2_200, { status: 'succeeded' })));
        const [sending] = await s.listMessageDeliveries(taken.id);
        assert.deepEqual([sending!.status, sending!.leaseOwner, sending!.attempts], ['pending', 'w2', 0], "the other worker's lease stands");
        const [dead] = await s.listMessageDeliveries(failed.id);
        assert.deepEqual([dead!.status, dead!.lastError, dead!.attempts], ['failed', 'HTTP 500', 1], 'a delivery that failed otherwise stays failed');
      });
    });

    test("an attempt comes back byte for byte: quotes, backslashes, control characters and any Unicode in its response, error and both sides' headers", async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const texts = [`it's`, `a\\b \\'q\\' E'x' $1 $$ ''`, `é 😀 \u2028 \u0001\u0007\t\r\n\u001f\u007f ,{}"NULL"`, `${'x'.repeat(20_000)}'\\`, ''];
        const messages = texts.map(() => makeMessage(app.id, { id: newId('msg', T0) }));
        await s.insertMessages(messages);
        const claimed = await claim(s, 'w', 10, 10_000, T0 + 1);
        assert.equal(claimed.length, texts.length);
        const attempts = claimed.map((c, i) => ({
          ...attemptFor(c.delivery.id, messages.find((m) => m.id === c.message.id)!, endpoint.id, 'fail', T0 + 2),
          response: texts[i]!,
          error: texts[(i + 1) % texts.length]!,
          requestHeaders: { 'x-sent': texts[(i + 2) % texts.length]!.slice(0, 100) },
          responseHeaders: { [`x-${i}`]: texts[(i + 3) % texts.length]!.slice(0, 100) },
        }));
        await s.completeDeliveries(attempts.map((attempt, i) => ({ deliveryId: claimed[i]!.delivery.id, leaseOwner: 'w', attempt, next: { status: 'pending', nextAttemptAt: T0 + 60_000 } })));
        for (const attempt of attempts) {
          const stored = await s.getAttempt(attempt.messageId, attempt.id);
          assert.ok(stored, attempt.id);
          for (const field of ['response', 'error', 'requestHeaders', 'responseHeaders'] as const) assert.deepEqual(stored[field], attempt[field], field);
        }
      });
    });

    test("expunging an attempt's content replaces its response body", async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const message = makeMessage(app.id);
        await s.insertMessages([message]);
        const [c] = await claim(s, 'w', 1, 10_000, T0);
        const attempt = { ...attemptFor(c!.delivery.id, message, endpoint.id, 'success', T0 + 1), response: '{"ssn":"123"}' };
        await s.completeDeliveries([{ deliveryId: c!.delivery.id, leaseOwner: 'w', attempt, next: { status: 'succeeded' } }]);
        assert.equal(await s.expungeAttemptContent(message.id, attempt.id), true);
        assert.equal((await s.getAttempt(message.id, attempt.id))?.response, 'EXPUNGED');
        assert.equal(await s.expungeAttemptContent(makeMessage(app.id).id, attempt.id), false, 'named through its own message only');
      });
    });

    test("an endpoint's messages: one per delivery, newest message first, with status and next attempt, filtered and paged", async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const other = makeEndpoint(app.id, { filterTypes: ['never.sent'] });
        await s.createEndpoint(other);
        const old = makeMessage(app.id, { id: newId('msg', T0), eventType: 'a.one', channels: ['eu'], createdAt: T0 });
        const mid = makeMessage(app.id, { id: newId('msg', T0 + 1000), eventType: 'b.two', createdAt: T0 + 1000 });
        const recent = makeMessage(app.id, { id: newId('msg', T0 + 2000), eventType: 'a.one', createdAt: T0 + 2000 });
        await s.insertMessages([old, mid, recent]);
        const now = T0 + 3000;
        // `old` is claimed (sending), then failed for good.
        const [c] = await claim(s, 'w', 1, 10_000, now);
        assert.equal(c?.message.id, old.id);
        await s.completeDeliveries([{ deliveryId: c!.delivery.id, leaseOwner: 'w', attempt: attemptFor(c!.delivery.id, old, endpoint.id, 'fail', now), next: { status: 'failed' } }]);

        const all = await s.listEndpointMessages(app.id, endpoint.id, {}, { limit: 10 }, now);
        assert.deepEqual(
          all.data.map((e) => [e.message.id, e.statusText, e.nextAttemptAt]),
          [
            [recent.id, 'pending', T0 + 2000],
            [mid.id, 'pending', T0 + 1000],
            [old.id, 'fail', null],
          ],
        );
        assert.equal(all.data[2]!.message.payload, old.payload);
        assert.deepEqual((await s.listEndpointMessages(app.id, other.id, {}, { limit: 10 }, now)).data, []);
        const ids = async (filter: Parameters<Store['listEndpointMessages']>[2]) => (await s.listEndpointMessages(app.id, endpoint.id, filter, { limit: 10 }, now)).data.map((e) => e.message.id);
        assert.deepEqual(await ids({ status: 'fail' }), [old.id]);
        assert.deepEqual(await ids({ status: 'pending' }), [recent.id, mid.id]);
        assert.deepEqual(await ids({ channel: 'eu' }), [old.id]);
        assert.deepEqual(await ids({ eventTypes: ['a.one'] }), [recent.id, old.id]);
        assert.deepEqual(await ids({ beforeMs: T0 + 2000, afterMs: T0 }), [mid.id]);
        const first = await s.listEndpointMessages(app.id, endpoint.id, {}, { limit: 2 }, now);
        assert.equal(first.done, false);
        const second = await s.listEndpointMessages(app.id, endpoint.id, {}, { limit: 2, iterator: first.iterator! }, now);
        assert.deepEqual([...first.data, ...second.data].map((e) => e.message.id), [recent.id, mid.id, old.id]);
        assert.equal(second.done, true);
        assert.deepEqual((await s.listEndpointMessages(makeApp().id, endpoint.id, {}, { limit: 10 }, now)).data, [], 'scoped to the app');
      });
    });

    test("an endpoint's messages are paged by message id, as in Svix: a message resent to an endpoint it never went to keeps its place, and a message id is an iterator", async () => {
      await fresh(async (s) => {
        const { app } = await seedEndpoint(s);
        const older = makeMessage(app.id, { id: newId('msg', T0), createdAt: T0 });
        await s.insertMessages([older]);
        // Created after `older` was sent: only `newer` goes to it, until `older` is resent there (its delivery is the newest).
        const late = makeEndpoint(app.id);
        await s.createEndpoint(late);
        const newer = makeMessage(app.id, { id: newId('msg', T0 + 1000), createdAt: T0 + 1000 });
        await s.insertMessages([newer]);
        await s.resendDelivery(older, late, T0 + 5000);
        const now = T0 + 6000;
        const list = (page: PageRequest) => s.listEndpointMessages(app.id, late.id, {}, page, now);
        assert.deepEqual((await list({ limit: 10 })).data.map((e) => e.message.id), [newer.id, older.id], 'newest message first, whenever it was routed');
        const first = await list({ limit: 1 });
        assert.deepEqual([first.data.map((e) => e.message.id), first.iterator, first.prevIterator, first.done], [[newer.id], newer.id, `-${newer.id}`, false]);
        const second = await list({ limit: 1, iterator: newer.id });
        assert.deepEqual([second.data.map((e) => e.message.id), second.iterator, second.prevIterator, second.done], [[older.id], older.id, `-${older.id}`, true]);
        assert.deepEqual((await list({ limit: 1, iterator: `-${older.id}` })).data.map((e) => e.message.id), [newer.id], 'a prevIterator is a message id too');
      });
    });

    // ---- Event types

    test('missingEventTypes names, in the order asked, those absent from the catalog or archived; an archived type restored counts again', async () => {
      await fresh(async (s) => {
        const eventType = (name: string, archived = false): EventType => ({ name, description: name, archived, deprecated: false, schemas: null, featureFlag: null, groupName: null, createdAt: T0, updatedAt: T0 });
        await s.createEventType(eventType('invoice.paid'));
        await s.createEventType(eventType('invoice.void', true));
        await s.createEventType(eventType('user.signup'));
        await s.createEventType(eventType('user.left'));
        assert.deepEqual(await s.missingEventTypes(['invoice.paid', 'user.signup']), []);
        assert.deepEqual(await s.missingEventTypes(['zz.unknown', 'invoice.paid', 'invoice.void', 'aa.unknown']), ['zz.unknown', 'invoice.void', 'aa.unknown']);
        assert.deepEqual(await s.missingEventTypes(['Invoice.Paid']), ['Invoice.Paid'], 'names are case-sensitive');
        assert.deepEqual(await s.missingEventTypes([]), []);

        assert.equal(await s.deleteEventType('user.signup', false, T0 + 1), true);
        assert.equal(await s.deleteEventType('user.left', true, T0 + 1), true);
        assert.deepEqual(await s.missingEventTypes(['user.signup', 'user.left', 'invoice.paid']), ['user.signup', 'user.left'], 'archived and expunged');
        await s.updateEventType({ ...eventType('invoice.void'), updatedAt: T0 + 2 });
        assert.deepEqual(await s.missingEventTypes(['invoice.void']), [], 'restored');
      });
    });

    test('saveEventTypes writes an import whole, or, when one create meets a name taken meanwhile, not at all', async () => {
      await fresh(async (s) => {
        const eventType = (name: string, description = name): EventType => ({ name, description, archived: false, deprecated: false, schemas: null, featureFlag: null, groupName: null, createdAt: T0, updatedAt: T0 });
        await s.createEventType(eventType('a.taken'));
        await s.saveEventTypes([
          { eventType: eventType('b.new'), created: true },
          { eventType: { ...eventType('a.taken', 'changed'), updatedAt: T0 + 1 }, created: false },
        ]);
        assert.equal((await s.getEventType('b.new'))?.description, 'b.new');
        assert.equal((await s.getEventType('a.taken'))?.description, 'changed');

        // The second change creates a name that exists: a 409, and the first change is not written either.
        await assert.rejects(
          s.saveEventTypes([
            { eventType: { ...eventType('b.new', 'lost'), updatedAt: T0 + 2 }, created: false },
            { eventType: eventType('a.taken'), created: true },
            { eventType: eventType('c.never'), created: true },
          ]),
          (error: unknown) => (error as { status?: number }).status === 409,
        );
        assert.equal((await s.getEventType('b.new'))?.description, 'b.new', 'the update before the conflict was rolled back');
        assert.equal(await s.getEventType('c.never'), null);
        await s.saveEventTypes([]);
      });
    });

    // ---- Inbound sources

    test('inbound sources: created, found by id (scoped to their app or alone), listed, updated and deleted; deleting the app deletes them', async () => {
      const app = makeApp();
      const other = makeApp();
      await store.createApp(app);
      await store.createApp(other);
      const source: Source = {
        id: newId('src', T0),
        appId: app.id,
        name: 'github',
        verification: { scheme: 'hmac-sha256', secret: 's3cret-s3cret-s3cret', header: 'x-hub-signature-256', prefix: 'sha256=', encoding: 'hex', timestampHeader: null, toleranceSeconds: 300 },
        idempotencyHeader: 'x-github-delivery',
        eventType: { header: 'x-github-event', field: null, default: null },
        channels: null,
        createdAt: T0,
        updatedAt: T0,
      };
      const second: Source = {
        ...source,
        id: newId('src', T0 + 1),
        name: 'standard',
        verification: { ...source.verification, scheme: 'standard-webhooks', secret: generateSecret(), header: 'webhook-signature', prefix: '', encoding: 'base64', timestampHeader: 'webhook-timestamp' },
        idempotencyHeader: null,
        eventType: { header: null, field: 'data.type', default: 'fallback.event' },
        channels: ['eu', 'us'],
      };
      await store.createSource(source);
      await store.createSource(second);
      assert.deepEqual(await store.getSource(app.id, source.id), source);
      assert.deepEqual(await store.findSource(second.id), second);
      assert.equal(await store.getSource(other.id, source.id), null, "another app's source is not found through that app");
      assert.equal(await store.findSource(newId('src', T0)), null);

      const page = await store.listSources(app.id, { limit: 1 });
      assert.deepEqual(page.data, [source]);
      assert.equal(page.done, false);
      const next = await store.listSources(app.id, { limit: 1, iterator: page.iterator! });
      assert.deepEqual(next.data, [second]);
      assert.deepEqual((await store.listSources(other.id, { limit: 50 })).data, []);

      const updated: Source = { ...source, name: 'renamed', verification: { ...source.verification, secret: 'a-new-secret-value!' }, channels: ['eu'], updatedAt: T0 + 5, createdAt: T0 + 99 };
      await store.updateSource(updated);
      assert.deepEqual(await store.getSource(app.id, source.id), { ...updated, createdAt: T0 }, 'createdAt never changes');
      await store.updateSource({ ...updated, appId: other.id, name: 'moved?' });
      assert.equal((await store.getSource(app.id, source.id))?.name, 'renamed', 'an update through another app changes nothing');

      assert.equal(await store.deleteSource(other.id, source.id), false);
      assert.equal(await store.deleteSource(app.id, source.id), true);
      assert.equal(await store.deleteSource(app.id, source.id), false);
      assert.equal(await store.findSource(source.id), null);
      await store.deleteApp(app.id);
      assert.equal(await store.findSource(second.id), null, 'deleting the app deleted its sources');
    });

    test('deleting an app removes its endpoints, messages, deliveries and attempts', async () => {
      const { app, endpoint } = await seedEndpoint(store);
      const message = makeMessage(app.id);
      await store.insertMessages([message]);
      await store.deleteApp(app.id);
      assert.equal(await store.getApp(app.id), null);
      assert.equal(await store.getMessage(app.id, message.id), null);
      assert.deepEqual(await store.listMessageDeliveries(message.id), []);
    });

    test('an ack for a delivery whose app was deleted while its request was on the wire succeeds and records nothing', async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const other = await seedEndpoint(s);
        const message = makeMessage(app.id);
        const kept = makeMessage(other.app.id);
        await s.insertMessages([message, kept]);
        const claimed = await claim(s, 'worker-a', 10, 30_000, T0 + 1000);
        assert.equal(claimed.length, 2);
        await s.deleteApp(app.id);
        // The same batch holds a result of a live app: it must still be recorded.
        const messages = new Map([message, kept].map((m) => [m.id, m]));
        await s.completeDeliveries(
          claimed.map((c) => ({
            deliveryId: c.delivery.id,
            leaseOwner: 'worker-a',
            attempt: attemptFor(c.delivery.id, messages.get(c.message.id)!, c.endpoint.id, 'success', T0 + 1100),
            next: { status: 'succeeded' as const },
          })),
        );
        assert.equal((await s.listAttempts({ appId: app.id, endpointId: endpoint.id }, { limit: 10 })).data.length, 0);
        assert.equal((await s.listMessageDeliveries(kept.id))[0]!.status, 'succeeded');
        assert.equal((await s.listAttempts({ appId: other.app.id, messageId: kept.id }, { limit: 10 })).data.length, 1);
      });
    });

    // ---- Observability: queue gauges and endpoint latency stats.

    test('queue stats count pending and due deliveries and give the oldest due time, leases and retries excluded (held ones: the circuit and 429 tests)', async () => {
      await fresh(async (s) => {
        assert.deepEqual(await s.queueStats(T0), { pending: 0, due: 0, held: 0, oldestDueAt: null, circuitsOpen: 0 });
        const { app } = await seedEndpoint(s);
        const messages = [1, 2, 3].map((k) => makeMessage(app.id, { id: newId('msg', T0 + k), createdAt: T0 + k }));
        await s.insertMessages(messages);
        assert.deepEqual(await s.queueStats(T0), { pending: 3, due: 0, held: 0, oldestDueAt: null, circuitsOpen: 0 }, 'nothing due before its time');
        assert.deepEqual(await s.queueStats(T0 + 2), { pending: 3, due: 2, held: 0, oldestDueAt: T0 + 1, circuitsOpen: 0 });
        const [first] = await claim(s, 'w', 1, 10_000, T0 + 10);
        assert.deepEqual(await s.queueStats(T0 + 10), { pending: 3, due: 2, held: 0, oldestDueAt: T0 + 2, circuitsOpen: 0 }, 'a leased delivery is pending, not due');
        assert.deepEqual(await s.queueStats(T0 + 20_000), { pending: 3, due: 3, held: 0, oldestDueAt: T0 + 2, circuitsOpen: 0 }, 'an expired lease is due again');
        const claimed = first!;
        await s.completeDeliveries([
          {
            deliveryId: claimed.delivery.id,
            leaseOwner: 'w',
            attempt: attemptFor(claimed.delivery.id, messages[0]!, claimed.endpoint.id, 'fail', T0 + 20),
            next: { status: 'pending', nextAttemptAt: T0 + 5_000 },
          },
        ]);
        assert.deepEqual(await s.queueStats(T0 + 20), { pending: 3, due: 2, held: 0, oldestDueAt: T0 + 2, circuitsOpen: 0 }, 'a scheduled retry is pending, not due');
        assert.deepEqual(await s.queueStats(T0 + 5_000), { pending: 3, due: 3, held: 0, oldestDueAt: T0 + 2, circuitsOpen: 0 });
        const rest = await claim(s, 'w', 10, 10_000, T0 + 5_000);
        await s.completeDeliveries(
          rest.map((c) => ({
            deliveryId: c.delivery.id,
            leaseOwner: 'w',
            attempt: attemptFor(c.delivery.id, messages.find((m) => m.id === c.message.id)!, c.endpoint.id, 'success', T0 + 5_001),
            next: { status: 'succeeded' as const },
          })),
        );
        assert.deepEqual(await s.queueStats(T0 + 5_001), { pending: 0, due: 0, held: 0, oldestDueAt: null, circuitsOpen: 0 }, 'finished deliveries leave the queue');
      });
    });

    test('endpoint latency: counts by outcome and nearest-rank duration percentiles over [since, until) of one endpoint', async () => {
      await fresh(async (s) => {
        const app = makeApp();
        await s.createApp(app);
        const [e1, e2] = [makeEndpoint(app.id), makeEndpoint(app.id, { id: newId('ep', T0 + 1) })];
        await s.createEndpoint(e1!);
        await s.createEndpoint(e2!);
        const message = makeMessage(app.id);
        await s.insertMessages([message]);
        const range = { sinceMs: T0 + 1_000, untilMs: T0 + 2_000 };
        assert.deepEqual(await s.endpointLatency(app.id, e1!.id, range), { attempts: 0, succeeded: 0, failed: 0, p50Ms: null, p90Ms: null, p99Ms: null, maxMs: null });
        const attempt = (endpoint: Endpoint, durationMs: number, at: number, status: Attempt['status']): DeliveryResult => {
          const a = { ...attemptFor('dlv_none', message, endpoint.id, status, at), responseDurationMs: durationMs };
          // No delivery holds this lease: only the attempt is recorded (as for a late ack).
          return { deliveryId: 'dlv_none', leaseOwner: 'nobody', attempt: a, next: { status: status === 'success' ? 'succeeded' : 'failed' } };
        };
        // e1: durations 1..100 ms in a scrambled order, 80 succeeded and 20 failed, inside the window.
        const durations = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1);
        await s.completeDeliveries(durations.map((d, i) => attempt(e1!, d, range.sinceMs + i, d <= 80 ? 'success' : 'fail')));
        // Outside the window (until is exclusive) or to another endpoint: not counted.
        await s.completeDeliveries([
          attempt(e1!, 5_000, range.sinceMs - 1, 'fail'),
          attempt(e1!, 5_000, range.untilMs, 'fail'),
          attempt(e2!, 9_000, range.sinceMs + 500, 'success'),
        ]);
        assert.deepEqual(await s.endpointLatency(app.id, e1!.id, range), { attempts: 100, succeeded: 80, failed: 20, p50Ms: 50, p90Ms: 90, p99Ms: 99, maxMs: 100 });
        assert.deepEqual(await s.endpointLatency(app.id, e2!.id, range), { attempts: 1, succeeded: 1, failed: 0, p50Ms: 9_000, p90Ms: 9_000, p99Ms: 9_000, maxMs: 9_000 });
        // Three attempts: p50 is the 2nd, p90 and p99 the 3rd (ceil(p * n)).
        const small = { sinceMs: range.sinceMs, untilMs: range.sinceMs + 3 };
        const smallDurations = durations.slice(0, 3).sort((x, y) => x - y);
        assert.deepEqual(await s.endpointLatency(app.id, e1!.id, small), {
          attempts: 3,
          succeeded: durations.slice(0, 3).filter((d) => d <= 80).length,
          failed: durations.slice(0, 3).filter((d) => d > 80).length,
          p50Ms: smallDurations[1],
          p90Ms: smallDurations[2],
          p99Ms: smallDurations[2],
          maxMs: smallDurations[2],
        });
        assert.equal((await s.endpointLatency(newId('app', T0), e1!.id, range)).attempts, 0, 'scoped to the app');
      });
    });
  });
}
