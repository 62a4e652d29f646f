// The store contract, operations (src/store/concerns.ts MaintenanceOps and the ack's operational side): endpoint
// auto-disable, operational webhooks, retention and the other purges. One suite with store.contract.test.ts, against
// every adapter (test/helpers/store-adapters.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createApiKey } from '../../src/auth/api-keys.js';
import { newId } from '../../src/domain/ids.js';
import type { Attempt, Message } from '../../src/domain/types.js';
import { operationalEventSource } from '../../src/operations/events.js';
import type { AckPolicy, ClaimedDelivery, DeliveryResult, Store } from '../../src/store/store.js';
import { storeAdapters } from '../helpers/store-adapters.js';
import { T0, attemptFor, claim, freshStore, makeApp, makeEndpoint, makeMessage, retry, seedEndpoint } from '../helpers/store-contract.js';

for (const adapter of storeAdapters) {
  describe(`store contract: ${adapter.name}: operations`, () => {
    const fresh = (work: (s: Store) => Promise<void>): Promise<void> => freshStore(adapter, work);

    /** Acks one claimed delivery with an attempt at `at` (owner `w` unless given). */
    const ack = (s: Store, c: ClaimedDelivery, status: Attempt['status'], at: number, next: DeliveryResult['next'], policy?: AckPolicy, extra: Partial<DeliveryResult> = {}) =>
      s.completeDeliveries(
        [{ deliveryId: c.delivery.id, leaseOwner: 'w', attempt: attemptFor(c.delivery.id, { ...makeMessage(c.message.appId), id: c.message.id }, c.endpoint.id, status, at), next, ...extra }],
        policy,
      );
    /** Claims the one due delivery of `endpointId` at `at`. */
    const claimFor = async (s: Store, endpointId: string, at: number): Promise<ClaimedDelivery> => {
      const claimed = (await claim(s, 'w', 100, 10_000, at)).filter((c) => c.endpoint.id === endpointId);
      assert.equal(claimed.length, 1, `one delivery of ${endpointId} due at ${at}`);
      return claimed[0]!;
    };

    test('a failed attempt disables an endpoint failing longer than the disable period, once; a success restarts the streak; the operator app is exempt', async () => {
      await fresh(async (s) => {
        const policy: AckPolicy = { endpointDisableAfterMs: 60_000 };
        const { app, endpoint } = await seedEndpoint(s);
        await s.insertMessages(Array.from({ length: 6 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i) })));
        const claimed = await claim(s, 'w', 10, 1_000_000, T0 + 10);
        assert.equal(claimed.length, 6);
        const [c1, c2, c3, c4, c5, c6] = claimed;
        assert.deepEqual(await ack(s, c1!, 'fail', T0 + 1_000, retry(T0 + 500_000), policy), { operationalEvents: 0, disabledEndpoints: [] }, 'the streak begins');
        assert.equal((await s.getEndpoint(app.id, endpoint.id))!.firstFailureAt, T0 + 1_000);
        assert.deepEqual((await ack(s, c2!, 'fail', T0 + 60_999, retry(T0 + 500_000), policy)).disabledEndpoints, [], 'not yet the whole period');
        assert.deepEqual((await ack(s, c3!, 'success', T0 + 61_000, { status: 'succeeded' }, policy)).disabledEndpoints, [], 'a success ends the streak');
        assert.equal((await s.getEndpoint(app.id, endpoint.id))!.firstFailureAt, null);
        await ack(s, c4!, 'fail', T0 + 70_000, retry(T0 + 500_000), policy);
        assert.deepEqual((await ack(s, c5!, 'fail', T0 + 129_999, retry(T0 + 500_000), policy)).disabledEndpoints, [], 'the new streak began at 70 s');
        assert.deepEqual((await ack(s, c6!, 'fail', T0 + 130_000, retry(T0 + 500_000), policy)).disabledEndpoints, [endpoint.id]);
        const disabled = (await s.getEndpoint(app.id, endpoint.id))!;
        assert.equal(disabled.disabled, true);
        assert.equal(disabled.disabledReason, 'failing continuously since 2026-01-01T00:01:10Z');
        assert.equal(disabled.updatedAt, T0 + 130_000);

        // Already disabled: a later failure (a delivery claimed before) reports nothing more.
        const { app: app2, endpoint: gone } = await seedEndpoint(s);
        await s.insertMessages([makeMessage(app2.id, { id: newId('msg', T0 + 200_000) }), makeMessage(app2.id, { id: newId('msg', T0 + 200_001) })]);
        const [g1, g2] = (await claim(s, 'w', 10, 1_000_000, T0 + 200_010)).filter((c) => c.endpoint.id === gone.id);
        const goneOutcome = await ack(s, g1!, 'fail', T0 + 200_020, { status: 'failed' }, policy, { disableEndpoint: 'endpoint answered 410 Gone' });
        assert.deepEqual(goneOutcome.disabledEndpoints, [gone.id], '410 Gone disables at once');
        assert.equal((await s.getEndpoint(app2.id, gone.id))!.disabledReason, 'endpoint answered 410 Gone');
        assert.deepEqual((await ack(s, g2!, 'fail', T0 + 200_030, { status: 'failed' }, policy, { disableEndpoint: 'endpoint answered 410 Gone' })).disabledEndpoints, []);

        // The operator application's endpoints are never disabled automatically, not even by 410.
        const { app: operator, endpoint: operatorEndpoint } = await seedEndpoint(s);
        const exempt: AckPolicy = { ...policy, operatorAppId: operator.id };
        await s.insertMessages([0, 1, 2].map((i) => makeMessage(operator.id, { id: newId('msg', T0 + 300_000 + i) })));
        const [o1, o2, o3] = (await claim(s, 'w', 10, 1_000_000, T0 + 300_010)).filter((c) => c.endpoint.id === operatorEndpoint.id);
        await ack(s, o1!, 'fail', T0 + 300_020, retry(T0 + 900_000), exempt);
        assert.deepEqual((await ack(s, o2!, 'fail', T0 + 500_000, retry(T0 + 900_000), exempt)).disabledEndpoints, []);
        assert.deepEqual((await ack(s, o3!, 'fail', T0 + 500_001, { status: 'failed' }, exempt, { disableEndpoint: 'endpoint answered 410 Gone' })).disabledEndpoints, []);
        assert.equal((await s.getEndpoint(operator.id, operatorEndpoint.id))!.disabled, false);
      });
    });

    test('operational events are inserted as messages to the operator app with the ack that raises them: failing at the 4th attempt, exhausted, recovered, endpoint.disabled', async () => {
      await fresh(async (s) => {
        const { app: operator, endpoint: operatorEndpoint } = await seedEndpoint(s);
        const policy: AckPolicy = { endpointDisableAfterMs: 0, operatorAppId: operator.id, events: operationalEventSource(operator.id) };
        const tenant = makeApp('acme-ops');
        await s.createApp(tenant);
        const endpoint = makeEndpoint(tenant.id, { uid: 'primary' });
        await s.createEndpoint(endpoint);
        const message = makeMessage(tenant.id, { eventId: 'evt-ops' });
        await s.insertMessages([message]);
        const events = async () => (await s.listMessages(operator.id, {}, { limit: 50, order: 'ascending' })).data.map((m) => ({ type: m.eventType, body: JSON.parse(m.payload) }));

        let t = T0;
        for (let attempt = 1; attempt <= 3; attempt++) {
          const outcome = await ack(s, await claimFor(s, endpoint.id, t), 'fail', t + 1, retry(t + 1_000), policy);
          assert.equal(outcome.operationalEvents, 0, `nothing after attempt ${attempt}`);
          t += 1_000;
        }
        // A late ack whose lease was lost meanwhile raises nothing: the new owner's result decides.
        const fourth = await claimFor(s, endpoint.id, t);
        assert.equal((await s.completeDeliveries([{ deliveryId: fourth.delivery.id, leaseOwner: 'lost', attempt: attemptFor(fourth.delivery.id, message, endpoint.id, 'fail', t + 1), next: retry(t + 1_000) }], policy)).operationalEvents, 0);
        assert.equal((await ack(s, fourth, 'fail', t + 2, retry(t + 1_000), policy)).operationalEvents, 1, 'failing on the 4th failed attempt');
        const [failing] = await events();
        assert.equal(failing!.type, 'message.attempt.failing');
        const lastFailed = (await s.listAttempts({ appId: tenant.id, messageId: message.id }, { limit: 1 })).data[0]!;
        assert.deepEqual(failing!.body, {
          type: 'message.attempt.failing',
          timestamp: new Date(t + 2).toISOString(),
          data: {
            appId: tenant.id,
            appUid: 'acme-ops',
            msgId: message.id,
            msgEventId: 'evt-ops',
            endpointId: endpoint.id,
            // The event is stamped when the attempt ended; its lastAttempt when its request started (as in the API).
            lastAttempt: { id: lastFailed.id, responseStatusCode: 500, timestamp: new Date(t + 2 - lastFailed.responseDurationMs).toISOString() },
          },
        });
        const [operatorDelivery] = await s.listMessageDeliveries((await s.listMessages(operator.id, {}, { limit: 1 })).data[0]!.id);
        assert.equal(operatorDelivery!.endpointId, operatorEndpoint.id, 'the event is an ordinary delivery to the operator endpoint');
        assert.equal(operatorDelivery!.status, 'pending');
        t += 1_000;
        assert.equal((await ack(s, await claimFor(s, endpoint.id, t), 'fail', t + 1, { status: 'failed' }, policy)).operationalEvents, 1);
        assert.deepEqual((await events()).map((e) => e.type), ['message.attempt.failing', 'message.attempt.exhausted']);

        // Resent and delivered: recovered (a failure notice went out), once.
        await s.resendDelivery(message, endpoint, t + 10);
        assert.equal((await ack(s, await claimFor(s, endpoint.id, t + 10), 'success', t + 11, { status: 'succeeded' }, policy)).operationalEvents, 1);
        await s.resendDelivery(message, endpoint, t + 20);
        assert.equal((await ack(s, await claimFor(s, endpoint.id, t + 20), 'success', t + 21, { status: 'succeeded' }, policy)).operationalEvents, 0);
        const recovered = (await events())[2]!;
        assert.equal(recovered.type, 'message.attempt.recovered');
        assert.equal(recovered.body.data.lastAttempt.responseStatusCode, 200);

        // The operator app's own deliveries never raise events (no loops). Claimed alongside before, their leases
        // expire after 10 s.
        const own = (await claim(s, 'w', 100, 10_000, t + 30_000)).filter((x) => x.endpoint.id === operatorEndpoint.id);
        assert.equal(own.length, 3);
        for (const c of own) assert.equal((await ack(s, c, 'fail', t + 30_001, { status: 'failed' }, policy)).operationalEvents, 0);
        t += 40_000;

        // 410 Gone: exhausted for the delivery and endpoint.disabled for the endpoint, in the same transaction.
        await s.insertMessages([makeMessage(tenant.id, { id: newId('msg', t + 40), createdAt: t + 40 })]);
        const gone = await ack(s, await claimFor(s, endpoint.id, t + 40), 'fail', t + 41, { status: 'failed' }, policy, { disableEndpoint: 'endpoint answered 410 Gone' });
        assert.deepEqual(gone, { operationalEvents: 2, disabledEndpoints: [endpoint.id] });
        const disabled = (await events()).find((e) => e.type === 'endpoint.disabled')!;
        assert.deepEqual(disabled.body, {
          type: 'endpoint.disabled',
          timestamp: new Date(t + 41).toISOString(),
          data: {
            appId: tenant.id,
            appUid: 'acme-ops',
            endpointId: endpoint.id,
            endpointUid: 'primary',
            failSince: new Date(t + 41).toISOString(),
            trigger: 'automatic',
            reason: 'endpoint answered 410 Gone',
          },
        });
      });
    });

    /** What a purge deleted (without where the next one starts). */
    const counted = ({ messages, deliveries, attempts }: { messages: number; deliveries: number; attempts: number }) => ({ messages, deliveries, attempts });

    test('retention: messages older than the cutoff go with their deliveries and attempts in bounded batches; newer ones and those still pending stay', async () => {
      await fresh(async (s) => {
        const { app, endpoint } = await seedEndpoint(s);
        const day = 86_400_000;
        const old = Array.from({ length: 6 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i), createdAt: T0 + i }));
        const recent = [0, 1].map((i) => makeMessage(app.id, { id: newId('msg', T0 + day + i), createdAt: T0 + day + i }));
        await s.insertMessages([...old, ...recent]);
        // The five oldest are delivered (one failed attempt, then a success) and so are the recent ones; the sixth
        // old one is still pending (under a lease).
        const claimed = new Map((await claim(s, 'w', 100, 10_000, T0 + day + 10)).map((c) => [c.message.id, c]));
        assert.equal(claimed.size, 8);
        for (const m of old.slice(0, 5)) await ack(s, claimed.get(m.id)!, 'fail', T0 + day + 11, retry(T0 + day + 20));
        for (const m of recent) await ack(s, claimed.get(m.id)!, 'success', T0 + day + 11, { status: 'succeeded' });
        const retried = await claim(s, 'w', 100, 10_000, T0 + day + 20);
        assert.equal(retried.length, 5);
        for (const c of retried) await ack(s, c, 'success', T0 + day + 21, { status: 'succeeded' });
        const cutoff = T0 + day;
        // 8 rows a batch: two messages, each with its delivery and two attempts.
        assert.deepEqual(counted(await s.purgeMessages(cutoff, 8)), { messages: 2, deliveries: 2, attempts: 4 });
        assert.deepEqual(counted(await s.purgeMessages(cutoff, 8)), { messages: 2, deliveries: 2, attempts: 4 });
        assert.deepEqual(counted(await s.purgeMessages(cutoff, 8)), { messages: 1, deliveries: 1, attempts: 2 }, 'the pending one is kept');
        assert.deepEqual(counted(await s.purgeMessages(cutoff, 8)), { messages: 0, deliveries: 0, attempts: 0 });
        for (const m of old.slice(0, 5)) {
          assert.equal(await s.getMessage(app.id, m.id), null);
          assert.deepEqual(await s.listMessageDeliveries(m.id), []);
        }
        assert.deepEqual(new Set((await s.listAttempts({ appId: app.id }, { limit: 50 })).data.map((a) => a.messageId)), new Set(recent.map((m) => m.id)), 'their attempts are gone');
        assert.equal((await s.listMessageDeliveries(old[5]!.id))[0]!.status, 'pending', 'a pending delivery is never purged');
        for (const m of recent) assert.equal((await s.getMessage(app.id, m.id))?.id, m.id);
        assert.equal((await s.purgeMessages(cutoff + 2, 10)).messages, 2, 'once older than the cutoff, the recent ones go too');
      });
    });

    test('retention: a batch deletes at most its row bound however widely messages fanned out; a wider message goes attempts first, then deliveries, then itself, over several batches; one with a pending delivery stays whole', async () => {
      await fresh(async (s) => {
        const day = 86_400_000;
        const wide = makeApp();
        await s.createApp(wide);
        for (let i = 0; i < 6; i++) await s.createEndpoint(makeEndpoint(wide.id));
        const { app: narrow } = await seedEndpoint(s);
        const at = (ms: number): Partial<Message> => ({ id: newId('msg', ms), createdAt: ms });
        // Oldest first: wide, narrow, wide (one delivery still pending), wide, narrow; then one of each after the cutoff.
        const [wide0, narrow0, pendingOne, wide2, narrow1] = [wide, narrow, wide, wide, narrow].map((app, i) => makeMessage(app.id, at(T0 + i)));
        const recent = [makeMessage(wide.id, at(T0 + day + 1)), makeMessage(narrow.id, at(T0 + day + 2))];
        await s.insertMessages([wide0!, narrow0!, pendingOne!, wide2!, narrow1!, ...recent]);
        // Every delivery fails once, then succeeds (two attempts each); one of the pending message's fails again and is
        // due much later.
        const complete = (claimed: ClaimedDelivery[], status: Attempt['status'], at: number, next: (c: ClaimedDelivery) => DeliveryResult['next']) =>
          s.completeDeliveries(claimed.map((c) => ({ deliveryId: c.delivery.id, leaseOwner: 'w', attempt: attemptFor(c.delivery.id, { ...makeMessage(c.message.appId), id: c.message.id }, c.endpoint.id, status, at), next: next(c) })));
        const first = await claim(s, 'w', 100, 10_000, T0 + day + 10);
        assert.equal(first.length, 4 * 6 + 3);
        await complete(first, 'fail', T0 + day + 11, () => ({ status: 'pending', nextAttemptAt: T0 + day + 20 }));
        const second = await claim(s, 'w', 100, 10_000, T0 + day + 20);
        assert.equal(second.length, 4 * 6 + 3);
        const stillPending = second.find((c) => c.message.id === pendingOne!.id)!;
        await complete([stillPending], 'fail', T0 + day + 21, () => ({ status: 'pending', nextAttemptAt: T0 + 100 * day }));
        await complete(second.filter((c) => c !== stillPending), 'success', T0 + day + 21, () => ({ status: 'succeeded' }));

        // A bound of 5 rows, where a wide message has 19 (itself, 6 deliveries, 12 attempts) and a narrow one 4. Each
        // batch goes on where the last stopped, as the maintenance loop's do.
        const cutoff = T0 + day;
        const batches = [];
        let after = '';
        for (;;) {
          const batch = await s.purgeMessages(cutoff, 5, after);
          after = batch.resumeAfter;
          batches.push(counted(batch));
          if (batch.messages + batch.deliveries + batch.attempts < 5) break;
          assert.ok(batches.length < 50, 'the purge ends');
        }
        const batch = (messages: number, deliveries: number, attempts: number) => ({ messages, deliveries, attempts });
        assert.deepEqual(batches, [
          batch(0, 0, 5), // the oldest, wide: attempts first
          batch(0, 0, 5),
          batch(0, 3, 2), // its last attempts, then deliveries
          batch(1, 3, 1), // its last deliveries and itself; then the narrow one's first attempt
          batch(1, 1, 3), // the narrow one; the pending one is skipped; the next wide one's attempts
          batch(0, 0, 5),
          batch(0, 0, 5),
          batch(0, 5, 0),
          batch(1, 2, 2),
          batch(1, 0, 0), // the last narrow message: fewer rows than the bound, nothing left
        ]);
        assert.deepEqual(counted(await s.purgeMessages(cutoff, 5)), batch(0, 0, 0), 'a new pass from the oldest finds nothing more');
        for (const m of [wide0!, narrow0!, wide2!, narrow1!]) {
          assert.equal(await s.getMessage(m.appId, m.id), null);
          assert.deepEqual(await s.listMessageDeliveries(m.id), []);
          assert.deepEqual((await s.listAttempts({ appId: m.appId, messageId: m.id }, { limit: 50 })).data, []);
        }
        assert.equal((await s.getMessage(wide.id, pendingOne!.id))?.id, pendingOne!.id, 'a message with a pending delivery stays');
        const kept = await s.listMessageDeliveries(pendingOne!.id);
        assert.deepEqual([kept.length, kept.filter((d) => d.status === 'pending').length], [6, 1], 'with all its deliveries');
        assert.equal((await s.listAttempts({ appId: wide.id, messageId: pendingOne!.id }, { limit: 50 })).data.length, 12, 'and attempts');
        for (const m of recent) {
          assert.equal((await s.getMessage(m.appId, m.id))?.id, m.id, 'newer than the cutoff: kept');
          assert.equal((await s.listAttempts({ appId: m.appId, messageId: m.id }, { limit: 50 })).data.length, m.appId === wide.id ? 12 : 2);
        }
      });
    });

    test('retention: concurrent purges (several workers) take disjoint batches and purge everything once', async () => {
      await fresh(async (s) => {
        const { app } = await seedEndpoint(s);
        await s.insertMessages(Array.from({ length: 40 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i), createdAt: T0 + i })));
        for (let t = T0 + 1_000; ; t += 2) {
          const claimed = await claim(s, 'w', 100, 10_000, t);
          if (claimed.length === 0) break;
          await s.completeDeliveries(claimed.map((c) => ({ deliveryId: c.delivery.id, leaseOwner: 'w', attempt: attemptFor(c.delivery.id, { ...makeMessage(app.id), id: c.message.id }, c.endpoint.id, 'success', t + 1), next: { status: 'succeeded' as const } })));
        }
        const purger = async (): Promise<number> => {
          let total = 0;
          for (;;) {
            const { messages } = await s.purgeMessages(T0 + 1_000, 3);
            total += messages;
            if (messages === 0) return total;
          }
        };
        const totals = await Promise.all([purger(), purger(), purger()]);
        assert.equal(totals.reduce((a, b) => a + b, 0), 40);
        assert.equal((await s.listMessages(app.id, {}, { limit: 50 })).data.length, 0);
      });
    });

    test('retention: concurrent purges of messages wider than their row bound delete every row once, none over the bound', async () => {
      await fresh(async (s) => {
        const app = makeApp();
        await s.createApp(app);
        for (let i = 0; i < 5; i++) await s.createEndpoint(makeEndpoint(app.id));
        await s.insertMessages(Array.from({ length: 12 }, (_, i) => makeMessage(app.id, { id: newId('msg', T0 + i), createdAt: T0 + i })));
        const claimed = await claim(s, 'w', 100, 10_000, T0 + 1_000);
        assert.equal(claimed.length, 60);
        await s.completeDeliveries(claimed.map((c) => ({ deliveryId: c.delivery.id, leaseOwner: 'w', attempt: attemptFor(c.delivery.id, { ...makeMessage(app.id), id: c.message.id }, c.endpoint.id, 'success', T0 + 1_001), next: { status: 'succeeded' as const } })));
        // 11 rows a message (itself, 5 deliveries, 5 attempts), 4 a batch: each worker goes on until a batch is short.
        const batches: { messages: number; deliveries: number; attempts: number }[] = [];
        const purger = async (): Promise<void> => {
          let after = '';
          for (;;) {
            const batch = await s.purgeMessages(T0 + 1_000, 4, after);
            after = batch.resumeAfter;
            batches.push(counted(batch));
            if (batch.messages + batch.deliveries + batch.attempts < 4) return;
          }
        };
        await Promise.all([purger(), purger(), purger()]);
        assert.ok(batches.every((b) => b.messages + b.deliveries + b.attempts <= 4), JSON.stringify(batches));
        const total = batches.reduce((sum, b) => ({ messages: sum.messages + b.messages, deliveries: sum.deliveries + b.deliveries, attempts: sum.attempts + b.attempts }));
        assert.deepEqual(total, { messages: 12, deliveries: 60, attempts: 60 });
        assert.equal((await s.listMessages(app.id, {}, { limit: 50 })).data.length, 0);
        assert.equal((await s.listAttempts({ appId: app.id }, { limit: 50 })).data.length, 0);
      });
    });

    test('expired idempotency keys are deleted in bounded batches; live ones stay', async () => {
      await fresh(async (s) => {
        const ttl = 86_400_000;
        for (const key of ['a', 'b', 'c']) await s.beginIdempotent('scope', key, 'h', T0, 60_000, ttl);
        await s.finishIdempotent('scope', 'a', { status: 202, body: '{}' });
        await s.beginIdempotent('scope', 'live', 'h', T0 + ttl, 60_000, ttl);
        assert.equal(await s.purgeIdempotencyKeys(T0 + 1, 2), 2);
        assert.equal(await s.purgeIdempotencyKeys(T0 + 1, 2), 1);
        assert.equal(await s.purgeIdempotencyKeys(T0 + 1, 2), 0);
        assert.deepEqual(await s.beginIdempotent('scope', 'live', 'h', T0 + ttl + 1, 60_000, ttl), { state: 'in_progress' }, 'a live key is kept');
        assert.deepEqual(await s.beginIdempotent('scope', 'a', 'other', T0 + ttl + 1, 60_000, ttl), { state: 'new' }, 'a purged key is new');
      });
    });

    test("expirePortalTokens brings forward the expiry of the application's portal tokens only: sooner ones, other applications' and keys without an expiry keep theirs", async () => {
      await fresh(async (s) => {
        const [app, other] = [makeApp(), makeApp()];
        for (const a of [app, other]) await s.createApp(a);
        const key = (name: string, appId: string | null, expiresAt: number | null, revokedAt: number | null = null) => ({
          id: newId('key', T0),
          appId,
          name,
          prefix: name,
          createdAt: T0,
          revokedAt,
          expiresAt,
          readOnly: false,
          capabilities: null,
        });
        const keys = [
          key('week', app.id, T0 + 7 * 86_400_000),
          key('soon', app.id, T0 + 1_000),
          key('scoped', app.id, null),
          key('neighbour', other.id, T0 + 7 * 86_400_000),
          key('revoked', app.id, T0 + 7 * 86_400_000, T0),
        ];
        for (const k of keys) await s.createApiKey(k, `hash-${k.name}`);
        assert.equal(await s.expirePortalTokens(app.id, T0 + 60_000), 1);
        const expiry = async (name: string) => (await s.listApiKeys()).find((k) => k.name === name)?.expiresAt;
        assert.deepEqual(
          [await expiry('week'), await expiry('soon'), await expiry('scoped'), await expiry('neighbour'), await expiry('revoked')],
          [T0 + 60_000, T0 + 1_000, null, T0 + 7 * 86_400_000, T0 + 7 * 86_400_000],
        );
        assert.equal(await s.expirePortalTokens(app.id, T0), 2, 'now: every live one');
        assert.equal(await s.expirePortalTokens(app.id, T0), 0, 'nothing left to shorten');
      });
    });

    test('API keys expired by then are deleted in bounded batches; live ones and keys without an expiry stay', async () => {
      await fresh(async (s) => {
        const app = makeApp();
        await s.createApp(app);
        const key = (name: string, expiresAt: number | null) => ({
          id: newId('key', T0),
          appId: expiresAt === null ? null : app.id,
          name,
          prefix: name,
          createdAt: T0,
          revokedAt: null,
          expiresAt,
          readOnly: false,
          capabilities: null,
        });
        const expired = ['e1', 'e2', 'e3'].map((name, i) => key(name, T0 + i));
        const live = key('live', T0 + 1000);
        const admin = key('admin', null);
        for (const k of [...expired, live, admin]) await s.createApiKey(k, `hash-${k.name}`);
        assert.equal(await s.purgeExpiredApiKeys(T0 + 10, 2), 2);
        assert.equal(await s.purgeExpiredApiKeys(T0 + 10, 2), 1);
        assert.equal(await s.purgeExpiredApiKeys(T0 + 10, 2), 0);
        for (const k of expired) assert.equal(await s.findApiKeyByHash(`hash-${k.name}`), null);
        assert.equal((await s.findApiKeyByHash('hash-live'))?.id, live.id, 'not expired yet: kept');
        assert.equal((await s.findApiKeyByHash('hash-admin'))?.id, admin.id, 'no expiry: kept');
      });
    });
  });
}
