/**
 * Contract test: hookd driven only through the unmodified official svix SDK 1.99.1 (the last 1.x), against a real
 * hookd (API + worker, temp SQLite) delivering to a real HTTP receiver. No mocks. js-v2 and python drive the
 * same operations through svix 2.x.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiException, MessageAttemptTriggerType, MessageStatus, StatusCodeClass, Svix, Webhook } from 'svix';
import { TEST_TOKEN, eventually, type TestHookd } from '../helpers/hookd.js';
import type { Receiver, ReceivedRequest } from '../helpers/receiver.js';
import { THROTTLE, assertFilteredAndThrottled, at, exampleSchemas, failOn, headersOf, newSecret, sleep, withHookd, expectApiError as expectSdkError } from './shared.js';

interface Env {
  hookd: TestHookd;
  receiver: Receiver;
  svix: Svix;
}

/** Runs `body` against a fresh hookd + receiver with an SDK client pointed at it. */
const withEnv = (body: (env: Env) => Promise<void>) => withHookd((env) => body({ ...env, svix: new Svix(TEST_TOKEN, { serverUrl: env.hookd.url }) }));

/** Verifies one received request with the svix SDK's Webhook class; returns the parsed payload. */
function verify(secret: string, request: ReceivedRequest): unknown {
  return new Webhook(secret).verify(request.body, headersOf(request));
}

/** A call that must fail with this SDK's ApiException and `status`. */
const expectApiError = (promise: Promise<unknown>, status: number): Promise<ApiException<any>> => expectSdkError(promise, status, ApiException);

describe('svix 1.99.1 against hookd: applications', () => {
  test('create, getOrCreate, get by id and uid, update, patch and delete round-trip through the SDK', () =>
    withEnv(async ({ svix }) => {
      const created = await svix.application.create({ name: 'Acme', uid: 'acme', metadata: { tier: 'gold' } });
      assert.match(created.id, /^app_[0-9A-Za-z]{27}$/);
      assert.equal(created.name, 'Acme');
      assert.equal(created.uid, 'acme');
      assert.deepEqual(created.metadata, { tier: 'gold' });
      assert.ok(created.createdAt instanceof Date && !Number.isNaN(created.createdAt.getTime()));

      const again = await svix.application.getOrCreate({ name: 'Other name', uid: 'acme' });
      assert.equal(again.id, created.id, 'getOrCreate with an existing uid returns the existing application');
      assert.equal(again.name, 'Acme');

      const fresh = await svix.application.getOrCreate({ name: 'Fresh', uid: 'fresh' });
      assert.notEqual(fresh.id, created.id);
      assert.equal(fresh.uid, 'fresh');

      assert.equal((await svix.application.get(created.id)).uid, 'acme');
      assert.equal((await svix.application.get('acme')).id, created.id);

      const updated = await svix.application.update(created.id, { name: 'Acme Inc', uid: 'acme-inc', rateLimit: 10 });
      assert.equal(updated.name, 'Acme Inc');
      assert.equal(updated.uid, 'acme-inc');
      assert.equal(updated.rateLimit, 10);
      assert.deepEqual(updated.metadata, {}, 'PUT replaces: metadata not given is cleared');
      assert.ok(updated.updatedAt.getTime() >= created.updatedAt.getTime());

      const patched = await svix.application.patch('acme-inc', { metadata: { plan: 'pro' } });
      assert.equal(patched.id, created.id);
      assert.equal(patched.name, 'Acme Inc', 'PATCH keeps fields not given');
      assert.equal(patched.rateLimit, 10);
      assert.deepEqual(patched.metadata, { plan: 'pro' });

      // update is "create or update" in the SDK: a PUT to an unknown uid creates the application with that uid.
      const upserted = await svix.application.update('made-by-put', { name: 'Upserted' });
      assert.match(upserted.id, /^app_/);
      assert.equal(upserted.uid, 'made-by-put');
      assert.equal((await svix.application.get('made-by-put')).id, upserted.id);
      await expectApiError(svix.application.update('app_2ZZZZZZZZZZZZZZZZZZZZZZZZZZ', { name: 'x' }), 404);

      await svix.application.delete(created.id);
      const error = await expectApiError(svix.application.get(created.id), 404);
      assert.equal(error.body.code, 'not_found');
      await expectApiError(svix.application.get('acme-inc'), 404);
      assert.equal((await svix.application.get(fresh.id)).id, fresh.id, 'other applications are untouched');
    }));

  test('list pages with limit and iterator: two pages, then back with prevIterator', () =>
    withEnv(async ({ svix }) => {
      const ids: string[] = [];
      for (const name of ['one', 'two', 'three']) ids.push((await svix.application.create({ name })).id);

      const first = await svix.application.list({ limit: 2 });
      assert.deepEqual(first.data.map((a) => a.id), ids.slice(0, 2), 'oldest first');
      assert.equal(first.done, false);
      assert.ok(first.iterator, 'a non-final page has an iterator');

      const second = await svix.application.list({ limit: 2, iterator: first.iterator });
      assert.deepEqual(second.data.map((a) => a.id), ids.slice(2));
      assert.equal(second.done, true);
      assert.ok(second.prevIterator, 'a later page has a prevIterator');

      const back = await svix.application.list({ limit: 2, iterator: second.prevIterator });
      assert.deepEqual(back.data.map((a) => a.id), ids.slice(0, 2), 'prevIterator leads back to the first page');

      const all = await svix.application.list();
      assert.equal(all.data.length, 3);
      assert.equal(all.done, true);
    }));
});

