/**
 * Contract test: hookd driven only through the unmodified official svix SDK 2.5.0 (installed as the npm alias
 * `svix2`), against a real hookd delivering to a real HTTP receiver. 2.x renamed what 1.x called filterTypes and
 * rateLimit (eventTypes, throttleRate), turned update into upsert, and asks for payloads only with withContent.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiException, BackgroundTaskType, MessageAttemptTriggerType, MessageStatus, MessageStatusText, StatusCodeClass, Svix, Webhook } from 'svix2';
import { TEST_TOKEN, eventually } from '../helpers/hookd.js';
import type { Receiver, ReceivedRequest } from '../helpers/receiver.js';
import { THROTTLE, assertFilteredAndThrottled, assertThrottled, at, exampleSchemas, failOn, headersOf, newSecret, sleep, withHookd, expectApiError as expectSdkError } from './shared.js';

const withEnv = (body: (env: { receiver: Receiver; svix: Svix }) => Promise<void>) =>
  withHookd(({ hookd, receiver }) => body({ receiver, svix: new Svix(TEST_TOKEN, { serverUrl: hookd.url }) }));

/** Verifies one received request with the 2.x Webhook class (which no longer returns the payload); parses it. */
function verify(secret: string, request: ReceivedRequest): unknown {
  new Webhook(secret).verify(request.body, headersOf(request));
  return JSON.parse(request.body);
}

/** A call that must fail with this SDK's ApiException and `status`. */
const expectApiError = (promise: Promise<unknown>, status: number): Promise<ApiException<any>> => expectSdkError(promise, status, ApiException);

const isDate = (value: unknown) => value instanceof Date && !Number.isNaN(value.getTime());

