import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiClient, eventually, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { rawRequest } from '../helpers/raw.js';
import { Receiver } from '../helpers/receiver.js';

/**
 * What the Svix SDKs of both generations send and read, against a real hookd: the v2 field names next to the v1
 * ones, answers the SDKs parse, upserts, Svix's status code classes, the operations added for the server spec
 * (send-example, expunge, list-attempted-messages, health ping, app-portal tokens), 405s and bounds.
 */

type Hookd = TestHookd & { cleanup: () => Promise<void> };

let hookd: Hookd;
let receiver: Receiver;
/** The fake clock's offset from real time (portal token expiry). */
let skewMs = 0;

before(async () => {
  receiver = await Receiver.start();
  hookd = await startTestHookd({ clock: () => Date.now() + skewMs, env: { HOOKD_PUBLIC_URL: 'https://hooks.example.com/' } });
});

after(async () => {
  await hookd?.cleanup();
  await receiver?.close();
});

let apps = 0;
async function newApp(): Promise<string> {
  const created = await hookd.api.post('/api/v1/app', { name: 'compat', uid: `compat-${++apps}` });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.id as string;
}

async function newEventType(name: string, schemas?: unknown): Promise<void> {
  const created = await hookd.api.post('/api/v1/event-type', { name, description: name, ...(schemas ? { schemas } : {}) });
  assert.equal(created.status, 201, JSON.stringify(created.body));
}

const deliveredTo = (path: string) => receiver.requests.filter((r) => r.path === path);