describe('svix 1.99.1 against hookd: endpoints', () => {
  test('create with filterTypes, channels, headers and secret; get, list, update, patch, getSecret and delete', () =>
    withEnv(async ({ svix, receiver }) => {
      for (const name of ['user.created', 'user.deleted', 'order.paid']) await svix.eventType.create({ name, description: name });
      const app = await svix.application.create({ name: 'Endpoints' });
      const secret = newSecret();
      const ep = await svix.endpoint.create(app.id, {
        url: `${receiver.url}/hook`,
        uid: 'main-ep',
        description: 'primary',
        filterTypes: ['user.created', 'user.deleted'],
        channels: ['eu', 'us'],
        headers: { 'x-custom': 'one' },
        secret,
        metadata: { owner: 'team-a' },
      });
      assert.match(ep.id, /^ep_[0-9A-Za-z]{27}$/);
      assert.equal(ep.url, `${receiver.url}/hook`);
      assert.equal(ep.uid, 'main-ep');
      assert.equal(ep.description, 'primary');
      assert.deepEqual(ep.filterTypes, ['user.created', 'user.deleted']);
      assert.deepEqual(ep.channels, ['eu', 'us']);
      assert.equal(ep.disabled, false);
      assert.equal(ep.version, 1);
      assert.deepEqual(ep.metadata, { owner: 'team-a' });

      assert.equal((await svix.endpoint.getSecret(app.id, ep.id)).key, secret, 'getSecret returns the explicit secret');
      assert.deepEqual((await svix.endpoint.getHeaders(app.id, ep.id)).headers, { 'x-custom': 'one' });

      assert.equal((await svix.endpoint.get(app.id, ep.id)).uid, 'main-ep');
      assert.equal((await svix.endpoint.get(app.id, 'main-ep')).id, ep.id, 'get by uid');

      const second = await svix.endpoint.create(app.id, { url: `${receiver.url}/other` });
      assert.match((await svix.endpoint.getSecret(app.id, second.id)).key, /^whsec_/, 'a generated secret is a whsec_ secret');
      // Newest first, as Svix lists endpoints by default.
      const listed = await svix.endpoint.list(app.id, { limit: 1 });
      assert.deepEqual(listed.data.map((e) => e.id), [second.id]);
      assert.equal(listed.done, false);
      const rest = await svix.endpoint.list(app.id, { limit: 1, iterator: listed.iterator });
      assert.deepEqual(rest.data.map((e) => e.id), [ep.id]);
      assert.equal(rest.done, true);

      const updated = await svix.endpoint.update(app.id, ep.id, { url: `${receiver.url}/v2`, filterTypes: ['order.paid'], description: 'updated' });
      assert.equal(updated.url, `${receiver.url}/v2`);
      assert.deepEqual(updated.filterTypes, ['order.paid']);
      assert.equal(updated.channels, undefined, 'PUT clears channels not given');
      assert.equal(updated.uid, undefined, 'PUT clears uid not given');
      assert.equal(updated.description, 'updated');

      const patched = await svix.endpoint.patch(app.id, ep.id, { channels: ['apac'], description: 'patched' });
      assert.deepEqual(patched.channels, ['apac']);
      assert.deepEqual(patched.filterTypes, ['order.paid'], 'PATCH keeps fields not given');
      assert.equal(patched.url, `${receiver.url}/v2`);
      assert.equal(patched.description, 'patched');
      assert.equal((await svix.endpoint.getSecret(app.id, ep.id)).key, secret, 'updates do not change the secret');

      await svix.endpoint.delete(app.id, ep.id);
      const error = await expectApiError(svix.endpoint.get(app.id, ep.id), 404);
      assert.equal(error.body.code, 'not_found');
      assert.deepEqual((await svix.endpoint.list(app.id)).data.map((e) => e.id), [second.id]);
    }));

  test('rotateSecret: new secret differs and, during the grace period, deliveries carry one signature per secret', () =>
    withEnv(async ({ svix, receiver }) => {
      const app = await svix.application.create({ name: 'Rotation' });
      const oldSecret = newSecret();
      const ep = await svix.endpoint.create(app.id, { url: `${receiver.url}/rot`, secret: oldSecret });

      await svix.message.create(app.id, { eventType: 'user.created', payload: { n: 1 } });
      const [before] = await receiver.waitFor((r) => r.length >= 1);
      assert.equal(before!.headers['webhook-signature']!.toString().split(' ').length, 1, 'one secret, one signature');
      assert.deepEqual(verify(oldSecret, before!), { n: 1 });

      await svix.endpoint.rotateSecret(app.id, ep.id, {});
      const newKey = (await svix.endpoint.getSecret(app.id, ep.id)).key;
      assert.match(newKey, /^whsec_/);
      assert.notEqual(newKey, oldSecret);

      const msg = await svix.message.create(app.id, { eventType: 'user.created', payload: { n: 2 } });
      const requests = await receiver.waitFor((r) => r.length >= 2);
      const after = requests[1]!;
      assert.equal(after.headers['webhook-id'], msg.id);
      const signatures = String(after.headers['webhook-signature']).split(' ');
      assert.equal(signatures.length, 2, 'old and new secret both sign during the grace period');
      for (const sig of signatures) assert.match(sig, /^v1,[A-Za-z0-9+/]+=*$/);

      const only = (signature: string): Record<string, string> => ({
        'webhook-id': String(after.headers['webhook-id']),
        'webhook-timestamp': String(after.headers['webhook-timestamp']),
        'webhook-signature': signature,
      });
      const verifies = (secret: string, signature: string): boolean => {
        try {
          new Webhook(secret).verify(after.body, only(signature));
          return true;
        } catch {
          return false;
        }
      };
      const byOld = signatures.filter((s) => verifies(oldSecret, s));
      const byNew = signatures.filter((s) => verifies(newKey, s));
      assert.equal(byOld.length, 1, 'exactly one signature verifies with the old secret');
      assert.equal(byNew.length, 1, 'exactly one signature verifies with the new secret');
      assert.notEqual(byOld[0], byNew[0]);
      // And the whole header set verifies with either secret through the SDK as a receiver would use it.
      assert.deepEqual(verify(oldSecret, after), { n: 2 });
      assert.deepEqual(verify(newKey, after), { n: 2 });
    }));

  test('getHeaders, updateHeaders and patchHeaders change the custom headers that arrive at the receiver', () =>
    withEnv(async ({ svix, receiver }) => {
      const app = await svix.application.create({ name: 'Headers' });
      const ep = await svix.endpoint.create(app.id, { url: `${receiver.url}/h`, headers: { 'x-initial': 'a' } });
      const secret = (await svix.endpoint.getSecret(app.id, ep.id)).key;

      await svix.endpoint.updateHeaders(app.id, ep.id, { headers: { 'x-team': 'payments', 'x-keep': 'yes' } });
      assert.deepEqual((await svix.endpoint.getHeaders(app.id, ep.id)).headers, { 'x-team': 'payments', 'x-keep': 'yes' }, 'PUT replaces all headers');

      await svix.message.create(app.id, { eventType: 'a.b', payload: { step: 1 } });
      const [first] = await receiver.waitFor((r) => r.length >= 1);
      assert.equal(first!.headers['x-team'], 'payments');
      assert.equal(first!.headers['x-keep'], 'yes');
      assert.equal(first!.headers['x-initial'], undefined);
      verify(secret, first!);

      await svix.endpoint.patchHeaders(app.id, ep.id, { headers: { 'x-team': 'billing', 'x-new': '1' }, deleteHeaders: ['x-keep'] });
      assert.deepEqual((await svix.endpoint.getHeaders(app.id, ep.id)).headers, { 'x-team': 'billing', 'x-new': '1' });

      await svix.message.create(app.id, { eventType: 'a.b', payload: { step: 2 } });
      const second = (await receiver.waitFor((r) => r.length >= 2))[1]!;
      assert.equal(second.headers['x-team'], 'billing');
      assert.equal(second.headers['x-new'], '1');
      assert.equal(second.headers['x-keep'], undefined, 'deleteHeaders removed the header');
      assert.deepEqual(verify(secret, second), { step: 2 });
    }));

  test('a disabled endpoint receives nothing while an enabled one receives the message', () =>
    withEnv(async ({ svix, receiver }) => {
      const app = await svix.application.create({ name: 'Disabled' });
      const off = await svix.endpoint.create(app.id, { url: `${receiver.url}/off`, disabled: true });
      assert.equal(off.disabled, true);
      const patchedOff = await svix.endpoint.create(app.id, { url: `${receiver.url}/patched-off` });
      assert.equal((await svix.endpoint.patch(app.id, patchedOff.id, { disabled: true })).disabled, true);
      await svix.endpoint.create(app.id, { url: `${receiver.url}/on` });

      const msg = await svix.message.create(app.id, { eventType: 'x.y', payload: { hello: 'world' } });
      await receiver.waitFor(() => at(receiver, '/on').length === 1);
      await sleep(400); // well past the retry schedule: anything else would have arrived by now
      assert.equal(at(receiver, '/off').length, 0);
      assert.equal(at(receiver, '/patched-off').length, 0);
      assert.equal(receiver.requests.length, 1);
      assert.equal(at(receiver, '/on')[0]!.headers['webhook-id'], msg.id);
    }));
});