describe('svix 2.5.0 against hookd', () => {
  test('applications: create, get by id and uid, list with paging, upsert (update and create), patch, delete', () =>
    withEnv(async ({ svix }) => {
      const created = await svix.application.create({ name: 'Acme', uid: 'acme', metadata: { tier: 'gold' } });
      assert.match(created.id, /^app_[0-9A-Za-z]{27}$/);
      assert.equal(created.name, 'Acme');
      assert.deepEqual(created.metadata, { tier: 'gold' });
      assert.ok(isDate(created.createdAt) && isDate(created.updatedAt));
      assert.equal((await svix.application.get('acme')).id, created.id);
      const other = await svix.application.create({ name: 'Other' });

      const page = await svix.application.list({ limit: 1 });
      assert.deepEqual(page.data.map((a) => a.id), [created.id]);
      assert.equal(page.done, false);
      const rest = await svix.application.list({ limit: 1, iterator: page.iterator });
      assert.deepEqual(rest.data.map((a) => a.id), [other.id]);
      assert.equal(rest.done, true);

      const updated = await svix.application.upsert('acme', { name: 'Acme Inc', uid: 'acme' });
      assert.equal(updated.id, created.id, 'upsert of an existing uid updates it');
      assert.equal(updated.name, 'Acme Inc');
      assert.deepEqual(updated.metadata, {}, 'PUT replaces: metadata not given is cleared');
      const made = await svix.application.upsert('made-by-put', { name: 'Upserted', uid: 'made-by-put' });
      assert.match(made.id, /^app_/);
      assert.notEqual(made.id, created.id);
      assert.equal((await svix.application.get('made-by-put')).name, 'Upserted');

      const patched = await svix.application.patch('acme', { metadata: { plan: 'pro' } });
      assert.equal(patched.name, 'Acme Inc', 'PATCH keeps fields not given');
      assert.deepEqual(patched.metadata, { plan: 'pro' });

      await svix.application.delete(created.id);
      assert.equal((await expectApiError(svix.application.get('acme'), 404)).body.code, 'not_found');
      assert.deepEqual((await svix.application.list()).data.map((a) => a.id).sort(), [other.id, made.id].sort());
    }));

  test('endpoints: create with eventTypes and throttleRate, get, list, upsert, patch, headers, secret rotation, delete', () =>
    withEnv(async ({ svix, receiver }) => {
      for (const name of ['user.created', 'user.deleted', 'order.paid']) await svix.eventType.create({ name, description: name });
      const app = await svix.application.create({ name: 'Endpoints' });
      const oldSecret = newSecret();
      const ep = await svix.endpoint.create(app.id, {
        url: `${receiver.url}/hook`,
        uid: 'main-ep',
        description: 'primary',
        eventTypes: ['user.created', 'user.deleted'],
        throttleRate: 10,
        channels: ['eu'],
        headers: { 'x-initial': 'a' },
        secret: oldSecret,
        metadata: { owner: 'team-a' },
      });
      assert.match(ep.id, /^ep_[0-9A-Za-z]{27}$/);
      assert.deepEqual(ep.eventTypes, ['user.created', 'user.deleted']);
      assert.equal(ep.throttleRate, 10);
      assert.deepEqual(ep.channels, ['eu']);
      assert.equal(ep.disabled, false);
      assert.deepEqual(ep.metadata, { owner: 'team-a' });
      const fetched = await svix.endpoint.get(app.id, 'main-ep');
      assert.equal(fetched.id, ep.id);
      assert.deepEqual(fetched.eventTypes, ['user.created', 'user.deleted']);
      assert.equal(fetched.throttleRate, 10);
      assert.deepEqual((await svix.endpoint.list(app.id)).data.map((e) => e.id), [ep.id]);

      const upserted = await svix.endpoint.upsert(app.id, 'main-ep', { url: `${receiver.url}/hook`, uid: 'main-ep', eventTypes: ['order.paid'], throttleRate: 20 });
      assert.equal(upserted.id, ep.id, 'upsert of an existing uid updates it');
      assert.deepEqual(upserted.eventTypes, ['order.paid']);
      assert.equal(upserted.throttleRate, 20);
      assert.equal(upserted.channels, undefined, 'PUT clears channels not given');
      const made = await svix.endpoint.upsert(app.id, 'made-by-put', { url: `${receiver.url}/made`, uid: 'made-by-put' });
      assert.match(made.id, /^ep_/);
      assert.notEqual(made.id, ep.id);
      assert.equal((await svix.endpoint.get(app.id, 'made-by-put')).id, made.id);

      const patched = await svix.endpoint.patch(app.id, ep.id, { throttleRate: 30, eventTypes: ['user.created'], description: 'patched' });
      assert.equal(patched.throttleRate, 30);
      assert.deepEqual(patched.eventTypes, ['user.created']);
      assert.equal(patched.description, 'patched');
      assert.equal(patched.uid, 'main-ep', 'PATCH keeps fields not given');

      await svix.endpoint.setHeaders(app.id, ep.id, { headers: { 'x-team': 'payments', 'x-keep': 'yes' } });
      await svix.endpoint.patchHeaders(app.id, ep.id, { headers: { 'x-team': 'billing' }, deleteHeaders: ['x-keep'] });
      assert.deepEqual((await svix.endpoint.getHeaders(app.id, ep.id)).headers, { 'x-team': 'billing' });

      assert.equal((await svix.endpoint.getSecret(app.id, ep.id)).key, oldSecret);
      assert.equal(await svix.endpoint.rotateSecret(app.id, ep.id, {}), undefined);
      const newKey = (await svix.endpoint.getSecret(app.id, ep.id)).key;
      assert.match(newKey, /^whsec_/);
      assert.notEqual(newKey, oldSecret);

      const msg = await svix.message.create(app.id, { eventType: 'user.created', payload: { n: 1 } });
      const [delivered] = await receiver.waitFor(() => at(receiver, '/hook').length === 1);
      assert.equal(delivered!.headers['webhook-id'], msg.id);
      assert.equal(delivered!.headers['x-team'], 'billing');
      assert.equal(delivered!.headers['x-keep'], undefined);
      assert.equal(String(delivered!.headers['webhook-signature']).split(' ').length, 2, 'old and new secret both sign during the grace period');
      assert.deepEqual(verify(oldSecret, delivered!), { n: 1 });
      assert.deepEqual(verify(newKey, delivered!), { n: 1 });

      await svix.endpoint.delete(app.id, ep.id);
      await expectApiError(svix.endpoint.get(app.id, ep.id), 404);
      assert.deepEqual((await svix.endpoint.list(app.id)).data.map((e) => e.id), [made.id]);
    }));

  test('eventTypes keeps other event types away; throttleRate spreads deliveries to at most the rate', () =>
    withEnv(async ({ svix, receiver }) => {
      for (const name of ['user.created', 'invoice.paid', 'tick']) await svix.eventType.create({ name, description: name });
      const app = await svix.application.create({ name: 'Flow' });
      const filtered = await svix.endpoint.create(app.id, { url: `${receiver.url}/filtered`, eventTypes: ['invoice.paid'] });
      await svix.endpoint.create(app.id, { url: `${receiver.url}/throttled`, eventTypes: ['tick'], throttleRate: THROTTLE.rate });
      await svix.endpoint.create(app.id, { url: `${receiver.url}/all` });
      const secret = (await svix.endpoint.getSecret(app.id, filtered.id)).key;

      const user = await svix.message.create(app.id, { eventType: 'user.created', payload: { n: 1 } });
      const invoice = await svix.message.create(app.id, { eventType: 'invoice.paid', payload: { n: 2 } });
      for (let i = 0; i < THROTTLE.messages; i++) await svix.message.create(app.id, { eventType: 'tick', payload: { i } });
      await assertFilteredAndThrottled(receiver, { user: user.id, invoice: invoice.id }, (request) => verify(secret, request));
    }));

  test("an application's throttleRate throttles each of its endpoints, as Svix's throttling guide says; ingest is not refused", () =>
    withEnv(async ({ svix, receiver }) => {
      const app = await svix.application.create({ name: 'Throttled app', throttleRate: THROTTLE.rate });
      assert.equal(app.throttleRate, THROTTLE.rate);
      await svix.endpoint.create(app.id, { url: `${receiver.url}/first` });
      await svix.endpoint.create(app.id, { url: `${receiver.url}/second` });
      // Each create resolves (a 429 would throw): the throttle is on the sending side.
      for (let i = 0; i < THROTTLE.messages; i++) await svix.message.create(app.id, { eventType: 'tick', payload: { i } });
      const paths = ['/first', '/second'];
      await receiver.waitFor(() => paths.every((path) => at(receiver, path).length >= THROTTLE.messages), 15_000, 'both endpoints');
      for (const path of paths) assertThrottled(at(receiver, path), THROTTLE.rate);
    }));

  test('messages: create with eventId (a repeat is 409), get, list, expungeContent; payloads only withContent', () =>
    withEnv(async ({ svix, receiver }) => {
      const app = await svix.application.create({ name: 'Messages' });
      const ep = await svix.endpoint.create(app.id, { url: `${receiver.url}/m` });
      const secret = (await svix.endpoint.getSecret(app.id, ep.id)).key;
      const payload = { user: { id: 42, name: 'Zoë' } };

      const msg = await svix.message.create(app.id, { eventType: 'user.created', eventId: 'evt-1', payload, channels: ['eu'], tags: ['t1'] });
      assert.match(msg.id, /^msg_[0-9A-Za-z]{27}$/);
      assert.equal(msg.eventId, 'evt-1');
      assert.deepEqual(msg.channels, ['eu']);
      assert.deepEqual(msg.payload, {}, '2.x asks for with_content=false unless told otherwise');
      assert.ok(isDate(msg.timestamp));
      const withContent = await svix.message.create(app.id, { eventType: 'user.created', eventId: 'evt-2', payload: { n: 2 } }, { withContent: true });
      assert.deepEqual(withContent.payload, { n: 2 });
      const dup = await expectApiError(svix.message.create(app.id, { eventType: 'user.created', eventId: 'evt-1', payload: { other: true } }), 409);
      assert.equal(dup.body.code, 'conflict');

      assert.deepEqual((await svix.message.get(app.id, msg.id, { withContent: true })).payload, payload);
      assert.deepEqual((await svix.message.get(app.id, msg.id)).payload, {});
      assert.equal((await svix.message.get(app.id, 'evt-1')).id, msg.id, 'get by eventId');
      const listed = await svix.message.list(app.id, { withContent: true });
      assert.deepEqual(listed.data.map((m) => m.id), [withContent.id, msg.id]);
      assert.deepEqual(listed.data[1]!.payload, payload);

      const delivered = await receiver.waitFor((r) => r.length >= 2);
      const first = delivered.find((r) => r.headers['webhook-id'] === msg.id)!;
      assert.deepEqual(verify(secret, first), payload);

      await svix.message.expungeContent(app.id, msg.id);
      const expunged = await svix.message.get(app.id, msg.id, { withContent: true });
      assert.equal(expunged.id, msg.id, 'the message itself stays');
      assert.deepEqual(expunged.payload, { expired: true }, 'Svix answers an expunged payload as {"expired": true}');

      // Several at once, by id or eventId; a name the application does not have is not-found.
      const bulk = await svix.message.bulkExpungeContent(app.id, { ids: ['evt-2', 'evt-unknown', msg.id] });
      assert.deepEqual({ ...bulk.results }, { 'evt-2': 'expunged', 'evt-unknown': 'not-found', [msg.id]: 'expunged' });
      assert.deepEqual((await svix.message.get(app.id, withContent.id, { withContent: true })).payload, { expired: true });
      assert.deepEqual({ ...(await svix.message.bulkExpungeContent(app.id)).results }, {}, 'naming none expunges none');
    }));

  test('a message list after a time starts there: following prevIterator reads every later message once, in order; a wrong-kind iterator is a 422', () =>
    withEnv(async ({ svix }) => {
      const app = await svix.application.create({ name: 'Consumer' });
      const endpoint = await svix.endpoint.create(app.id, { url: 'http://127.0.0.1:1/unreachable' });
      const sent = [];
      for (let i = 0; i < 5; i++) {
        sent.push(await svix.message.create(app.id, { eventType: 'tick', payload: { i } }));
        await sleep(5);
      }
      // A Svix consumer: start at a time, then follow prevIterator, forward in time, until done.
      const seen: string[] = [];
      let page = await svix.message.list(app.id, { after: sent[0]!.timestamp, limit: 2 });
      assert.deepEqual(page.data.map((m) => m.id), [sent[2]!.id, sent[1]!.id], 'the oldest two after the time, not the newest');
      for (;;) {
        seen.push(...page.data.map((m) => m.id).reverse());
        if (page.done) break;
        page = await svix.message.list(app.id, { iterator: page.prevIterator, after: sent[0]!.timestamp, limit: 2 });
      }
      assert.deepEqual(seen, sent.slice(1).map((m) => m.id));

      // list-attempted-messages pages by message id: a message id is its iterator.
      const routed = await svix.messageAttempt.listAttemptedMessages(app.id, endpoint.id, { limit: 2, iterator: sent[3]!.id });
      assert.deepEqual(routed.data.map((m) => m.id), [sent[2]!.id, sent[1]!.id]);
      assert.equal(routed.iterator, sent[1]!.id);
      const refused = await expectApiError(svix.message.list(app.id, { iterator: endpoint.id }), 422);
      assert.deepEqual(refused.body.detail[0].loc, ['query', 'iterator']);
    }));

  test('attempts by message and endpoint (statusCodeClass), listAttemptedMessages, getStats, resend, recover, sendExample, replayMissing', () =>
    withEnv(async ({ svix, receiver }) => {
      const failing = new Set(['/flaky']);
      failOn(receiver, failing);
      await svix.eventType.create({ name: 'invoice.paid', description: 'Paid', schemas: exampleSchemas({ invoice: 'inv_1', amount: 42 }) });
      const app = await svix.application.create({ name: 'Attempts' });
      const good = await svix.endpoint.create(app.id, { url: `${receiver.url}/good` });
      const flaky = await svix.endpoint.create(app.id, { url: `${receiver.url}/flaky` });
      const flakySecret = (await svix.endpoint.getSecret(app.id, flaky.id)).key;
      const since = new Date(Date.now() - 1000);

      const m1 = await svix.message.create(app.id, { eventType: 'job.done', eventId: 'job-1', payload: { job: 1 } });
      await eventually(async () => {
        const dest = await svix.messageAttempt.listAttemptedDestinations(app.id, m1.id);
        return dest.data.find((d) => d.id === flaky.id)?.statusText === MessageStatusText.Fail;
      }, 10_000, 'the flaky delivery to fail');

      const [ok] = (await svix.messageAttempt.listByEndpoint(app.id, good.id, { withContent: true })).data;
      assert.equal(ok!.status, MessageStatus.Success);
      assert.equal(ok!.statusText, MessageStatusText.Success);
      assert.equal(ok!.responseStatusCode, 200);
      assert.equal(ok!.response, 'ok');
      assert.equal(ok!.triggerType, MessageAttemptTriggerType.Scheduled);
      assert.equal(ok!.msgId, m1.id);
      assert.match(ok!.id, /^atmpt_[0-9A-Za-z]{27}$/);
      const [bare] = (await svix.messageAttempt.listByEndpoint(app.id, good.id)).data;
      assert.equal(bare!.response, '{}', '2.x asks for with_content=false, and Svix then answers the response as "{}"');
      const fives = await svix.messageAttempt.listByMsg(app.id, m1.id, { statusCodeClass: StatusCodeClass.Code5xx, withContent: true });
      assert.equal(fives.data.length, 3, 'first attempt and two retries answered 500');
      for (const a of fives.data) assert.deepEqual([a.endpointId, a.responseStatusCode, a.response, a.statusText], [flaky.id, 500, 'boom', MessageStatusText.Fail]);
      const twos = await svix.messageAttempt.listByMsg(app.id, m1.id, { statusCodeClass: StatusCodeClass.Code2xx });
      assert.deepEqual(twos.data.map((a) => a.endpointId), [good.id]);
      assert.equal((await svix.messageAttempt.listByEndpoint(app.id, flaky.id, { statusCodeClass: StatusCodeClass.Code2xx })).data.length, 0);

      const attempted = await svix.messageAttempt.listAttemptedMessages(app.id, flaky.id);
      assert.deepEqual(attempted.data.map((m) => [m.id, m.eventId, m.statusText]), [[m1.id, 'job-1', MessageStatusText.Fail]]);
      const destinations = await svix.messageAttempt.listAttemptedDestinations(app.id, m1.id);
      assert.deepEqual(destinations.data.map((d) => d.id).sort(), [good.id, flaky.id].sort());
      assert.deepEqual({ ...(await svix.endpoint.getStats(app.id, flaky.id)) }, { success: 0, pending: 0, sending: 0, fail: 1, canceled: 0 });

      failing.clear();
      assert.deepEqual(await svix.messageAttempt.resend(app.id, m1.id, flaky.id), {});
      const manual = await eventually(async () => {
        const page = await svix.messageAttempt.listByMsg(app.id, m1.id, { endpointId: flaky.id, status: MessageStatus.Success });
        return page.data[0];
      }, 10_000, 'the resend to succeed');
      assert.equal(manual.triggerType, MessageAttemptTriggerType.Manual);
      assert.equal(manual.responseStatusCode, 200);

      failing.add('/flaky');
      const m2 = await svix.message.create(app.id, { eventType: 'job.done', payload: { job: 2 } });
      await eventually(async () => (await svix.messageAttempt.listByMsg(app.id, m2.id, { endpointId: flaky.id })).data.length === 3, 10_000, 'm2 to exhaust its retries');
      await eventually(async () => (await svix.endpoint.getStats(app.id, flaky.id)).fail === 1, 10_000, 'm2 failed');
      failing.clear();
      const before = at(receiver, '/flaky').length;
      const recovered = await svix.endpoint.recover(app.id, flaky.id, { since });
      assert.match(recovered.id, /^qtask_/);
      assert.equal(recovered.task, 'endpoint.recover');
      assert.ok(['running', 'finished'].includes(recovered.status), recovered.status);
      assert.ok(isDate(recovered.updatedAt), 'RecoverOut.updatedAt is a date');
      const [again] = (await receiver.waitFor(() => at(receiver, '/flaky').length === before + 1)).filter((r) => r.path === '/flaky').slice(before);
      assert.equal(again!.headers['webhook-id'], m2.id, 'recover resends only the failed message');
      assert.deepEqual(verify(flakySecret, again!), { job: 2 });
      await eventually(async () => (await svix.endpoint.getStats(app.id, flaky.id)).success === 2, 10_000, 'both messages delivered');
      assert.deepEqual({ ...(await svix.endpoint.getStats(app.id, flaky.id)) }, { success: 2, pending: 0, sending: 0, fail: 0, canceled: 0 });

      const goodSecret = (await svix.endpoint.getSecret(app.id, good.id)).key;
      const example = await svix.endpoint.sendExample(app.id, good.id, { eventType: 'invoice.paid' });
      assert.match(example.id, /^msg_[0-9A-Za-z]{27}$/);
      assert.equal(example.eventType, 'invoice.paid');
      const sent = (await receiver.waitFor(() => at(receiver, '/good').some((r) => r.headers['webhook-id'] === example.id))).find((r) => r.headers['webhook-id'] === example.id)!;
      assert.deepEqual(verify(goodSecret, sent), { invoice: 'inv_1', amount: 42 });
      await sleep(300);
      assert.ok(!at(receiver, '/flaky').some((r) => r.headers['webhook-id'] === example.id), 'send-example goes to the one endpoint');

      // An endpoint added afterwards gets what it missed of its event type, once: m1 and m2, not the example.
      await svix.eventType.create({ name: 'job.done', description: 'Done' });
      const late = await svix.endpoint.create(app.id, { url: `${receiver.url}/late`, eventTypes: ['job.done'] });
      const lateSecret = (await svix.endpoint.getSecret(app.id, late.id)).key;
      const replayed = await svix.endpoint.replayMissing(app.id, late.id, { since });
      assert.match(replayed.id, /^qtask_/);
      assert.equal(replayed.task, 'endpoint.replay');
      assert.ok(['running', 'finished'].includes(replayed.status), replayed.status);
      assert.ok(isDate(replayed.updatedAt), 'ReplayOut.updatedAt is a date');
      const missed = (await receiver.waitFor(() => at(receiver, '/late').length === 2)).filter((r) => r.path === '/late');
      assert.deepEqual(missed.map((r) => r.headers['webhook-id']).sort(), [m1.id, m2.id].sort());
      assert.deepEqual(missed.map((r) => verify(lateSecret, r)).sort((a: any, b: any) => a.job - b.job), [{ job: 1 }, { job: 2 }]);
      // Both tasks can be polled by id (finished: hookd runs them before it answers) and listed, newest first.
      const task = await svix.backgroundTask.get(replayed.id);
      assert.equal(task.id, replayed.id);
      assert.equal(task.task, 'endpoint.replay');
      assert.equal(task.status, 'finished');
      assert.ok(isDate(task.updatedAt), 'BackgroundTaskOut.updatedAt is a date');
      assert.deepEqual(task.data, { appId: app.id, endpointId: late.id, since: since.toISOString(), until: task.data.until, messagesSent: 2 });
      const recoverTask = await svix.backgroundTask.get(recovered.id);
      assert.deepEqual([recoverTask.task, recoverTask.data.endpointId, recoverTask.data.messagesSent], ['endpoint.recover', flaky.id, 1]);
      const listed = await svix.backgroundTask.list({ task: BackgroundTaskType.EndpointRecover, limit: 250 });
      assert.ok(listed.data.some((t) => t.id === recovered.id) && !listed.data.some((t) => t.id === replayed.id), 'filtered by kind');
      await expectApiError(svix.backgroundTask.get('qtask_2AAAAAAAAAAAAAAAAAAAAAAAAAA'), 404);
      await svix.endpoint.replayMissing(app.id, late.id, { since });
      await sleep(300);
      assert.equal(at(receiver, '/late').length, 2, 'a second replay sends nothing: the endpoint has them');

      // A bulk replay sends again what the endpoint had, filtered: the failed ones alone (none now), then job.done's.
      await eventually(async () => (await svix.endpoint.getStats(app.id, late.id)).success === 2, 10_000, 'both replayed messages delivered');
      const none = await svix.endpoint.bulkReplay(app.id, late.id, { since, status: MessageStatus.Fail });
      assert.equal(none.task, 'endpoint.bulk-replay');
      assert.equal((await svix.backgroundTask.get(none.id)).data.messagesSent, 0);
      const bulk = await svix.endpoint.bulkReplay(app.id, late.id, { since, eventTypes: ['job.done'], statusCodeClass: StatusCodeClass.Code2xx });
      assert.equal((await svix.backgroundTask.get(bulk.id)).data.messagesSent, 2);
      const resent = (await receiver.waitFor(() => at(receiver, '/late').length === 4)).filter((r) => r.path === '/late').slice(2);
      assert.deepEqual(resent.map((r) => r.headers['webhook-id']).sort(), [m1.id, m2.id].sort());
      assert.deepEqual(resent.map((r) => verify(lateSecret, r)).sort((a: any, b: any) => a.job - b.job), [{ job: 1 }, { job: 2 }]);
      assert.deepEqual({ ...(await svix.message.precheck(app.id, { eventType: 'job.done' })) }, { active: true });
      assert.deepEqual({ ...(await svix.message.precheck(app.id, { eventType: 'nobody.listens', channels: ['x'] })) }, { active: true }, 'good and flaky take every type');

      // Expunging every payload of the application: a task too; the messages read {"expired": true} after.
      const portal = await svix.authentication.appPortalAccess(app.id, {});
      const customer = new Svix(portal.token, { serverUrl: portal.url.split('/portal/')[0] });
      assert.equal((await expectApiError(customer.message.expungeAllContents(app.id), 403)).body.code, 'insufficient_access', "not the application's customer");
      const stored = (await svix.message.list(app.id, { limit: 250 })).data.length;
      const purged = await svix.message.expungeAllContents(app.id);
      assert.equal(purged.task, 'application.purge_content');
      assert.equal(purged.status, 'finished');
      const purgeTask = await svix.backgroundTask.get(purged.id);
      assert.equal(purgeTask.data.messagesPurged, stored, 'every message of the application');
      assert.deepEqual((await svix.message.get(app.id, m1.id, { withContent: true })).payload, { expired: true });
    }));

  test("operational webhook endpoints: created, listed, updated, headers and secret through the API; hookd's events go to them, signed with their secret", () =>
    withEnv(async ({ svix, receiver }) => {
      receiver.responder = (request, response) => {
        response.writeHead(request.path === '/gone' ? 410 : 200, { 'content-type': 'text/plain' });
        response.end(request.path === '/gone' ? 'gone' : 'ok');
      };
      assert.deepEqual((await svix.operationalWebhook.endpoint.list()).data, [], 'none yet');
      assert.ok(!(await svix.application.list()).data.some((a) => a.uid === 'hookd-operator'), 'a read creates nothing');
      const ops = await svix.operationalWebhook.endpoint.create({ url: `${receiver.url}/ops`, description: 'ops', eventTypes: ['endpoint.disabled'], metadata: { team: 'sre' } });
      assert.match(ops.id, /^ep_/);
      assert.deepEqual([ops.url, ops.description, ops.eventTypes, ops.metadata, ops.disabled], [`${receiver.url}/ops`, 'ops', ['endpoint.disabled'], { team: 'sre' }, false]);
      assert.ok(isDate(ops.createdAt));
      assert.deepEqual((await svix.operationalWebhook.endpoint.list()).data.map((e) => e.id), [ops.id]);
      assert.equal((await svix.operationalWebhook.endpoint.get(ops.id)).url, ops.url);
      const updated = await svix.operationalWebhook.endpoint.upsert(ops.id, { url: `${receiver.url}/ops`, description: 'on call', eventTypes: ['endpoint.disabled'] });
      assert.equal(updated.description, 'on call');
      await svix.operationalWebhook.endpoint.setHeaders(ops.id, { headers: { 'x-team': 'sre' } });
      assert.deepEqual({ ...(await svix.operationalWebhook.endpoint.getHeaders(ops.id)).headers }, { 'x-team': 'sre' });
      await svix.operationalWebhook.endpoint.rotateSecret(ops.id, {});
      const secret = (await svix.operationalWebhook.endpoint.getSecret(ops.id)).key;
      assert.match(secret, /^whsec_/);
      await expectApiError(svix.operationalWebhook.endpoint.get('ep_2zzzzzzzzzzzzzzzzzzzzzzzzzz'), 404);
      await expectApiError(svix.operationalWebhook.endpoint.create({ url: 'not a url' }), 422);

      // A tenant's endpoint answers 410: hookd disables it, and says so to the operational endpoint.
      const app = await svix.application.create({ name: 'Tenant' });
      const gone = await svix.endpoint.create(app.id, { url: `${receiver.url}/gone` });
      await svix.message.create(app.id, { eventType: 'user.created', payload: { n: 1 } });
      const [event] = (await receiver.waitFor((r) => at(receiver, '/ops').length > 0, 15_000, 'the operational event')).filter((r) => r.path === '/ops');
      assert.equal(event!.headers['x-team'], 'sre', "the endpoint's headers");
      const body = verify(secret, event!) as { type: string; data: Record<string, unknown> };
      assert.equal(body.type, 'endpoint.disabled');
      assert.deepEqual([body.data.appId, body.data.endpointId], [app.id, gone.id]);

      await svix.operationalWebhook.endpoint.delete(ops.id);
      assert.deepEqual((await svix.operationalWebhook.endpoint.list()).data, []);
      // An application-scoped key may not touch them.
      const scoped = await svix.authentication.appPortalAccess(app.id, {});
      const portal = new Svix(scoped.token, { serverUrl: scoped.url.split('/portal/')[0] });
      await expectApiError(portal.operationalWebhook.endpoint.list(), 403);
    }));

  test('authentication: appPortalAccess gives a token of the application; expireAll ends it; logout', () =>
    withEnv(async ({ svix }) => {
      const app = await svix.application.create({ name: 'Portal users' });
      const access = await svix.authentication.appPortalAccess(app.id, {});
      const portal = new Svix(access.token, { serverUrl: access.url.split('/portal/')[0] });
      assert.equal((await portal.application.get(app.id)).name, 'Portal users');
      await expectApiError(portal.authentication.expireAll(app.id, {}), 403);
      await svix.authentication.expireAll(app.id, { expiry: 0 });
      await expectApiError(portal.application.get(app.id), 401);
      const second = new Svix((await svix.authentication.appPortalAccess(app.id, {})).token, { serverUrl: access.url.split('/portal/')[0] });
      await second.authentication.logout();
      await expectApiError(second.application.get(app.id), 401);
    }));

  test('event types: create, get, list, upsert (update and create), patch, delete (archive, then expunge)', () =>
    withEnv(async ({ svix }) => {
      const created = await svix.eventType.create({ name: 'user.created', description: 'A user signed up', schemas: exampleSchemas({ id: 1 }) });
      assert.equal(created.name, 'user.created');
      assert.equal(created.deprecated, false);
      assert.deepEqual(created.schemas, exampleSchemas({ id: 1 }));
      assert.ok(isDate(created.createdAt));
      await expectApiError(svix.eventType.create({ name: 'user.created', description: 'again' }), 409);
      assert.equal((await svix.eventType.get('user.created')).description, 'A user signed up');

      const updated = await svix.eventType.upsert('user.created', { description: 'Signed up', deprecated: true, groupName: 'users' });
      assert.equal(updated.description, 'Signed up');
      assert.equal(updated.deprecated, true);
      assert.equal(updated.groupName, 'users');
      const made = await svix.eventType.upsert('user.deleted', { description: 'Created by PUT' });
      assert.equal(made.name, 'user.deleted');
      assert.equal(made.description, 'Created by PUT');
      assert.deepEqual((await svix.eventType.list()).data.map((e) => e.name), ['user.created', 'user.deleted']);

      const patched = await svix.eventType.patch('user.created', { description: 'Registered' });
      assert.equal(patched.description, 'Registered');
      assert.equal(patched.deprecated, true, 'PATCH keeps fields not given');

      await svix.eventType.delete('user.created');
      assert.equal((await svix.eventType.get('user.created')).archived, true, 'delete archives by default');
      assert.deepEqual((await svix.eventType.list()).data.map((e) => e.name), ['user.deleted']);
      assert.deepEqual((await svix.eventType.list({ includeArchived: true })).data.map((e) => e.name), ['user.created', 'user.deleted']);
      await svix.eventType.delete('user.deleted', { expunge: true });
      await expectApiError(svix.eventType.get('user.deleted'), 404);
    }));

  test('environment export and import: the event type catalog, archived ones included; an import adds and updates, deletes nothing', () =>
    withEnv(async ({ svix }) => {
      await svix.eventType.create({ name: 'order.placed', description: 'Placed', schemas: exampleSchemas({ id: 1 }), groupName: 'orders', featureFlags: ['beta'] });
      await svix.eventType.create({ name: 'order.cancelled', description: 'Cancelled' });
      await svix.eventType.delete('order.cancelled');
      const exported = await svix.environment.export();
      assert.ok(isDate(exported.createdAt));
      assert.deepEqual([exported.settings, exported.connectors], [null, []]);
      const byName = new Map(exported.eventTypes.map((e) => [e.name, e]));
      assert.deepEqual([...byName.keys()].sort(), ['order.cancelled', 'order.placed']);
      assert.deepEqual([byName.get('order.placed')!.groupName, byName.get('order.placed')!.schemas, byName.get('order.cancelled')!.archived], ['orders', exampleSchemas({ id: 1 }), true]);

      // Another deployment's catalog: one changed, one new; what it does not name stays.
      await svix.environment.import({
        eventTypes: [
          { name: 'order.placed', description: 'An order was placed', deprecated: true },
          { name: 'order.shipped', description: 'Shipped', schemas: exampleSchemas({ id: 2 }) },
        ],
        settings: { colorPaletteLight: { primary: '#000' } },
      });
      const placed = await svix.eventType.get('order.placed');
      assert.deepEqual([placed.description, placed.deprecated, placed.schemas ?? null], ['An order was placed', true, null], 'an import sets every field, as a PUT does');
      assert.deepEqual((await svix.eventType.get('order.shipped')).schemas, exampleSchemas({ id: 2 }));
      assert.equal((await svix.eventType.get('order.cancelled')).archived, true, 'not deleted');
      // Round trip: the export imports back as it was.
      await svix.environment.import({ eventTypes: exported.eventTypes.map(({ name, description, archived, deprecated, schemas, groupName, featureFlags }) => ({ name, description, archived, deprecated, schemas, groupName, featureFlags })) });
      assert.deepEqual((await svix.eventType.get('order.placed')).schemas, exampleSchemas({ id: 1 }));
      await expectApiError(svix.environment.import({ connectors: [{ name: 'x', transformation: 'function handler() {}' } as never] }), 422);
    }));

  test('event types from an OpenAPI document (importOpenapi): YAML or JSON, a dry run, then the import; replaceAll archives the rest; the imported example is what send-example sends', () =>
    withEnv(async ({ svix, receiver }) => {
      await svix.eventType.create({ name: 'legacy.event', description: 'Not in the document' });
      await svix.eventType.create({ name: 'invoice.voided', description: 'Old text' });
      const yaml = [
        'openapi: 3.1.0',
        'info: { title: Billing, version: "1" }',
        'webhooks:',
        '  invoice.paid:',
        '    post:',
        '      description: An invoice was paid',
        '      requestBody:',
        '        content:',
        '          application/json:',
        '            schema: { $ref: "#/components/schemas/Invoice" }',
        '            example: { id: inv_1, amount: 42 }',
        '  invoice.voided:',
        '    post: { summary: An invoice was voided, deprecated: true }',
        'components:',
        '  schemas:',
        '    Invoice: { type: object, properties: { id: { type: string }, amount: { type: integer } } }',
      ].join('\n');
      const dry = await svix.eventType.importOpenapi({ specRaw: yaml, dryRun: true, replaceAll: true });
      assert.deepEqual([...dry.data.modified].sort(), ['invoice.paid', 'invoice.voided', 'legacy.event']);
      assert.deepEqual(dry.data.toModify!.map((t) => [t.name, t.description, t.deprecated]), [['invoice.paid', 'An invoice was paid', false], ['invoice.voided', 'An invoice was voided', true]]);
      await expectApiError(svix.eventType.get('invoice.paid'), 404);
      assert.equal((await svix.eventType.get('legacy.event')).archived, false, 'a dry run writes nothing');

      const done = await svix.eventType.importOpenapi({ specRaw: yaml, replaceAll: true });
      assert.deepEqual([...done.data.modified].sort(), ['invoice.paid', 'invoice.voided', 'legacy.event']);
      const paid = await svix.eventType.get('invoice.paid');
      assert.equal(paid.description, 'An invoice was paid');
      assert.deepEqual(paid.schemas, { '1': { type: 'object', properties: { id: { type: 'string' }, amount: { type: 'integer' } }, examples: [{ id: 'inv_1', amount: 42 }] } });
      assert.deepEqual([(await svix.eventType.get('invoice.voided')).deprecated, (await svix.eventType.get('legacy.event')).archived], [true, true]);
      assert.deepEqual((await svix.eventType.importOpenapi({ spec: JSON.parse(JSON.stringify({ webhooks: { 'invoice.paid': { post: { description: 'An invoice was paid', requestBody: { content: { 'application/json': { schema: paid.schemas!['1'] } } } } } } })) })).data.modified, [], 'the same again (as JSON): nothing changes');

      const app = await svix.application.create({ name: 'Billing' });
      const ep = await svix.endpoint.create(app.id, { url: `${receiver.url}/billing` });
      const example = await svix.endpoint.sendExample(app.id, ep.id, { eventType: 'invoice.paid' });
      const [sent] = (await receiver.waitFor((r) => r.some((x) => x.headers['webhook-id'] === example.id))).filter((r) => r.headers['webhook-id'] === example.id);
      assert.deepEqual(JSON.parse(sent!.body), { id: 'inv_1', amount: 42 });

      await expectApiError(svix.eventType.importOpenapi({}), 400);
      const invalid = await expectApiError(svix.eventType.importOpenapi({ specRaw: 'webhooks:\n  "bad name!": { post: {} }' }), 422);
      assert.deepEqual(invalid.body.detail[0].loc, ['body', 'specRaw', 'webhooks', 'bad name!']);
      await expectApiError(svix.eventType.importOpenapi({ specRaw: 'webhooks: [unclosed' }), 422);
      await expectApiError(svix.eventType.importOpenapi({ specRaw: 'webhooks: *nope' }), 422);
      await expectApiError(svix.eventType.importOpenapi({ specRaw: `webhooks: ${'['.repeat(200)}${']'.repeat(200)}` }), 422);
    }));
});
