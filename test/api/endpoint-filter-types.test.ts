import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiClient, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { freshDatabase, testDatabaseUrl } from '../helpers/process.js';

/**
 * An endpoint's filterTypes may only name event types of the catalog that are not archived, as in Svix
 * (svix-server `validate_event_types`): create, update (PUT) and patch answer Svix's 422 otherwise, on SQLite and
 * on PostgreSQL, and a refused request changes nothing.
 */

type Hookd = TestHookd & { cleanup: () => Promise<void> };

/** The 422 for filterTypes naming these event types, which the catalog does not have (or has archived): Svix's detail, with hookd's code. */
const missing = (...names: string[]) => ({
  code: 'validation',
  detail: [{ loc: ['body', 'filterTypes'], msg: `The following event types don't exist: ${names.join(', ')}`, type: 'value_error' }],
});

for (const adapter of ['sqlite', 'postgres'] as const) {
  describe(`endpoint filterTypes against the event-type catalog (${adapter})`, () => {
    let hookd: Hookd;
    let database: Awaited<ReturnType<typeof freshDatabase>> | null = null;
    let appId: string;
    const endpoints = () => `/api/v1/app/${appId}/endpoint`;
    const endpointIds = async (): Promise<string[]> => (await hookd.api.get(`${endpoints()}?limit=250`)).body.data.map((e: { id: string }) => e.id);

    before(async () => {
      if (adapter === 'postgres') database = await freshDatabase(testDatabaseUrl(), 'filtertypes');
      hookd = await startTestHookd(database ? { env: { DATABASE_URL: database.url } } : {});
      appId = (await hookd.api.post('/api/v1/app', { name: 'filters' })).body.id;
      await hookd.api.createEventTypes('invoice.paid', 'invoice.void', 'user.signup');
      assert.equal((await hookd.api.delete('/api/v1/event-type/invoice.void')).status, 204, 'archived');
    });
    after(async () => {
      await hookd?.cleanup();
      await database?.drop();
    });

    test('create with event types of the catalog is a 201; an unknown or archived one is a 422 in Svix words, and nothing is created', async () => {
      const before = await endpointIds();
      const unknown = await hookd.api.post(endpoints(), { url: 'https://example.com/hook', filterTypes: ['invoice.paid', 'nope.one', 'nope.two'] });
      assert.equal(unknown.status, 422);
      assert.match(unknown.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(unknown.body, missing('nope.one', 'nope.two'), 'only the missing names, in the order given');
      const archived = await hookd.api.post(endpoints(), { url: 'https://example.com/hook', filterTypes: ['invoice.void'] });
      assert.deepEqual([archived.status, archived.body], [422, missing('invoice.void')], 'an archived event type counts as missing');
      const v2 = await hookd.api.post(endpoints(), { url: 'https://example.com/hook', eventTypes: ['nope.v2'] });
      assert.deepEqual([v2.status, v2.body], [422, missing('nope.v2')], "the v2 name eventTypes is checked too; Svix's loc says filterTypes");
      assert.deepEqual(await endpointIds(), before, 'no endpoint was created');

      const known = await hookd.api.post(endpoints(), { url: 'https://example.com/hook', filterTypes: ['invoice.paid', 'user.signup'] });
      assert.equal(known.status, 201, JSON.stringify(known.body));
      assert.deepEqual(known.body.filterTypes, ['invoice.paid', 'user.signup']);
      const all = await hookd.api.post(endpoints(), { url: 'https://example.com/all', filterTypes: null });
      assert.deepEqual([all.status, all.body.filterTypes], [201, undefined], 'no filter (every event type) needs no catalog');
    });

    test('PUT: an unknown or archived event type is a 422 and leaves the endpoint as it was; an upsert by uid creates nothing', async () => {
      const created = (await hookd.api.post(endpoints(), { url: 'https://example.com/put', uid: 'put-me', description: 'before', filterTypes: ['invoice.paid'] })).body;
      const path = `${endpoints()}/${created.id}`;
      const stored = (await hookd.api.get(path)).body;
      for (const filterTypes of [['user.signup', 'nope.put'], ['invoice.void']]) {
        const refused = await hookd.api.put(path, { url: 'https://example.com/changed', description: 'after', filterTypes });
        assert.deepEqual([refused.status, refused.body], [422, missing(filterTypes[filterTypes.length - 1]!)]);
        assert.deepEqual((await hookd.api.get(path)).body, stored, 'unchanged');
      }
      const upsert = await hookd.api.put(`${endpoints()}/not-there-yet`, { url: 'https://example.com/new', filterTypes: ['nope.put'] });
      assert.deepEqual([upsert.status, upsert.body], [422, missing('nope.put')]);
      assert.equal((await hookd.api.get(`${endpoints()}/not-there-yet`)).status, 404, 'the upsert created nothing');

      const accepted = await hookd.api.put(path, { url: 'https://example.com/changed', uid: 'put-me', description: 'after', filterTypes: ['user.signup'] });
      assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
      assert.deepEqual([accepted.body.url, accepted.body.description, accepted.body.filterTypes], ['https://example.com/changed', 'after', ['user.signup']]);
    });

    test('PATCH: filterTypes given are checked (422, endpoint unchanged); a PATCH of other fields works although a type it filters on was archived since', async () => {
      await hookd.api.createEventTypes('order.shipped');
      const created = (await hookd.api.post(endpoints(), { url: 'https://example.com/patch', description: 'before', filterTypes: ['order.shipped'] })).body;
      const path = `${endpoints()}/${created.id}`;
      const stored = (await hookd.api.get(path)).body;
      for (const body of [{ description: 'after', filterTypes: ['nope.patch'] }, { eventTypes: ['invoice.void'] }]) {
        const refused = await hookd.api.patch(path, body);
        assert.deepEqual([refused.status, refused.body], [422, missing(body.filterTypes?.[0] ?? body.eventTypes![0]!)]);
        assert.deepEqual((await hookd.api.get(path)).body, stored, 'unchanged');
      }

      assert.equal((await hookd.api.delete('/api/v1/event-type/order.shipped')).status, 204);
      const other = await hookd.api.patch(path, { description: 'after' });
      assert.deepEqual([other.status, other.body.description, other.body.filterTypes], [200, 'after', ['order.shipped']], 'a filter the body does not set is not checked');
      const again = await hookd.api.patch(path, { filterTypes: ['order.shipped'] });
      assert.deepEqual([again.status, again.body], [422, missing('order.shipped')], 'setting it again is checked');
      const known = await hookd.api.patch(path, { filterTypes: ['invoice.paid'] });
      assert.deepEqual([known.status, known.body.filterTypes], [200, ['invoice.paid']]);
      const cleared = await hookd.api.patch(path, { filterTypes: null });
      assert.deepEqual([cleared.status, cleared.body.filterTypes], [200, undefined], 'null: every event type');
    });

    test('creating an archived event type again unarchives it (as the SDKs document eventType.create): 201, and endpoints may filter on it again', async () => {
      await hookd.api.createEventTypes('report.ready');
      assert.equal((await hookd.api.delete('/api/v1/event-type/report.ready')).status, 204, 'archived');
      const again = await hookd.api.post('/api/v1/event-type', { name: 'report.ready', description: 'back', schemas: null });
      assert.deepEqual([again.status, again.body.archived, again.body.description], [201, false, 'back'], JSON.stringify(again.body));
      assert.equal((await hookd.api.post(endpoints(), { url: 'https://example.com/report', filterTypes: ['report.ready'] })).status, 201);
      const live = await hookd.api.post('/api/v1/event-type', { name: 'report.ready', description: 'twice' });
      assert.equal(live.status, 409, 'a live one is a conflict');
    });

    test('an app-scoped key (what the app portal uses) gets the same 422', async () => {
      const key = await hookd.api.post('/api/v1/api-key', { name: 'filters app', appId });
      assert.equal(key.status, 201, JSON.stringify(key.body));
      const scoped = new ApiClient(hookd.url, key.body.token);
      const refused = await scoped.post(endpoints(), { url: 'https://example.com/scoped', filterTypes: ['nope.scoped'] });
      assert.deepEqual([refused.status, refused.body], [422, missing('nope.scoped')]);
      assert.equal((await scoped.post(endpoints(), { url: 'https://example.com/scoped', filterTypes: ['invoice.paid'] })).status, 201);
    });
  });
}

describe('endpoint filterTypes of the operator application', () => {
  let hookd: Hookd;
  before(async () => {
    hookd = await startTestHookd({ env: { HOOKD_OPERATIONAL_WEBHOOK_URL: 'http://127.0.0.1:9/ops', HOOKD_OPERATIONAL_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } });
  });
  after(async () => {
    await hookd?.cleanup();
  });

  test("its endpoints may filter on hookd's operational events, which are not in the catalog; other applications' may not", async () => {
    const operator = (await hookd.api.get('/api/v1/app/hookd-operator')).body.id as string;
    const events = ['message.attempt.exhausted', 'endpoint.disabled'];
    const own = await hookd.api.post(`/api/v1/app/${operator}/endpoint`, { url: 'https://example.com/ops-fanout', filterTypes: events });
    assert.equal(own.status, 201, JSON.stringify(own.body));
    const mixed = await hookd.api.post(`/api/v1/app/${operator}/endpoint`, { url: 'https://example.com/ops-fanout', filterTypes: ['endpoint.disabled', 'nope.ops'] });
    assert.deepEqual([mixed.status, mixed.body], [422, missing('nope.ops')], 'other names still need the catalog');
    const tenant = (await hookd.api.post('/api/v1/app', { name: 'tenant' })).body.id as string;
    const refused = await hookd.api.post(`/api/v1/app/${tenant}/endpoint`, { url: 'https://example.com/t', filterTypes: events });
    assert.deepEqual([refused.status, refused.body], [422, missing(...events)]);
  });
});