describe('svix 1.99.1 against hookd: messages', () => {
  test('create resolves with the message, a duplicate eventId is a 409, and get works by id and eventId', () =>
    withEnv(async ({ svix, receiver }) => {
      const app = await svix.application.create({ name: 'Messages', uid: 'msgs' });
      const ep = await svix.endpoint.create(app.id, { url: `${receiver.url}/m` });
      const secret = (await svix.endpoint.getSecret(app.id, ep.id)).key;

      const payload = { user: { id: 42, name: 'Zoë' }, tags: ['a', 'b'] };
      const msg = await svix.message.create('msgs', { eventType: 'user.created', eventId: 'evt-1', payload, channels: ['eu'], tags: ['t1'] });
      assert.match(msg.id, /^msg_[0-9A-Za-z]{27}$/);
      assert.equal(msg.eventId, 'evt-1');
      assert.equal(msg.eventType, 'user.created');
      assert.deepEqual(msg.channels, ['eu']);
      assert.deepEqual(msg.payload, payload);
      assert.ok(msg.timestamp instanceof Date && Math.abs(msg.timestamp.getTime() - Date.now()) < 60_000);

      const dup = await expectApiError(svix.message.create(app.id, { eventType: 'user.created', eventId: 'evt-1', payload: { other: true } }), 409);
      assert.equal(dup.body.code, 'conflict');

      const byId = await svix.message.get(app.id, msg.id);
      assert.equal(byId.id, msg.id);
      assert.deepEqual(byId.payload, payload);
      assert.deepEqual(byId.tags, ['t1']);
      assert.equal((await svix.message.get(app.id, 'evt-1')).id, msg.id, 'get by eventId');
      await expectApiError(svix.message.get(app.id, 'no-such-event'), 404);

      const [delivered] = await receiver.waitFor((r) => r.length >= 1);
      assert.equal(delivered!.headers['webhook-id'], msg.id);
      assert.equal(delivered!.headers['svix-id'], msg.id);
      assert.deepEqual(verify(secret, delivered!), payload, 'the SDK verifies the delivered body and headers');
      await sleep(300);
      assert.equal(receiver.requests.length, 1, 'the rejected duplicate was never delivered');
    }));

  test('the idempotencyKey option makes a repeated create return the same message and store it once', () =>
    withEnv(async ({ svix, receiver }) => {
      const app = await svix.application.create({ name: 'Idempotent' });
      await svix.endpoint.create(app.id, { url: `${receiver.url}/i` });

      const first = await svix.message.create(app.id, { eventType: 'order.paid', payload: { order: 7 } }, { idempotencyKey: 'order-7' });
      const second = await svix.message.create(app.id, { eventType: 'order.paid', payload: { order: 7 } }, { idempotencyKey: 'order-7' });
      assert.equal(second.id, first.id);
      const third = await svix.message.create(app.id, { eventType: 'order.paid', payload: { order: 7 } });
      assert.notEqual(third.id, first.id, 'without the key the same body is a new message');

      const listed = await svix.message.list(app.id);
      assert.deepEqual(listed.data.map((m) => m.id).sort(), [first.id, third.id].sort());
      await receiver.waitFor((r) => r.length >= 2);
      await sleep(300);
      assert.equal(receiver.requests.length, 2);
      assert.equal(receiver.requests.filter((r) => r.headers['webhook-id'] === first.id).length, 1, 'the idempotent message was delivered once');
    }));

  test('list filters by eventTypes and channel, newest first, with paging', () =>
    withEnv(async ({ svix }) => {
      const app = await svix.application.create({ name: 'Listing' });
      const a = await svix.message.create(app.id, { eventType: 'user.created', payload: { i: 1 }, channels: ['eu'] });
      const b = await svix.message.create(app.id, { eventType: 'user.deleted', payload: { i: 2 }, channels: ['us'] });
      const c = await svix.message.create(app.id, { eventType: 'order.paid', payload: { i: 3 }, channels: ['eu', 'us'] });

      const all = await svix.message.list(app.id);
      assert.deepEqual(all.data.map((m) => m.id), [c.id, b.id, a.id]);
      assert.deepEqual(all.data[0]!.payload, { i: 3 });

      const users = await svix.message.list(app.id, { eventTypes: ['user.created', 'user.deleted'] });
      assert.deepEqual(users.data.map((m) => m.id), [b.id, a.id]);
      const paid = await svix.message.list(app.id, { eventTypes: ['order.paid'] });
      assert.deepEqual(paid.data.map((m) => m.id), [c.id]);

      const eu = await svix.message.list(app.id, { channel: 'eu' });
      assert.deepEqual(eu.data.map((m) => m.id), [c.id, a.id]);
      const euUsers = await svix.message.list(app.id, { channel: 'us', eventTypes: ['user.deleted'] });
      assert.deepEqual(euUsers.data.map((m) => m.id), [b.id]);

      const page1 = await svix.message.list(app.id, { limit: 2 });
      assert.deepEqual(page1.data.map((m) => m.id), [c.id, b.id]);
      assert.equal(page1.done, false);
      const page2 = await svix.message.list(app.id, { limit: 2, iterator: page1.iterator });
      assert.deepEqual(page2.data.map((m) => m.id), [a.id]);
      assert.equal(page2.done, true);
    }));

  test('fan-out: only endpoints whose filterTypes and channels match receive the message', () =>
    withEnv(async ({ svix, receiver }) => {
      for (const name of ['invoice.paid', 'invoice.void', 'user.created']) await svix.eventType.create({ name, description: name });
      const app = await svix.application.create({ name: 'Fan-out' });
      const match = await svix.endpoint.create(app.id, { url: `${receiver.url}/match`, filterTypes: ['invoice.paid', 'invoice.void'] });
      const otherType = await svix.endpoint.create(app.id, { url: `${receiver.url}/other-type`, filterTypes: ['user.created'] });
      const otherChannel = await svix.endpoint.create(app.id, { url: `${receiver.url}/other-channel`, channels: ['vip'] });
      const secret = (await svix.endpoint.getSecret(app.id, match.id)).key;

      const msg = await svix.message.create(app.id, { eventType: 'invoice.paid', payload: { amount: 100 }, channels: ['standard'] });
      await receiver.waitFor(() => at(receiver, '/match').length === 1);
      await sleep(400);
      assert.equal(at(receiver, '/other-type').length, 0, 'endpoint filtering another event type got nothing');
      assert.equal(at(receiver, '/other-channel').length, 0, 'endpoint needing a channel the message lacks got nothing');
      assert.equal(receiver.requests.length, 1);
      assert.deepEqual(verify(secret, at(receiver, '/match')[0]!), { amount: 100 });

      const destinations = await svix.messageAttempt.listAttemptedDestinations(app.id, msg.id);
      assert.deepEqual(destinations.data.map((d) => d.id), [match.id]);
      assert.ok(![otherType.id, otherChannel.id].some((id) => destinations.data.some((d) => d.id === id)));

      // A message on the right channel and type reaches the channel endpoint too.
      await svix.message.create(app.id, { eventType: 'invoice.paid', payload: { amount: 5 }, channels: ['vip'] });
      await receiver.waitFor(() => at(receiver, '/other-channel').length === 1 && at(receiver, '/match').length === 2);
      assert.equal(at(receiver, '/other-type').length, 0);
    }));
});