describe('v2 field names', () => {
  test('an endpoint created with eventTypes is filtered by them: it receives only those event types', async () => {
    const appId = await newApp();
    await hookd.api.createEventTypes('order.paid');
    const created = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/v2-filtered`, eventTypes: ['order.paid'], throttleRate: 7 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual([created.body.eventTypes, created.body.filterTypes], [['order.paid'], ['order.paid']], 'answered under both names');
    assert.deepEqual([created.body.throttleRate, created.body.rateLimit], [7, 7]);
    for (const eventType of ['order.refunded', 'order.paid']) {
      assert.equal((await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType, payload: { eventType } })).status, 202);
    }
    await receiver.waitFor(() => deliveredTo('/v2-filtered').length >= 1, 10_000, 'the order.paid delivery');
    // Time for a wrongly routed delivery to arrive too (the worker polls every 200 ms).
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(
      deliveredTo('/v2-filtered').map((r) => JSON.parse(r.body).eventType),
      ['order.paid'],
    );
  });

  test('PUT and PATCH take either name; null clears on PATCH; both names with different values are a 422', async () => {
    const appId = await newApp();
    await hookd.api.createEventTypes('a.b', 'c.d', 'e.f');
    const { body: ep } = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/v2`, filterTypes: ['a.b'] });
    const base = `/api/v1/app/${appId}/endpoint/${ep.id}`;
    const put = await hookd.api.put(base, { url: `${receiver.url}/v2`, eventTypes: ['c.d'], throttleRate: 3 });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual([put.body.filterTypes, put.body.rateLimit], [['c.d'], 3]);
    const patched = await hookd.api.patch(base, { eventTypes: ['e.f'], filterTypes: ['e.f'] });
    assert.deepEqual([patched.status, patched.body.eventTypes], [200, ['e.f']], 'the same value under both names is fine');
    const cleared = await hookd.api.patch(base, { eventTypes: null, throttleRate: null });
    assert.equal(cleared.status, 200);
    assert.deepEqual([cleared.body.eventTypes, cleared.body.filterTypes, cleared.body.throttleRate], [undefined, undefined, undefined]);

    for (const [method, body, loc] of [
      ['POST', { url: `${receiver.url}/x`, filterTypes: ['a.b'], eventTypes: ['c.d'] }, 'eventTypes'],
      ['PUT', { url: `${receiver.url}/x`, rateLimit: 1, throttleRate: 2 }, 'throttleRate'],
      ['PATCH', { filterTypes: ['a.b'], eventTypes: null }, 'eventTypes'],
    ] as const) {
      const response = await hookd.api.request(method, method === 'POST' ? `/api/v1/app/${appId}/endpoint` : base, body);
      assert.equal(response.status, 422, `${method}: ${JSON.stringify(response.body)}`);
      assert.deepEqual(response.body.detail[0].loc, ['body', loc]);
    }
  });

  test('applications take throttleRate for rateLimit and answer both', async () => {
    const created = await hookd.api.post('/api/v1/app', { name: 'throttled', throttleRate: 12 });
    assert.deepEqual([created.status, created.body.rateLimit, created.body.throttleRate], [201, 12, 12]);
    const patched = await hookd.api.patch(`/api/v1/app/${created.body.id}`, { throttleRate: 4 });
    assert.deepEqual([patched.body.rateLimit, patched.body.throttleRate], [4, 4]);
    const conflicting = await hookd.api.put(`/api/v1/app/${created.body.id}`, { name: 'throttled', rateLimit: 1, throttleRate: 2 });
    assert.equal(conflicting.status, 422);
  });

  test('event types take featureFlags (one flag) for featureFlag and answer both', async () => {
    const created = await hookd.api.post('/api/v1/event-type', { name: 'flagged.v2', description: 'v2', featureFlags: ['beta'] });
    assert.deepEqual([created.status, created.body.featureFlag, created.body.featureFlags], [201, 'beta', ['beta']]);
    const patched = await hookd.api.patch('/api/v1/event-type/flagged.v2', { featureFlags: [] });
    assert.deepEqual([patched.body.featureFlag, patched.body.featureFlags], [undefined, undefined]);
    const two = await hookd.api.post('/api/v1/event-type', { name: 'flagged.two', description: 'two', featureFlags: ['a', 'b'] });
    assert.equal(two.status, 422, 'hookd keeps one feature flag per event type');
    const conflicting = await hookd.api.put('/api/v1/event-type/flagged.v2', { description: 'v2', featureFlag: 'a', featureFlags: ['b'] });
    assert.equal(conflicting.status, 422);
  });

  test("an endpoint's version is a u16 as in Svix: 65535 is kept, beyond is a 422 (not 1e+23)", async () => {
    const appId = await newApp();
    const kept = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/v`, version: 65535 });
    assert.deepEqual([kept.status, kept.body.version], [201, 65535]);
    for (const version of [65536, 1e23]) {
      const refused = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/v`, version });
      assert.equal(refused.status, 422, `${version}: ${JSON.stringify(refused.body)}`);
      assert.deepEqual(refused.body.detail[0].loc, ['body', 'version']);
    }
  });
});