describe('svix 1.99.1 against hookd: event types', () => {
  test('create, get, list, update, patch and delete (archive) an event type', () =>
    withEnv(async ({ svix }) => {
      const created = await svix.eventType.create({ name: 'user.created', description: 'A user signed up', schemas: { '1': { type: 'object' } } });
      assert.equal(created.name, 'user.created');
      assert.equal(created.description, 'A user signed up');
      assert.equal(created.archived, false);
      assert.equal(created.deprecated, false);
      assert.deepEqual(created.schemas, { '1': { type: 'object' } });
      await svix.eventType.create({ name: 'user.deleted', description: 'A user left' });
      await expectApiError(svix.eventType.create({ name: 'user.created', description: 'again' }), 409);

      assert.equal((await svix.eventType.get('user.created')).description, 'A user signed up');
      await expectApiError(svix.eventType.get('nope.nope'), 404);

      const listed = await svix.eventType.list();
      assert.deepEqual(listed.data.map((e) => e.name), ['user.created', 'user.deleted']);
      const limited = await svix.eventType.list({ limit: 1 });
      assert.deepEqual(limited.data.map((e) => e.name), ['user.created']);
      assert.equal(limited.done, false);

      const updated = await svix.eventType.update('user.created', { description: 'Signed up', deprecated: true, groupName: 'users' });
      assert.equal(updated.description, 'Signed up');
      assert.equal(updated.deprecated, true);
      assert.equal(updated.groupName, 'users');
      assert.equal(updated.schemas, undefined, 'PUT replaces: schemas not given are cleared');

      const patched = await svix.eventType.patch('user.created', { description: 'Registered' });
      assert.equal(patched.description, 'Registered');
      assert.equal(patched.deprecated, true);

      await svix.eventType.delete('user.created');
      const archived = await svix.eventType.get('user.created');
      assert.equal(archived.archived, true, 'delete archives by default');
      assert.deepEqual((await svix.eventType.list()).data.map((e) => e.name), ['user.deleted'], 'archived types are not listed by default');
      assert.deepEqual((await svix.eventType.list({ includeArchived: true })).data.map((e) => e.name), ['user.created', 'user.deleted']);

      await svix.eventType.delete('user.deleted', { expunge: true });
      await expectApiError(svix.eventType.get('user.deleted'), 404);
    }));
});

describe('svix 1.99.1 against hookd: attempts, resend and recover', () => {
  test('attempt lists show success and failure; a failing endpoint exhausts its schedule, then resend and recover deliver', () =>
    withEnv(async ({ svix, receiver }) => {
      let failing = true;
      receiver.responder = (request, response) => {
        if (request.path === '/flaky' && failing) {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end('boom');
          return;
        }
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end('ok');
      };
      const app = await svix.application.create({ name: 'Attempts' });
      const good = await svix.endpoint.create(app.id, { url: `${receiver.url}/good` });
      const flaky = await svix.endpoint.create(app.id, { url: `${receiver.url}/flaky` });
      const flakySecret = (await svix.endpoint.getSecret(app.id, flaky.id)).key;
      const since = new Date(Date.now() - 1000);

      const m1 = await svix.message.create(app.id, { eventType: 'job.done', payload: { job: 1 } });

      // The good endpoint succeeds at once.
      const goodAttempts = await eventually(async () => {
        const page = await svix.messageAttempt.listByEndpoint(app.id, good.id);
        return page.data.length === 1 ? page : null;
      }, 10_000, 'good endpoint attempt');
      const ok = goodAttempts.data[0]!;
      assert.equal(ok.status, MessageStatus.Success);
      assert.equal(ok.statusText, 'success');
      assert.equal(ok.responseStatusCode, 200);
      assert.equal(ok.response, 'ok');
      assert.equal(typeof ok.responseDurationMs, 'number');
      assert.ok(ok.responseDurationMs >= 0);
      assert.equal(ok.triggerType, MessageAttemptTriggerType.Scheduled);
      assert.equal(ok.msgId, m1.id);
      assert.equal(ok.endpointId, good.id);
      assert.match(ok.id, /^atmpt_[0-9A-Za-z]{27}$/);
      assert.ok(ok.timestamp instanceof Date);

      // The flaky endpoint fails the first attempt and both retries (schedule 100ms, 200ms): 3 attempts, then failed.
      const failed = await eventually(async () => {
        const dest = await svix.messageAttempt.listAttemptedDestinations(app.id, m1.id);
        const flakyDest = dest.data.find((d) => d.id === flaky.id);
        return flakyDest?.statusText === 'fail' ? flakyDest : null;
      }, 10_000, 'flaky delivery to fail');
      assert.equal(failed.status, MessageStatus.Fail);
      const flakyAttempts = await svix.messageAttempt.listByMsg(app.id, m1.id, { endpointId: flaky.id });
      assert.equal(flakyAttempts.data.length, 3, 'first attempt + 2 retries');
      for (const attempt of flakyAttempts.data) {
        assert.equal(attempt.status, MessageStatus.Fail);
        assert.equal(attempt.statusText, 'fail');
        assert.equal(attempt.responseStatusCode, 500);
        assert.equal(attempt.response, 'boom');
        assert.equal(attempt.triggerType, MessageAttemptTriggerType.Scheduled);
        assert.equal(typeof attempt.responseDurationMs, 'number');
      }
      const byMsg = await svix.messageAttempt.listByMsg(app.id, m1.id);
      assert.equal(byMsg.data.length, 4, 'listByMsg without a filter shows both endpoints');
      assert.deepEqual(byMsg.data.filter((a) => a.status === MessageStatus.Success).map((a) => a.endpointId), [good.id]);
      const onlyFailed = await svix.messageAttempt.listByMsg(app.id, m1.id, { status: MessageStatus.Fail });
      assert.equal(onlyFailed.data.length, 3);
      assert.equal(at(receiver, '/flaky').length, 3);
      for (const request of at(receiver, '/flaky')) {
        assert.equal(request.headers['webhook-id'], m1.id, 'webhook-id is stable across retries');
        verify(flakySecret, request);
      }

      // Two more messages also end up failed on the flaky endpoint.
      const m2 = await svix.message.create(app.id, { eventType: 'job.done', payload: { job: 2 } });
      const m3 = await svix.message.create(app.id, { eventType: 'job.done', payload: { job: 3 } });
      await eventually(async () => {
        const page = await svix.messageAttempt.listByEndpoint(app.id, flaky.id, { status: MessageStatus.Fail });
        return page.data.length === 9 ? page : null;
      }, 10_000, 'all flaky deliveries to exhaust');
      await eventually(async () => {
        for (const m of [m2, m3]) {
          const dest = await svix.messageAttempt.listAttemptedDestinations(app.id, m.id);
          if (dest.data.find((d) => d.id === flaky.id)?.statusText !== 'fail') return false;
        }
        return true;
      }, 10_000, 'm2 and m3 failed');

      // The endpoint recovers; a manual resend of m1 succeeds as a manual attempt.
      failing = false;
      const resent = await svix.messageAttempt.resend(app.id, m1.id, flaky.id);
      assert.deepEqual(resent, {});
      const manual = await eventually(async () => {
        const page = await svix.messageAttempt.listByMsg(app.id, m1.id, { endpointId: flaky.id, status: MessageStatus.Success });
        return page.data[0];
      }, 10_000, 'resend to succeed');
      assert.equal(manual.triggerType, MessageAttemptTriggerType.Manual);
      assert.equal(manual.responseStatusCode, 200);
      assert.equal(manual.statusText, 'success');
      const m1Destinations = await svix.messageAttempt.listAttemptedDestinations(app.id, m1.id);
      assert.equal(m1Destinations.data.find((d) => d.id === flaky.id)?.statusText, 'success');
      const listed = await svix.messageAttempt.listByEndpoint(app.id, flaky.id);
      assert.equal(listed.data[0]!.id, manual.id, 'newest attempt first');

      // recover brings back m2 and m3 (m1 already succeeded and is not sent again).
      const flakyBefore = at(receiver, '/flaky').length;
      const recovered = await svix.endpoint.recover(app.id, flaky.id, { since });
      assert.match(recovered.id, /^qtask_/);
      assert.equal(recovered.task, 'endpoint.recover');
      assert.ok(['running', 'finished'].includes(recovered.status));
      const delivered = await receiver.waitFor(() => at(receiver, '/flaky').length >= flakyBefore + 2, 10_000, 'recovered deliveries');
      const recoveredIds = delivered.filter((r) => r.path === '/flaky').slice(flakyBefore).map((r) => r.headers['webhook-id']);
      assert.deepEqual([...recoveredIds].sort(), [m2.id, m3.id].sort());
      for (const request of at(receiver, '/flaky').slice(flakyBefore)) verify(flakySecret, request);
      for (const m of [m2, m3]) {
        const ok2 = await eventually(async () => {
          const page = await svix.messageAttempt.listByMsg(app.id, m.id, { endpointId: flaky.id, status: MessageStatus.Success });
          return page.data[0];
        }, 10_000, `recovered ${m.id} success`);
        assert.equal(ok2.triggerType, MessageAttemptTriggerType.Manual);
      }
      await sleep(300);
      assert.equal(at(receiver, '/flaky').length, flakyBefore + 2, 'm1 was not sent again by recover');
      assert.equal(at(receiver, '/good').length, 3, 'the good endpoint got each message once');
    }));

  test('a resend made while the first attempt is still on the wire is delivered too (Svix: every resend is a new attempt)', () =>
    withEnv(async ({ svix, receiver }) => {
      let release = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      // The first delivery's answer waits until the resend has been accepted, so the resend surely meets it in flight.
      receiver.responder = async (request, response) => {
        if (at(receiver, '/held')[0] === request) await held;
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end('ok');
      };
      const app = await svix.application.create({ name: 'In flight' });
      const ep = await svix.endpoint.create(app.id, { url: `${receiver.url}/held` });
      const secret = (await svix.endpoint.getSecret(app.id, ep.id)).key;
      const msg = await svix.message.create(app.id, { eventType: 'job.done', payload: { job: 1 } });
      await receiver.waitFor(() => at(receiver, '/held').length === 1);
      assert.deepEqual(await svix.messageAttempt.resend(app.id, msg.id, ep.id), {});
      release();

      const [first, again] = await receiver.waitFor(() => at(receiver, '/held').length === 2, 10_000, 'the resent delivery');
      for (const request of [first!, again!]) {
        assert.equal(request.headers['webhook-id'], msg.id);
        assert.deepEqual(verify(secret, request), { job: 1 });
      }
      const attempts = await eventually(async () => {
        const page = await svix.messageAttempt.listByMsg(app.id, msg.id);
        return page.data.length === 2 ? page.data : null;
      }, 10_000, 'both attempts recorded');
      assert.deepEqual(attempts.map((a) => a.triggerType), [MessageAttemptTriggerType.Manual, MessageAttemptTriggerType.Scheduled], 'newest first');
    }));
});