describe('upserts', () => {
  test('PUT to an unknown endpoint uid creates it (201), then updates it (200); an unknown ep_ id stays a 404', async () => {
    const appId = await newApp();
    await hookd.api.createEventTypes('x.y');
    const created = await hookd.api.put(`/api/v1/app/${appId}/endpoint/billing`, { url: `${receiver.url}/upsert`, eventTypes: ['x.y'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual([created.body.uid, created.body.eventTypes], ['billing', ['x.y']]);
    for (const description of ['now', 'again']) {
      const updated = await hookd.api.put(`/api/v1/app/${appId}/endpoint/billing`, { url: `${receiver.url}/upsert`, description });
      assert.deepEqual([updated.status, updated.body.id, updated.body.uid, updated.body.description], [200, created.body.id, 'billing', description], 'the uid the path names stays');
    }
    const unknownId = await hookd.api.put(`/api/v1/app/${appId}/endpoint/ep_2ZZZZZZZZZZZZZZZZZZZZZZZZZZ`, { url: `${receiver.url}/upsert` });
    assert.equal(unknownId.status, 404);
    assert.equal((await hookd.api.get(`/api/v1/app/${appId}/endpoint`)).body.data.length, 1);
  });

  test('PUT to an unknown event type creates it (201), then updates it (200)', async () => {
    const created = await hookd.api.put('/api/v1/event-type/upserted.type', { description: 'first' });
    assert.deepEqual([created.status, created.body.name, created.body.description], [201, 'upserted.type', 'first']);
    const updated = await hookd.api.put('/api/v1/event-type/upserted.type', { description: 'second' });
    assert.deepEqual([updated.status, updated.body.description], [200, 'second']);
  });
});

describe('replay-missing', () => {
  test('a disabled endpoint is a 409 that creates nothing; enabled, it gets what it missed', async () => {
    const appId = await newApp();
    await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'a.b', payload: { n: 1 } });
    const { body: ep } = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/replay-off`, disabled: true });
    const since = new Date(Date.now() - 60_000).toISOString();
    const refused = await hookd.api.post(`/api/v1/app/${appId}/endpoint/${ep.id}/replay-missing`, { since });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'conflict');
    assert.equal((await hookd.api.patch(`/api/v1/app/${appId}/endpoint/${ep.id}`, { disabled: false })).status, 200);
    const replayed = await hookd.api.post(`/api/v1/app/${appId}/endpoint/${ep.id}/replay-missing`, { since });
    assert.deepEqual([replayed.status, replayed.body.replayed, replayed.body.task, replayed.body.status], [202, 1, 'endpoint.replay', 'finished']);
  });
});

describe('message precheck (svix message.precheck)', () => {
  test('active when an enabled endpoint subscribes to the event type and a channel; nothing is stored', async () => {
    const appId = await newApp();
    await hookd.api.createEventTypes('pre.a', 'pre.b');
    await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/pre-a`, filterTypes: ['pre.a'] });
    await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/pre-c`, filterTypes: ['pre.b'], channels: ['c'] });
    await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/pre-off`, disabled: true });
    const precheck = async (body: unknown) => {
      const answer = await hookd.api.post(`/api/v1/app/${appId}/msg/precheck/active`, body);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      return answer.body.active as boolean;
    };
    assert.equal(await precheck({ eventType: 'pre.a' }), true);
    assert.equal(await precheck({ eventType: 'pre.b' }), false, 'its one endpoint listens on channel c only');
    assert.equal(await precheck({ eventType: 'pre.b', channels: ['c', 'd'] }), true);
    assert.equal(await precheck({ eventType: 'other.type' }), false, 'the endpoint without a filter is disabled');
    assert.equal((await hookd.api.get(`/api/v1/app/${appId}/msg`)).body.data.length, 0, 'nothing stored');
    const invalid = await hookd.api.post(`/api/v1/app/${appId}/msg/precheck/active`, { eventType: 'has space' });
    assert.equal(invalid.status, 422);
    assert.equal((await hookd.api.post('/api/v1/app/app_unknown/msg/precheck/active', { eventType: 'pre.a' })).status, 404);
  });
});

describe('answers the SDKs parse', () => {
  test('resend answers 202 {}', async () => {
    const appId = await newApp();
    const { body: ep } = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/resend` });
    const { body: msg } = await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'a.b', payload: {} });
    const resent = await hookd.api.post(`/api/v1/app/${appId}/msg/${msg.id}/endpoint/${ep.id}/resend`);
    assert.deepEqual([resent.status, resent.body], [202, {}]);
  });

  test("status_code_class takes Svix's values (0, 100 ... 500) and refuses the old 1..5", async () => {
    const appId = await newApp();
    const usual = receiver.responder;
    receiver.responder = (request, response) => {
      response.writeHead(request.path === '/class-500' ? 500 : 200).end('ok');
    };
    try {
      const ok = (await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/class-200` })).body;
      await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/class-500` });
      const { body: msg } = await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'a.b', payload: {} });
      await eventually(async () => (await hookd.api.get(`/api/v1/app/${appId}/attempt/msg/${msg.id}`)).body.data.length >= 2, 10_000, 'both attempts');
      const codes = async (query: string) => {
        const response = await hookd.api.get(`/api/v1/app/${appId}/attempt/msg/${msg.id}?${query}`);
        assert.equal(response.status, 200, `${query}: ${JSON.stringify(response.body)}`);
        return response.body.data.map((a: { responseStatusCode: number }) => a.responseStatusCode);
      };
      assert.deepEqual(await codes('status_code_class=200'), [200]);
      const failed = await codes('status_code_class=500');
      assert.ok(failed.length >= 1 && failed.every((code: number) => code === 500), `5xx attempts only: ${failed}`);
      assert.deepEqual(await codes('status_code_class=400'), []);
      assert.deepEqual(await codes('status_code_class=0'), []);
      assert.deepEqual(await codes(`status_code_class=200&endpoint_id=${ok.id}`), [200]);
      assert.equal((await hookd.api.get(`/api/v1/app/${appId}/attempt/msg/${msg.id}?status_code_class=2`)).status, 422);
    } finally {
      receiver.responder = usual;
    }
  });

  test('a path answers 405 with an Allow header for a method it does not serve; an unknown path stays a 404', async () => {
    const appId = await newApp();
    const wrong = await hookd.api.request('POST', `/api/v1/app/${appId}/endpoint/ep_x/secret`, {});
    assert.equal(wrong.status, 405);
    assert.deepEqual(wrong.body.code, 'method_not_allowed');
    assert.equal(wrong.headers.get('allow'), 'GET, HEAD');
    const health = await rawRequest(hookd.url, 'DELETE', '/health', { token: null });
    assert.deepEqual([health.status, health.headers.get('allow')], [405, 'GET, HEAD']);
    assert.equal((await hookd.api.request('PATCH', '/api/v1/event-type', {})).headers.get('allow'), 'GET, HEAD, POST');
    const anonymous = await rawRequest(hookd.url, 'PUT', '/api/v1/app', { token: null });
    assert.equal(anonymous.status, 401, 'the API reveals nothing to a caller without a token');
    assert.equal((await hookd.api.request('GET', '/api/v1/no-such-thing')).status, 404);
  });

  test('GET /api/v1/health/ping answers 204 without a token', async () => {
    const ping = await rawRequest(hookd.url, 'GET', '/api/v1/health/ping', { token: null });
    assert.deepEqual([ping.status, ping.text], [204, '']);
  });
});

describe('operations added for the server spec', () => {
  test("send-example delivers the event type's example to that endpoint only; svix.ping needs no schema; no example is a 400", async () => {
    const appId = await newApp();
    await newEventType('example.sent', { '1': { type: 'object', examples: [{ first: true }, { second: true }] } });
    await newEventType('example.none');
    await newEventType('something.else');
    const target = (await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/example-target`, eventTypes: ['something.else'] })).body;
    await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/example-other` });
    const base = `/api/v1/app/${appId}/endpoint/${target.id}/send-example`;

    const sent = await hookd.api.post(base, { eventType: 'example.sent', exampleIndex: 1 });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    assert.deepEqual([sent.body.eventType, sent.body.payload], ['example.sent', { second: true }]);
    const ping = await hookd.api.post(base, { eventType: 'svix.ping' });
    assert.deepEqual([ping.status, ping.body.payload], [200, { success: true }]);
    await receiver.waitFor(() => deliveredTo('/example-target').length >= 2, 10_000, 'both examples');
    assert.deepEqual(deliveredTo('/example-target').map((r) => JSON.parse(r.body)).sort((x, y) => Object.keys(x)[0]!.localeCompare(Object.keys(y)[0]!)), [{ second: true }, { success: true }]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(deliveredTo('/example-other').length, 0, 'the other endpoint gets nothing, although it takes every event type');

    const none = await hookd.api.post(base, { eventType: 'example.none' });
    assert.equal(none.status, 400, JSON.stringify(none.body));
    assert.equal((await hookd.api.post(base, { eventType: 'example.missing' })).status, 404);
  });

  test("GET .../endpoint/{id}/msg lists the endpoint's messages with their delivery status", async () => {
    const appId = await newApp();
    const ep = (await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/listed` })).body;
    const first = (await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'list.a', payload: { n: 1 }, channels: ['eu'] })).body;
    const second = (await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'list.b', payload: { n: 2 } })).body;
    const list = async (query = '') => (await hookd.api.get(`/api/v1/app/${appId}/endpoint/${ep.id}/msg${query}`)).body;
    const all = await eventually(async () => {
      const page = await list();
      return page.data.every((m: { statusText: string }) => m.statusText === 'success') && page.data.length === 2 ? page : null;
    }, 10_000, 'both delivered');
    assert.deepEqual(all.data.map((m: { id: string; status: number; payload: unknown }) => [m.id, m.status, m.payload]), [
      [second.id, 0, { n: 2 }],
      [first.id, 0, { n: 1 }],
    ]);
    assert.deepEqual((await list('?channel=eu')).data.map((m: { id: string }) => m.id), [first.id]);
    assert.deepEqual((await list('?event_types=list.b&with_content=false')).data.map((m: { payload: unknown }) => m.payload), [{}]);
    assert.deepEqual((await list('?status=2')).data, []);

    // Payloads are answered byte for byte, as the message routes answer them (no rounding of 1.0 or big integers).
    const exact = '{"amount":1.0,"id":12345678901234567890,"text":"caf\\u00e9"}';
    const sent = await hookd.api.request('POST', `/api/v1/app/${appId}/msg`, `{"eventType":"list.exact","payload":${exact}}`);
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const text = (await rawRequest(hookd.url, 'GET', `/api/v1/app/${appId}/endpoint/${ep.id}/msg?event_types=list.exact`)).text;
    assert.ok(text.includes(`"payload":${exact}`), text);
  });

  test('expunging a message keeps its record but not its payload; it is never resent; an attempt expunge blanks the response', async () => {
    const appId = await newApp();
    const ep = (await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/expunge` })).body;
    const msg = (await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'secret.sent', eventId: 'oops', payload: { card: '4242' } })).body;
    const attempt = await eventually(async () => (await hookd.api.get(`/api/v1/app/${appId}/attempt/msg/${msg.id}`)).body.data[0], 10_000, 'the attempt');

    const expunged = await hookd.api.delete(`/api/v1/app/${appId}/msg/oops/content`);
    assert.deepEqual([expunged.status, expunged.body], [204, null]);
    assert.deepEqual((await hookd.api.get(`/api/v1/app/${appId}/msg/${msg.id}`)).body.payload, { expired: true });
    const resend = await hookd.api.post(`/api/v1/app/${appId}/msg/${msg.id}/endpoint/${ep.id}/resend`);
    assert.deepEqual([resend.status, resend.body.code], [400, 'missing_payload']);

    const blanked = await hookd.api.delete(`/api/v1/app/${appId}/msg/${msg.id}/attempt/${attempt.id}/content`);
    assert.equal(blanked.status, 204);
    assert.equal((await hookd.api.get(`/api/v1/app/${appId}/msg/${msg.id}/attempt/${attempt.id}`)).body.response, 'EXPUNGED');
    assert.equal((await hookd.api.delete(`/api/v1/app/${appId}/msg/${msg.id}/attempt/atmpt_2ZZZZZZZZZZZZZZZZZZZZZZZZZZ/content`)).status, 404);
    assert.equal((await hookd.api.delete(`/api/v1/app/${appId}/msg/no-such-message/content`)).status, 404);
  });
});

describe('app-portal tokens', () => {
  const access = (appId: string, body: unknown = {}) => hookd.api.post(`/api/v1/auth/app-portal-access/${appId}`, body);

  test('a token is scoped to its application, and the url points at the portal under HOOKD_PUBLIC_URL', async () => {
    const appId = await newApp();
    const other = await newApp();
    const granted = await access(appId);
    assert.equal(granted.status, 200, JSON.stringify(granted.body));
    assert.equal(granted.body.url, `https://hooks.example.com/portal/#token=${encodeURIComponent(granted.body.token)}`);
    const portal = new ApiClient(hookd.url, granted.body.token);
    assert.equal((await portal.get(`/api/v1/app/${appId}`)).status, 200);
    assert.equal((await portal.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/portal` })).status, 201, 'not read-only: it may write');
    assert.equal((await portal.get(`/api/v1/app/${other}`)).status, 404);
    assert.equal((await portal.post(`/api/v1/auth/app-portal-access/${appId}`, {})).status, 403, 'a portal token is no admin key');
    const keys = (await hookd.api.get('/api/v1/api-key')).body.data as { appId: string; expiresAt: string | null; readOnly: boolean }[];
    const listed = keys.find((k) => k.appId === appId)!;
    assert.ok(listed.expiresAt && Math.abs(Date.parse(listed.expiresAt) - (Date.now() + 7 * 86_400_000)) < 60_000, 'valid for 7 days by default');
    assert.equal(listed.readOnly, false);
  });

  test('a read-only token may read but not write; readOnly capabilities make one too', async () => {
    const appId = await newApp();
    for (const body of [{ readOnly: true }, { capabilities: ['ViewBase', 'ViewEndpointSecret'] }]) {
      const portal = new ApiClient(hookd.url, (await access(appId, body)).body.token);
      assert.equal((await portal.get(`/api/v1/app/${appId}/endpoint`)).status, 200, JSON.stringify(body));
      const write = await portal.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/ro` });
      assert.deepEqual([write.status, write.body.code], [403, 'insufficient_access'], JSON.stringify(body));
    }
    const writer = new ApiClient(hookd.url, (await access(appId, { capabilities: ['ViewBase', 'ManageEndpoint'] })).body.token);
    assert.equal((await writer.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/rw` })).status, 201);
  });

  test('each capability is enforced per route: a token does what its capabilities name and nothing else', async () => {
    const appId = await newApp();
    const endpoint = (await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/caps` })).body.id as string;
    const msg = (await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'caps.test', payload: {} })).body.id as string;
    const ep = `/api/v1/app/${appId}/endpoint/${endpoint}`;
    const requests: Record<string, (c: ApiClient) => Promise<{ status: number; body: any }>> = {
      read: (c) => c.get(`/api/v1/app/${appId}/endpoint`),
      readSecret: (c) => c.get(`${ep}/secret`),
      rotate: (c) => c.post(`${ep}/secret/rotate`, {}),
      resend: (c) => c.post(`/api/v1/app/${appId}/msg/${msg}/endpoint/${endpoint}/resend`, {}),
      recover: (c) => c.post(`${ep}/recover`, { since: new Date(Date.now() - 60_000).toISOString() }),
      replay: (c) => c.post(`${ep}/replay-missing`, { since: new Date(Date.now() - 60_000).toISOString() }),
      createEndpoint: (c) => c.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/caps-new` }),
      patchEndpoint: (c) => c.patch(ep, { description: 'changed' }),
      headers: (c) => c.patch(`${ep}/headers`, { headers: { 'x-caps': '1' } }),
      sendMessage: (c) => c.post(`/api/v1/app/${appId}/msg`, { eventType: 'caps.test', payload: {} }),
      patchApp: (c) => c.patch(`/api/v1/app/${appId}`, { name: 'renamed' }),
    };
    const cases: [string[], string[]][] = [
      [['ViewBase'], ['read']],
      [['ViewBase', 'ViewEndpointSecret'], ['read', 'readSecret']],
      [['ViewBase', 'ManageEndpointSecret'], ['read', 'readSecret', 'rotate']],
      [['ViewBase', 'CreateAttempts'], ['read', 'resend', 'recover', 'replay']],
      // As in Svix, managing endpoints includes their secrets: a PATCH may set one, so rotating it is no more.
      [['ViewBase', 'ManageEndpoint'], ['read', 'readSecret', 'rotate', 'createEndpoint', 'patchEndpoint', 'headers']],
      [['ManageEndpoint'], ['readSecret', 'rotate', 'createEndpoint', 'patchEndpoint', 'headers']],
      [['ViewBase', 'ManageTransformations'], ['read']],
    ];
    for (const [capabilities, allowed] of cases) {
      const granted = await access(appId, { capabilities });
      assert.equal(granted.status, 200, JSON.stringify(granted.body));
      const token = new ApiClient(hookd.url, granted.body.token);
      const session = await token.get('/api/v1/auth/app-portal-session');
      const implied: Record<string, string[]> = { ManageEndpointSecret: ['ViewEndpointSecret'], ManageEndpoint: ['ManageEndpointSecret', 'ViewEndpointSecret'] };
      const included = [...new Set(capabilities.flatMap((c) => [c, ...(implied[c] ?? [])]))];
      assert.deepEqual([session.status, session.body.capabilities], [200, included], 'the portal is told what the token may do, what its capabilities include too');
      for (const [name, request] of Object.entries(requests)) {
        const response = await request(token);
        const what = `${capabilities.join('+')} ${name}: ${response.status} ${JSON.stringify(response.body)}`;
        if (allowed.includes(name)) assert.ok(response.status >= 200 && response.status < 300, what);
        else assert.deepEqual([response.status, response.body.code], [403, 'insufficient_access'], what);
      }
      assert.equal((await token.post('/api/v1/auth/logout')).status, 204, 'every token may end itself');
    }
    const keys = (await hookd.api.get('/api/v1/api-key')).body.data as { appId: string; capabilities: string[] | null }[];
    assert.ok(keys.some((k) => k.appId === appId && JSON.stringify(k.capabilities) === '["ViewBase","CreateAttempts"]'), 'the key list shows them');
    // Asked for without capabilities, as in Svix: all of them, and so no more than they grant.
    const all = new ApiClient(hookd.url, (await access(appId)).body.token);
    assert.equal((await all.get('/api/v1/auth/app-portal-session')).body.capabilities.length, 6, 'a token asked for without capabilities has all');
    for (const [name, request] of Object.entries(requests)) {
      const response = await request(all);
      const what = `no capabilities asked for, ${name}: ${response.status} ${JSON.stringify(response.body)}`;
      if (name === 'sendMessage' || name === 'patchApp') assert.deepEqual([response.status, response.body.code], [403, 'insufficient_access'], what);
      else assert.ok(response.status >= 200 && response.status < 300, what);
    }
  });

  test('an expired token gets 401; expiry is bounded to 1 hour .. 7 days', async () => {
    const appId = await newApp();
    const portal = new ApiClient(hookd.url, (await access(appId, { expiry: 3600 })).body.token);
    assert.equal((await portal.get(`/api/v1/app/${appId}`)).status, 200);
    skewMs = 3600_000;
    try {
      const expired = await portal.get(`/api/v1/app/${appId}`);
      assert.deepEqual([expired.status, expired.body.code], [401, 'authentication_failed']);
    } finally {
      skewMs = 0;
    }
    assert.equal((await access(appId, { expiry: 60 })).status, 422);
    assert.equal((await access(appId, { expiry: 8 * 86400 })).status, 422);
  });

  test("expire-all: every portal token of the application expires (at once, or after expiry); other applications' tokens and API keys keep working", async () => {
    const appId = await newApp();
    const otherApp = await newApp();
    const portal = new ApiClient(hookd.url, (await access(appId)).body.token);
    const readOnly = new ApiClient(hookd.url, (await access(appId, { readOnly: true })).body.token);
    const neighbour = new ApiClient(hookd.url, (await access(otherApp)).body.token);
    const scoped = new ApiClient(hookd.url, (await hookd.api.post('/api/v1/api-key', { name: 'scoped to the app', appId })).body.token);
    for (const c of [portal, readOnly, neighbour, scoped]) assert.equal((await c.get(`/api/v1/app/${c === neighbour ? otherApp : appId}`)).status, 200);

    // Later: the tokens keep working until then.
    const later = await hookd.api.post(`/api/v1/auth/app/${appId}/expire-all`, { expiry: 3600 });
    assert.deepEqual([later.status, later.body], [204, null]);
    const session = await portal.get('/api/v1/auth/app-portal-session');
    assert.equal(session.status, 200);
    assert.ok(Math.abs(Date.parse(session.body.expiresAt) - (Date.now() + 3600_000)) < 60_000, `expires in an hour: ${session.body.expiresAt}`);

    // At once (no body): refused from the next request on, in this process without waiting for the key cache.
    assert.equal((await hookd.api.post(`/api/v1/auth/app/${appId}/expire-all`)).status, 204);
    for (const c of [portal, readOnly]) {
      const refused = await c.get(`/api/v1/app/${appId}`);
      assert.deepEqual([refused.status, refused.body.detail], [401, 'the token has expired']);
    }
    assert.equal((await neighbour.get(`/api/v1/app/${otherApp}`)).status, 200, "another application's token is untouched");
    assert.equal((await scoped.get(`/api/v1/app/${appId}`)).status, 200, 'an API key scoped to the application is untouched');
    // An expiry later than a token's own does not lengthen it.
    const fresh = new ApiClient(hookd.url, (await access(appId, { expiry: 3600 })).body.token);
    assert.equal((await hookd.api.post(`/api/v1/auth/app/${appId}/expire-all`, { expiry: 7 * 86400 })).status, 204);
    const kept = await fresh.get('/api/v1/auth/app-portal-session');
    assert.ok(Date.parse(kept.body.expiresAt) <= Date.now() + 3600_000, `kept its own hour: ${kept.body.expiresAt}`);

    // Bad input and access.
    const bySession = await hookd.api.post(`/api/v1/auth/app/${appId}/expire-all`, { sessionIds: ['s1'] });
    assert.deepEqual([bySession.status, bySession.body.code, bySession.body.detail[0].loc], [422, 'validation', ['body', 'sessionIds']]);
    assert.equal((await hookd.api.post(`/api/v1/auth/app/${appId}/expire-all`, { expiry: -1 })).status, 422);
    assert.equal((await hookd.api.post('/api/v1/auth/app/app_2ZZZZZZZZZZZZZZZZZZZZZZZZZZ/expire-all')).status, 404);
    const byToken = await fresh.post(`/api/v1/auth/app/${appId}/expire-all`);
    assert.deepEqual([byToken.status, byToken.body.code], [403, 'insufficient_access'], 'a portal token cannot end the sessions of others');
    assert.equal((await fresh.get(`/api/v1/app/${appId}`)).status, 200);
  });

  test('logout ends the presenting portal token (a read-only one too); an API key cannot log out', async () => {
    const appId = await newApp();
    const portal = new ApiClient(hookd.url, (await access(appId, { readOnly: true })).body.token);
    const out = await portal.post('/api/v1/auth/logout');
    assert.deepEqual([out.status, out.body], [204, null]);
    assert.equal((await portal.get(`/api/v1/app/${appId}`)).status, 401);
    const admin = await hookd.api.post('/api/v1/auth/logout');
    assert.deepEqual([admin.status, admin.body.code], [403, 'insufficient_access']);
    assert.equal((await hookd.api.get('/api/v1/app')).status, 200, 'the admin key still works');
  });

  test('an application that does not exist is created from `application`, with the path as its uid', async () => {
    const created = await access('portal-created', { application: { name: 'Portal Co' } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal((await hookd.api.get('/api/v1/app/portal-created')).body.name, 'Portal Co');
    assert.equal((await access('portal-missing')).status, 404);
    assert.equal((await access('portal-mismatch', { application: { name: 'x', uid: 'other-uid' } })).status, 422);
  });
});