describe('svix 1.99.1 against hookd: filters, throttling, upserts and the operations added for issue 13', () => {
  test('filterTypes keeps other event types away; throttleRate spreads deliveries to at most the rate', () =>
    withEnv(async ({ svix, receiver }) => {
      for (const name of ['user.created', 'invoice.paid', 'tick']) await svix.eventType.create({ name, description: name });
      const app = await svix.application.create({ name: 'Flow' });
      const filtered = await svix.endpoint.create(app.id, { url: `${receiver.url}/filtered`, filterTypes: ['invoice.paid'] });
      const throttled = await svix.endpoint.create(app.id, { url: `${receiver.url}/throttled`, filterTypes: ['tick'], throttleRate: THROTTLE.rate });
      await svix.endpoint.create(app.id, { url: `${receiver.url}/all` });
      const secret = (await svix.endpoint.getSecret(app.id, filtered.id)).key;

      const user = await svix.message.create(app.id, { eventType: 'user.created', payload: { n: 1 } });
      const invoice = await svix.message.create(app.id, { eventType: 'invoice.paid', payload: { n: 2 } });
      for (let i = 0; i < THROTTLE.messages; i++) await svix.message.create(app.id, { eventType: 'tick', payload: { i } });
      await assertFilteredAndThrottled(receiver, { user: user.id, invoice: invoice.id }, (request) => verify(secret, request));
      assert.equal(throttled.throttleRate, THROTTLE.rate);
      assert.equal((await svix.endpoint.get(app.id, throttled.id)).throttleRate, THROTTLE.rate);
    }));

  test('update (PUT) of a missing endpoint or event type creates it, as Svix does', () =>
    withEnv(async ({ svix, receiver }) => {
      const app = await svix.application.create({ name: 'Upserts' });
      const ep = await svix.endpoint.update(app.id, 'made-by-put', { url: `${receiver.url}/put`, uid: 'made-by-put', description: 'by PUT' });
      assert.match(ep.id, /^ep_[0-9A-Za-z]{27}$/);
      assert.equal(ep.uid, 'made-by-put');
      assert.equal(ep.description, 'by PUT');
      assert.equal((await svix.endpoint.get(app.id, 'made-by-put')).id, ep.id);

      const type = await svix.eventType.update('made.by.put', { description: 'Created by PUT' });
      assert.equal(type.name, 'made.by.put');
      assert.equal(type.description, 'Created by PUT');
      assert.equal((await svix.eventType.get('made.by.put')).description, 'Created by PUT');
    }));

  test('sendExample delivers the event type schema example to that endpoint only; expungeContent empties a message', () =>
    withEnv(async ({ svix, receiver }) => {
      await svix.eventType.create({ name: 'invoice.paid', description: 'Paid', schemas: exampleSchemas({ invoice: 'inv_1', amount: 42 }) });
      const app = await svix.application.create({ name: 'Example' });
      const target = await svix.endpoint.create(app.id, { url: `${receiver.url}/target` });
      await svix.endpoint.create(app.id, { url: `${receiver.url}/bystander` });
      const secret = (await svix.endpoint.getSecret(app.id, target.id)).key;

      const example = await svix.endpoint.sendExample(app.id, target.id, { eventType: 'invoice.paid' });
      assert.match(example.id, /^msg_[0-9A-Za-z]{27}$/);
      assert.equal(example.eventType, 'invoice.paid');
      const [delivered] = await receiver.waitFor(() => at(receiver, '/target').length === 1);
      assert.equal(delivered!.headers['webhook-id'], example.id);
      assert.deepEqual(verify(secret, delivered!), { invoice: 'inv_1', amount: 42 });
      await sleep(300);
      assert.equal(at(receiver, '/bystander').length, 0, 'send-example goes to the one endpoint');

      const msg = await svix.message.create(app.id, { eventType: 'invoice.paid', payload: { secret: 'pii' } });
      assert.deepEqual((await svix.message.get(app.id, msg.id)).payload, { secret: 'pii' });
      await svix.message.expungeContent(app.id, msg.id);
      const expunged = await svix.message.get(app.id, msg.id);
      assert.equal(expunged.id, msg.id, 'the message itself stays');
      assert.deepEqual(expunged.payload, { expired: true }, 'Svix answers an expunged payload as {"expired": true}');
    }));

  test('attempts filtered by statusCodeClass, listAttemptedMessages and getStats show what happened', () =>
    withEnv(async ({ svix, receiver }) => {
      failOn(receiver, new Set(['/flaky']));
      const app = await svix.application.create({ name: 'Stats' });
      const good = await svix.endpoint.create(app.id, { url: `${receiver.url}/good` });
      const flaky = await svix.endpoint.create(app.id, { url: `${receiver.url}/flaky` });
      const msg = await svix.message.create(app.id, { eventType: 'job.done', eventId: 'job-1', payload: { job: 1 } });
      await eventually(async () => {
        const dest = await svix.messageAttempt.listAttemptedDestinations(app.id, msg.id);
        return dest.data.find((d) => d.id === flaky.id)?.statusText === 'fail';
      }, 10_000, 'the flaky delivery to fail');

      const fives = await svix.messageAttempt.listByMsg(app.id, msg.id, { statusCodeClass: StatusCodeClass.Code5xx });
      assert.equal(fives.data.length, 3, 'first attempt and two retries answered 500');
      for (const a of fives.data) assert.equal(a.responseStatusCode, 500);
      const twos = await svix.messageAttempt.listByMsg(app.id, msg.id, { statusCodeClass: StatusCodeClass.Code2xx });
      assert.deepEqual(twos.data.map((a) => a.endpointId), [good.id]);
      assert.equal((await svix.messageAttempt.listByEndpoint(app.id, flaky.id, { statusCodeClass: StatusCodeClass.Code2xx })).data.length, 0);
      assert.equal((await svix.messageAttempt.listByEndpoint(app.id, flaky.id, { statusCodeClass: StatusCodeClass.Code5xx })).data.length, 3);

      const attempted = await svix.messageAttempt.listAttemptedMessages(app.id, flaky.id);
      assert.deepEqual(attempted.data.map((m) => m.id), [msg.id]);
      assert.equal(attempted.data[0]!.status, MessageStatus.Fail);
      assert.equal(attempted.data[0]!.statusText, 'fail');
      assert.equal(attempted.data[0]!.eventId, 'job-1');
      assert.equal(attempted.data[0]!.eventType, 'job.done');
      assert.equal(attempted.done, true);
      const goodAttempted = await svix.messageAttempt.listAttemptedMessages(app.id, good.id);
      assert.equal(goodAttempted.data[0]!.statusText, 'success');

      const flakyStats = await svix.endpoint.getStats(app.id, flaky.id);
      assert.deepEqual({ ...flakyStats }, { success: 0, pending: 0, sending: 0, fail: 1, canceled: 0 });
      const goodStats = await svix.endpoint.getStats(app.id, good.id);
      assert.equal(goodStats.success, 1);
      assert.equal(goodStats.fail, 0);

      // Pages of destinations, and attempted messages by tag.
      const firstDestination = await svix.messageAttempt.listAttemptedDestinations(app.id, msg.id, { limit: 1 });
      assert.equal(firstDestination.data.length, 1);
      assert.equal(firstDestination.done, false);
      const secondDestination = await svix.messageAttempt.listAttemptedDestinations(app.id, msg.id, { limit: 1, iterator: firstDestination.iterator! });
      assert.deepEqual([...firstDestination.data, ...secondDestination.data].map((d) => d.id).sort(), [good.id, flaky.id].sort());
      assert.equal(secondDestination.done, true);
      const tagged = await svix.message.create(app.id, { eventType: 'job.done', tags: ['nightly'], payload: { job: 2 } });
      await eventually(async () => (await svix.messageAttempt.listAttemptedMessages(app.id, good.id)).data.length === 2, 10_000, 'the tagged message routed');
      assert.deepEqual((await svix.messageAttempt.listAttemptedMessages(app.id, good.id, { tag: 'nightly' })).data.map((m) => m.id), [tagged.id]);
    }));
});
