import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { ApiClient, TEST_TOKEN, eventually, startTestHookd, tempDir, type ApiResponse, type TestHookd } from '../helpers/hookd.js';
import { Receiver } from '../helpers/receiver.js';
import { apiRoutes, fillPath, type ApiRoute } from '../helpers/routes.js';

/**
 * API keys against a real hookd: a key scoped to application A is walked over EVERY documented operation
 * (taken from hookd's own OpenAPI document, so a route added later is walked too) on application B's
 * resources, and must neither read nor change anything of B. Plus the key lifecycle: shown once, stored as a
 * SHA-256 only, revocable, and the last admin key kept.
 */

type Hookd = TestHookd & { cleanup: () => Promise<void> };

/** One application with one of everything, and a key scoped to it. */
interface Tenant {
  name: string;
  appId: string;
  appUid: string;
  endpointId: string;
  endpointUid: string;
  msgId: string;
  eventId: string;
  attemptId: string;
  keyId: string;
  /** An inbound source (sources have no uid: named by id both ways). */
  sourceId: string;
  /** A recovery's background task. */
  taskId: string;
  client: ApiClient;
}

const EVENT_TYPE = 'invoice.paid';
/** Path params that name something inside an application (filled from a tenant). */
const APP_PARAMS = ['app_id', 'endpoint_id', 'msg_id', 'attempt_id', 'source_id'] as const;
/** Path params of routes outside any application. */
const GLOBAL_PARAMS = ['event_type_name', 'key_id', 'task_id'] as const;
const WRITES = new Set(['POST', 'PUT', 'PATCH']);

/**
 * How a key scoped to A may use each route without an app in its path. A route missing here fails the walk:
 * whoever adds one decides what a scoped key may do with it.
 */
const NON_APP_ROUTES: Record<string, 'public' | 'readable' | 'own' | 'admin' | 'signed' | 'portal'> = {
  'GET /health': 'public',
  'GET /ready': 'public',
  'GET /api/v1/health': 'public',
  'GET /api/v1/health/ping': 'public',
  // Only an app-portal token logs out (itself); an API key is refused.
  'POST /api/v1/auth/logout': 'portal',
  // Whose token this is (the app portal asks it first): a scoped key's own application.
  'GET /api/v1/auth/app-portal-session': 'readable',
  'GET /api/v1/app': 'readable',
  // Background tasks are listed across applications: a scoped key sees its own application's, and B's task answers
  // as one that does not exist.
  'GET /api/v1/background-task': 'readable',
  'GET /api/v1/background-task/{task_id}': 'own',
  'POST /api/v1/app': 'admin',
  'GET /api/v1/event-type': 'readable',
  'GET /api/v1/event-type/{event_type_name}': 'readable',
  'POST /api/v1/event-type': 'admin',
  'POST /api/v1/event-type/import/openapi': 'admin',
  'POST /api/v1/environment/export': 'admin',
  'POST /api/v1/environment/import': 'admin',
  'PUT /api/v1/event-type/{event_type_name}': 'admin',
  'PATCH /api/v1/event-type/{event_type_name}': 'admin',
  'DELETE /api/v1/event-type/{event_type_name}': 'admin',
  'GET /api/v1/api-key': 'admin',
  // The operator application's endpoints (operational webhooks).
  'GET /api/v1/operational-webhook/endpoint': 'admin',
  'POST /api/v1/operational-webhook/endpoint': 'admin',
  'GET /api/v1/operational-webhook/endpoint/{endpoint_id}': 'admin',
  'PUT /api/v1/operational-webhook/endpoint/{endpoint_id}': 'admin',
  'DELETE /api/v1/operational-webhook/endpoint/{endpoint_id}': 'admin',
  'GET /api/v1/operational-webhook/endpoint/{endpoint_id}/secret': 'admin',
  'POST /api/v1/operational-webhook/endpoint/{endpoint_id}/secret/rotate': 'admin',
  'GET /api/v1/operational-webhook/endpoint/{endpoint_id}/headers': 'admin',
  'PUT /api/v1/operational-webhook/endpoint/{endpoint_id}/headers': 'admin',
  'POST /api/v1/api-key': 'admin',
  'DELETE /api/v1/api-key/{key_id}': 'admin',
  // Inbound sources: no bearer auth, the sender's signature is the auth; any bearer token is ignored.
  'POST /ingest/{source_id}': 'signed',
};
/** PUTs that create what their path names by uid when it does not exist (Svix's upserts). */
const UPSERT_ROUTES = new Set(['PUT /api/v1/app/{app_id}/endpoint/{endpoint_id}']);
/** Routes with an app in the path that need an admin key even on the key's own app. */
const ADMIN_ONLY_APP_ROUTES = new Set(['DELETE /api/v1/app/{app_id}', 'POST /api/v1/auth/app-portal-access/{app_id}', 'POST /api/v1/auth/dashboard-access/{app_id}', 'POST /api/v1/auth/app/{app_id}/expire-all']);

let hookd: Hookd;
let receiver: Receiver;
let a: Tenant;
let b: Tenant;

const routeKey = (route: ApiRoute): string => `${route.method} ${route.path}`;

/**
 * A valid body for every write, so that a refusal comes from scoping and never from validation (schema
 * validation runs before the handler: an invalid body would answer 422, not 403/404). A write missing here
 * fails the walk.
 */
function bodyFor(route: ApiRoute, t: Tenant): unknown {
  const ep = '/api/v1/app/{app_id}/endpoint/{endpoint_id}';
  const bodies: Record<string, () => unknown> = {
    'POST /api/v1/app': () => ({ name: 'created by walk', uid: 'walk-created' }),
    'PUT /api/v1/app/{app_id}': () => ({ name: 'put by walk', uid: t.appUid }),
    'PATCH /api/v1/app/{app_id}': () => ({ name: 'patched by walk' }),
    'POST /api/v1/app/{app_id}/endpoint': () => ({ url: `${receiver.url}/walk`, headers: { 'x-walk': 'created' } }),
    [`PUT ${ep}`]: () => ({ url: `${receiver.url}/${t.name}`, uid: t.endpointUid, description: 'put by walk' }),
    [`PATCH ${ep}`]: () => ({ description: 'patched by walk', disabled: false }),
    [`POST ${ep}/secret/rotate`]: () => ({ gracePeriodSeconds: 0 }),
    [`PUT ${ep}/headers`]: () => ({ headers: { 'x-walk': 'put', authorization: 'Bearer walk' } }),
    [`PATCH ${ep}/headers`]: () => ({ headers: { 'x-walk': 'patched', authorization: null } }),
    [`POST ${ep}/recover`]: () => ({ since: new Date(0).toISOString() }),
    [`POST ${ep}/replay-missing`]: () => ({ since: new Date(0).toISOString() }),
    [`POST ${ep}/bulk-replay`]: () => ({ since: new Date(0).toISOString(), status: 0 }),
    'POST /api/v1/app/{app_id}/msg/expunge-all-contents': () => undefined,
    'POST /api/v1/app/{app_id}/msg/bulk-expunge': () => ({ ids: [t.msgId] }),
    [`POST ${ep}/send-example`]: () => ({ eventType: 'svix.ping' }),
    'POST /api/v1/auth/app-portal-access/{app_id}': () => ({ expiry: 3600 }),
    'POST /api/v1/auth/dashboard-access/{app_id}': () => undefined,
    'POST /api/v1/auth/app/{app_id}/expire-all': () => ({ expiry: 3600 }),
    'POST /api/v1/auth/logout': () => undefined,
    'POST /api/v1/app/{app_id}/msg': () => ({ eventType: EVENT_TYPE, payload: { walk: true } }),
    'POST /api/v1/app/{app_id}/msg/precheck/active': () => ({ eventType: EVENT_TYPE }),
    'POST /api/v1/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend': () => ({}),
    'POST /api/v1/event-type': () => ({ name: 'walk.created', description: 'created by walk' }),
    'PUT /api/v1/event-type/{event_type_name}': () => ({ description: 'put by walk', archived: true }),
    'PATCH /api/v1/event-type/{event_type_name}': () => ({ description: 'patched by walk' }),
    'POST /api/v1/api-key': () => ({ name: 'created by walk', appId: t.appId }),
    'POST /api/v1/environment/export': () => undefined,
    'POST /api/v1/environment/import': () => ({ eventTypes: [{ name: 'walk.environment', description: 'imported by walk' }] }),
    'POST /api/v1/event-type/import/openapi': () => ({ spec: { webhooks: { 'walk.imported': { post: { description: 'imported by walk' } } } } }),
    'POST /api/v1/operational-webhook/endpoint': () => ({ url: `${receiver.url}/ops` }),
    'PUT /api/v1/operational-webhook/endpoint/{endpoint_id}': () => ({ url: `${receiver.url}/ops` }),
    'POST /api/v1/operational-webhook/endpoint/{endpoint_id}/secret/rotate': () => ({}),
    'PUT /api/v1/operational-webhook/endpoint/{endpoint_id}/headers': () => ({ headers: { 'x-walk': 'ops' } }),
    // Inbound sources.
    'POST /api/v1/app/{app_id}/source': () => ({ name: 'created by walk', verification: { scheme: 'api-key', secret: `walk-key-of-${t.name}-0123456789` }, eventType: { default: EVENT_TYPE } }),
    'PUT /api/v1/app/{app_id}/source/{source_id}': () => ({ name: 'put by walk', verification: { scheme: 'api-key' }, eventType: { header: 'x-walk-event' } }),
    'PATCH /api/v1/app/{app_id}/source/{source_id}': () => ({ name: 'patched by walk', channels: ['walk'] }),
    'POST /ingest/{source_id}': () => ({ walk: true }),
  };
  if (!WRITES.has(route.method)) return undefined;
  const body = bodies[routeKey(route)];
  assert.ok(body, `no valid body known for ${routeKey(route)}: add one to bodyFor`);
  return body();
}

/** The path params of a tenant's resources, named by id or by uid (message: eventId). */
function paramsOf(t: Tenant, by: 'id' | 'uid'): Record<string, string> {
  return by === 'id'
    ? { app_id: t.appId, endpoint_id: t.endpointId, msg_id: t.msgId, attempt_id: t.attemptId, source_id: t.sourceId }
    : { app_id: t.appUid, endpoint_id: t.endpointUid, msg_id: t.eventId, attempt_id: t.attemptId, source_id: t.sourceId };
}

/** Params naming nothing that exists: what "B's resources" must be indistinguishable from. */
const NOWHERE = {
  app_id: 'no-such-app',
  endpoint_id: 'no-such-endpoint',
  msg_id: 'no-such-message',
  attempt_id: 'atmpt_2zzzzzzzzzzzzzzzzzzzzzzzzzz',
  source_id: 'src_2zzzzzzzzzzzzzzzzzzzzzzzzzz',
};

function assertKnownParams(route: ApiRoute): void {
  const known: readonly string[] = [...APP_PARAMS, ...GLOBAL_PARAMS];
  for (const param of route.params) assert.ok(known.includes(param), `${routeKey(route)}: the walk does not know how to fill {${param}}`);
}

function call(client: ApiClient, route: ApiRoute, params: Record<string, string>, body: unknown): Promise<ApiResponse> {
  return client.request(route.method, fillPath(route, params), body);
}

const show = (route: ApiRoute, r: ApiResponse): string => `${routeKey(route)} -> ${r.status} ${JSON.stringify(r.body)}`;

/** A JSON `{code, detail}` refusal: 404, or 403 for admin-only operations. Never 2xx. */
function assertRefused(route: ApiRoute, r: ApiResponse, statuses: number[] = [403, 404]): void {
  assert.ok(statuses.includes(r.status), `expected ${statuses.join(' or ')}: ${show(route, r)}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/, show(route, r));
  assert.equal(typeof r.body?.code, 'string', show(route, r));
  assert.equal(typeof r.body?.detail, 'string', show(route, r));
}

/** Nothing that names B appears in an answer given to A's key. */
function assertNoTraceOf(t: Tenant, route: ApiRoute, r: ApiResponse): void {
  const text = JSON.stringify(r.body) ?? '';
  for (const value of [t.appId, t.appUid, t.endpointId, t.endpointUid, t.msgId, t.eventId, t.attemptId, t.keyId, t.sourceId, t.taskId, `${receiver.url}/${t.name}`]) {
    assert.ok(!text.includes(value), `${routeKey(route)} shows ${value} of ${t.name}: ${text}`);
  }
}

/** The raw text of an admin GET: snapshots compare bytes, not parsed values. */
async function adminText(path: string): Promise<string> {
  const response = await fetch(`${hookd.url}${path}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  const text = await response.text();
  assert.equal(response.status, 200, `${path}: ${text}`);
  return text;
}

/**
 * Everything of tenant `t` an admin can see (app, endpoints with headers and secret, messages, attempts,
 * delivery status), the global event types and API keys, and the database rows behind them (which also hold
 * what the API never echoes: sensitive header values, old secrets, delivery schedules).
 */
async function snapshot(t: Tenant): Promise<Record<string, string>> {
  const app = `/api/v1/app/${t.appId}`;
  const shot: Record<string, string> = {};
  const take = async (path: string) => (shot[path] = await adminText(path));
  await take(app);
  for (const e of JSON.parse(await take(`${app}/endpoint?limit=250`)).data as { id: string }[]) {
    for (const suffix of ['', '/secret', '/headers']) await take(`${app}/endpoint/${e.id}${suffix}`);
    await take(`${app}/attempt/endpoint/${e.id}?limit=250`);
  }
  for (const m of JSON.parse(await take(`${app}/msg?limit=250`)).data as { id: string }[]) {
    await take(`${app}/msg/${m.id}`);
    await take(`${app}/attempt/msg/${m.id}?limit=250`);
    await take(`${app}/msg/${m.id}/endpoint`);
  }
  for (const e of JSON.parse(await take('/api/v1/event-type?include_archived=true&limit=250')).data as { name: string }[]) {
    await take(`/api/v1/event-type/${e.name}`);
  }
  await take('/api/v1/api-key');
  await take(`/api/v1/background-task/${t.taskId}`);
  for (const s of JSON.parse(await take(`${app}/source?limit=250`)).data as { id: string }[]) await take(`${app}/source/${s.id}`);
  const db = new Database(hookd.dbPath, { readonly: true, fileMustExist: true });
  try {
    for (const table of ['app', 'endpoint', 'message', 'delivery', 'attempt', 'source', 'background_task']) {
      const column = table === 'app' ? 'id' : 'app_id';
      shot[`db ${table}`] = JSON.stringify(db.prepare(`SELECT * FROM ${table} WHERE ${column} = ? ORDER BY id`).all(t.appId));
    }
    shot['db event_type'] = JSON.stringify(db.prepare('SELECT * FROM event_type ORDER BY name').all());
    shot['db api_key'] = JSON.stringify(db.prepare('SELECT * FROM api_key ORDER BY id').all());
  } finally {
    db.close();
  }
  return shot;
}

/** A's key on B's resources answers exactly as for resources that do not exist, and never 2xx. */
async function checkAppRouteOnB(route: ApiRoute): Promise<void> {
  const missing = await call(a.client, route, NOWHERE, bodyFor(route, b));
  assertRefused(route, missing);
  for (const by of ['id', 'uid'] as const) {
    const response = await call(a.client, route, paramsOf(b, by), bodyFor(route, b));
    assertRefused(route, response);
    // Not even whether B's resource exists is revealed.
    assert.deepEqual([response.status, response.body], [missing.status, missing.body], `by ${by}: B's resource answers unlike a missing one`);
  }
}

/** A route outside any application, with A's key: as NON_APP_ROUTES says, and nothing of B in a 2xx. */
async function checkNonAppRoute(route: ApiRoute): Promise<void> {
  const expected = NON_APP_ROUTES[routeKey(route)];
  assert.ok(expected, 'no app in its path: classify it in NON_APP_ROUTES');
  const response = await call(a.client, route, { event_type_name: EVENT_TYPE, key_id: b.keyId, source_id: b.sourceId, task_id: b.taskId, endpoint_id: b.endpointId }, bodyFor(route, a));
  if (expected === 'own') {
    // B's answers as a missing one; A's own is there.
    const missing = await call(a.client, route, { task_id: 'qtask_2zzzzzzzzzzzzzzzzzzzzzzzzzz' }, undefined);
    assertRefused(route, response, [404]);
    assert.deepEqual([response.status, response.body], [missing.status, missing.body], "B's answers unlike a missing one");
    const own = await call(a.client, route, { task_id: a.taskId }, undefined);
    assert.equal(own.status, 200, show(route, own));
    assertNoTraceOf(b, route, own);
  } else if (expected === 'admin' || expected === 'portal') {
    assertRefused(route, response, [403]);
    assert.equal(response.body.code, 'insufficient_access');
  } else if (expected === 'signed') {
    // A's bearer token is no signature for B's source.
    assertRefused(route, response, [401]);
    assert.equal(response.body.code, 'authentication_failed');
  } else {
    assert.ok(response.status >= 200 && response.status < 300, show(route, response));
    assertNoTraceOf(b, route, response);
  }
}

/** Runs one route's checks, collecting a failure so that one run names every route that misbehaves. */
async function collect(problems: string[], label: string, check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } catch (error) {
    problems.push(`${label}: ${(error as Error).message.split('\n')[0]}`);
  }
}

const deliveriesTo = (t: Tenant): number => receiver.requests.filter((r) => r.path === `/${t.name}`).length;

/** Time for a wrongly scheduled delivery to reach the receiver (worker poll is 200 ms; a resend wakes it at once). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 600));

/** Creates an application with an endpoint, a delivered message (so an attempt exists) and a key scoped to it. */
async function seedTenant(name: string): Promise<Tenant> {
  const api = hookd.api;
  const app = await api.post('/api/v1/app', { name: `tenant ${name}`, uid: `tenant-${name}` });
  assert.equal(app.status, 201, JSON.stringify(app.body));
  const endpoint = await api.post(`/api/v1/app/${app.body.id}/endpoint`, {
    url: `${receiver.url}/${name}`,
    uid: `ep-${name}`,
    headers: { 'x-tenant': name, authorization: `Bearer secret-of-${name}` },
  });
  assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));
  const message = await api.post(`/api/v1/app/${app.body.id}/msg`, { eventType: EVENT_TYPE, eventId: `inv-${name}`, payload: { tenant: name } });
  assert.equal(message.status, 202, JSON.stringify(message.body));
  const attempt = await eventually(async () => (await api.get(`/api/v1/app/${app.body.id}/attempt/msg/${message.body.id}`)).body.data[0], 10_000, `an attempt for ${name}`);
  assert.equal(attempt.statusText, 'success', JSON.stringify(attempt));
  // Scoped by uid: the key records the app's id.
  const source = await api.post(`/api/v1/app/${app.body.id}/source`, {
    name: `source of ${name}`,
    verification: { scheme: 'api-key', secret: `ingest-key-of-${name}-0123456789` },
    eventType: { default: EVENT_TYPE },
  });
  assert.equal(source.status, 201, JSON.stringify(source.body));
  const recovered = await api.post(`/api/v1/app/${app.body.id}/endpoint/${endpoint.body.id}/recover`, { since: new Date(0).toISOString() });
  assert.equal(recovered.status, 202, JSON.stringify(recovered.body));
  const key = await api.post('/api/v1/api-key', { name: `tenant ${name}`, appId: `tenant-${name}` });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  assert.equal(key.body.appId, app.body.id);
  return {
    name,
    appId: app.body.id,
    appUid: `tenant-${name}`,
    endpointId: endpoint.body.id,
    endpointUid: `ep-${name}`,
    msgId: message.body.id,
    eventId: `inv-${name}`,
    attemptId: attempt.id,
    keyId: key.body.id,
    sourceId: source.body.id,
    taskId: recovered.body.id,
    client: new ApiClient(hookd.url, key.body.token),
  };
}

before(async () => {
  receiver = await Receiver.start();
  hookd = await startTestHookd({ env: { HOOKD_SSRF_ALLOW: '127.0.0.0/8,::1/128' } });
  const eventType = await hookd.api.post('/api/v1/event-type', { name: EVENT_TYPE, description: 'An invoice was paid' });
  assert.equal(eventType.status, 201, JSON.stringify(eventType.body));
  a = await seedTenant('a');
  b = await seedTenant('b');
});

after(async () => {
  await hookd?.cleanup();
  await receiver?.close();
});

describe('a key scoped to application A, on every documented operation', () => {
  test("on B's resources (by id and by uid) every route answers like for a missing app; writes are refused; B is byte-for-byte unchanged", async () => {
    const routes = apiRoutes(await hookd.app!.openApiDocument());
    for (const known of ['GET /api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}', 'DELETE /api/v1/api-key/{key_id}', 'GET /api/v1/app']) {
      assert.ok(routes.some((r) => routeKey(r) === known), `the OpenAPI document lists ${known}`);
    }
    const before = await snapshot(b);
    const deliveredBefore = deliveriesTo(b);
    const walked = new Set<string>();
    const problems: string[] = [];
    // Deletions last: should one wrongly succeed, the other routes still meet B's resources.
    const ordered = [...routes].sort((x, y) => Number(x.method === 'DELETE') - Number(y.method === 'DELETE'));
    for (const route of ordered) {
      assertKnownParams(route);
      walked.add(routeKey(route));
      await collect(problems, routeKey(route), () => (route.params.includes('app_id') ? checkAppRouteOnB(route) : checkNonAppRoute(route)));
    }
    assert.deepEqual(problems, []);
    assert.deepEqual([...walked].sort(), routes.map(routeKey).sort());

    await settle();
    assert.deepEqual(await snapshot(b), before);
    assert.equal(deliveriesTo(b), deliveredBefore, 'no delivery to B was triggered');
  });

  test('the application list shows a scoped key its own application only', async () => {
    const response = await a.client.get('/api/v1/app');
    assert.equal(response.status, 200);
    assert.deepEqual(
      response.body.data.map((app: { id: string }) => app.id),
      [a.appId],
    );
    const all = await hookd.api.get('/api/v1/app');
    assert.ok(all.body.data.length >= 2, 'an admin sees every application');
  });

  test("A's app in the path with B's endpoint, message or attempt answers 404, for the scoped and the admin key", async () => {
    const before = await snapshot(b);
    const deliveredBefore = deliveriesTo(b);
    let calls = 0;
    const problems: string[] = [];
    for (const route of apiRoutes(await hookd.app!.openApiDocument())) {
      assertKnownParams(route);
      const others = route.params.filter((p) => p !== 'app_id');
      if (!route.params.includes('app_id') || others.length === 0) continue;
      // Every non-empty choice of which params name B's resources; the rest name A's.
      for (let mask = 1; mask < 1 << others.length; mask++) {
        for (const by of ['id', 'uid'] as const) {
          const params = { ...paramsOf(a, by) };
          others.forEach((param, i) => {
            if (mask & (1 << i)) params[param] = paramsOf(b, by)[param]!;
          });
          for (const client of [a.client, hookd.api]) {
            const who = client === hookd.api ? 'admin key' : "A's key";
            await collect(problems, `${who}, ${JSON.stringify(params)}`, async () => {
              const response = await call(client, route, params, bodyFor(route, a));
              if (UPSERT_ROUTES.has(routeKey(route)) && by === 'uid') {
                // An upsert by uid: B's uid names nothing in A's app, so the PUT creates A's own endpoint; the body
                // carries A's endpoint uid, so that is a conflict over A's uid, and B stays untouched and unnamed.
                assertRefused(route, response, [409]);
                assertNoTraceOf(b, route, response);
              } else {
                assertRefused(route, response, [404]);
              }
            });
            calls++;
          }
        }
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(calls > 50, `walked ${calls} mixed calls`);
    // The attempts of A's message filtered by B's endpoint: an endpoint A's app does not have, a 404 (as in Svix), not B's attempts.
    const filtered = await a.client.get(`/api/v1/app/${a.appId}/attempt/msg/${a.msgId}?endpoint_id=${b.endpointId}`);
    assert.deepEqual([filtered.status, filtered.body.code], [404, 'not_found']);

    await settle();
    assert.deepEqual(await snapshot(b), before);
    assert.equal(deliveriesTo(b), deliveredBefore, 'no delivery to B was triggered');
  });

  test('a scoped key cannot create an application by any route', async () => {
    const put = await a.client.put('/api/v1/app/tenant-new', { name: 'new tenant' });
    assert.equal(put.status, 404, JSON.stringify(put.body));
    const inline = await a.client.post('/api/v1/app/tenant-new/msg', { eventType: EVENT_TYPE, payload: {}, application: { name: 'new tenant' } });
    assert.equal(inline.status, 404, JSON.stringify(inline.body));
    const post = await a.client.post('/api/v1/app', { name: 'new tenant', uid: 'tenant-new' });
    assert.equal(post.status, 403, JSON.stringify(post.body));
    assert.equal((await hookd.api.get('/api/v1/app/tenant-new')).status, 404);
  });

  test("a scoped key cannot change its application's uid (it could take a uid meant for another tenant)", async () => {
    for (const [method, body] of [
      ['PATCH', { uid: 'tenant-c' }],
      ['PATCH', { uid: null }],
      ['PUT', { name: 'tenant a', uid: 'tenant-c' }],
      ['PUT', { name: 'tenant a' }],
    ] as const) {
      const response = await a.client.request(method, `/api/v1/app/${a.appId}`, body);
      assert.equal(response.status, 403, `${method} ${JSON.stringify(body)}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.code, 'insufficient_access');
    }
    assert.equal((await hookd.api.get(`/api/v1/app/${a.appId}`)).body.uid, a.appUid);
    // Its other fields it may change, keeping the uid.
    const renamed = await a.client.put(`/api/v1/app/${a.appUid}`, { name: 'tenant a, renamed', uid: a.appUid });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
  });

  test("a scoped key cannot change its application's ingest rate limit (it could lift its own), nor clear it by leaving it out; its throttleRate it may", async () => {
    assert.equal((await hookd.api.patch(`/api/v1/app/${a.appId}`, { ingestRateLimit: 50 })).status, 200, 'the admin sets it');
    for (const [method, body] of [
      ['PATCH', { ingestRateLimit: 0 }],
      ['PATCH', { ingestRateLimit: 65535 }],
      ['PATCH', { ingestRateLimit: null }],
      ['PUT', { name: 'tenant a', uid: a.appUid, ingestRateLimit: 1000 }],
    ] as const) {
      const response = await a.client.request(method, `/api/v1/app/${a.appId}`, body);
      assert.equal(response.status, 403, `${method} ${JSON.stringify(body)}: ${JSON.stringify(response.body)}`);
      assert.equal(response.body.code, 'insufficient_access');
    }
    const put = await a.client.put(`/api/v1/app/${a.appId}`, { name: 'tenant a', uid: a.appUid });
    assert.equal(put.status, 200, 'a PUT without it is allowed');
    assert.equal(put.body.ingestRateLimit, 50, 'and keeps it');
    assert.equal((await a.client.patch(`/api/v1/app/${a.appId}`, { ingestRateLimit: 50 })).status, 200, 'setting the same value is no change');
    // Svix's throttleRate only slows the sending to the application's own endpoints.
    const throttled = await a.client.patch(`/api/v1/app/${a.appId}`, { throttleRate: 5 });
    assert.deepEqual([throttled.status, throttled.body.throttleRate, throttled.body.ingestRateLimit], [200, 5, 50]);
    assert.equal((await a.client.patch(`/api/v1/app/${a.appId}`, { throttleRate: null })).body.throttleRate ?? null, null);
    assert.equal((await hookd.api.patch(`/api/v1/app/${a.appId}`, { ingestRateLimit: null })).body.ingestRateLimit ?? null, null, 'the admin clears it');
  });

  test("positive control: on A's own resources every route answers 2xx (admin-only ones 403)", async () => {
    const routes = apiRoutes(await hookd.app!.openApiDocument()).filter((r) => r.params.includes('app_id'));
    // Reads (by id and by uid), then writes, deletions last (they remove what the others need; expunging every payload
    // too: a resend after it is refused).
    const rank = (r: ApiRoute) => (r.method === 'GET' ? 0 : r.method === 'DELETE' || /\/(expunge-all-contents|bulk-expunge)$/.test(r.path) ? 2 : 1);
    const problems: string[] = [];
    for (const route of [...routes].sort((x, y) => rank(x) - rank(y))) {
      for (const by of route.method === 'GET' ? (['id', 'uid'] as const) : (['id'] as const)) {
        await collect(problems, `by ${by}`, async () => {
          const response = await call(a.client, route, paramsOf(a, by), bodyFor(route, a));
          if (ADMIN_ONLY_APP_ROUTES.has(routeKey(route))) {
            assertRefused(route, response, [403]);
          } else {
            assert.ok(response.status >= 200 && response.status < 300, show(route, response));
            assertNoTraceOf(b, route, response);
          }
        });
      }
    }
    assert.deepEqual(problems, []);
  });
});

describe('API key lifecycle', () => {
  test('a token is shown once: in the create response only, never in the list', async () => {
    const created = await hookd.api.post('/api/v1/api-key', { name: 'shown once', appId: b.appUid });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { token, ...key } = created.body;
    assert.match(token, /^hookd_[A-Za-z0-9_-]{20,}$/);
    assert.equal(key.appId, b.appId);
    assert.equal(key.name, 'shown once');
    assert.equal(key.revokedAt, null);
    assert.ok(token.startsWith(key.prefix) && key.prefix.length < token.length - 16, `prefix ${key.prefix} is a short start of the token`);
    assert.equal(new Date(key.createdAt).toISOString(), key.createdAt, 'createdAt is RFC 3339');

    const list = await hookd.api.get('/api/v1/api-key');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.data.find((k: { id: string }) => k.id === key.id), key);
    assert.ok(list.body.data.every((k: Record<string, unknown>) => !('token' in k) && !('hash' in k) && !('sha256Hash' in k)));
    assert.ok(!JSON.stringify(list.body).includes(token.slice(key.prefix.length)), 'the list never shows the token');
    assert.deepEqual([list.body.iterator, list.body.prevIterator, list.body.done], [null, null, true]);

    const scoped = new ApiClient(hookd.url, token);
    assert.equal((await scoped.get(`/api/v1/app/${b.appId}`)).status, 200);
    assert.equal((await scoped.get(`/api/v1/app/${a.appId}`)).status, 404);
  });

  test('only the SHA-256 of a token is stored, also when the create request carries an idempotency-key', async () => {
    const first = await hookd.api.post('/api/v1/api-key', { name: 'hashed' }, { 'idempotency-key': 'create-hashed-key' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const token: string = first.body.token;
    // A repeat replays the key without its token: the idempotency cache never held it.
    const repeat = await hookd.api.post('/api/v1/api-key', { name: 'hashed' }, { 'idempotency-key': 'create-hashed-key' });
    assert.equal(repeat.status, 201);
    assert.equal(repeat.headers.get('idempotent-replayed'), 'true');
    assert.equal(repeat.body.id, first.body.id);
    assert.equal(repeat.body.token, undefined);
    const named = (await hookd.api.get('/api/v1/api-key')).body.data.filter((k: { name: string }) => k.name === 'hashed');
    assert.equal(named.length, 1, 'the repeat created no second key');

    const db = new Database(hookd.dbPath, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare('SELECT * FROM api_key').all() as Record<string, unknown>[];
      assert.ok(!JSON.stringify(rows).includes(token), 'the token is nowhere in api_key');
      const row = rows.find((r) => r.id === first.body.id);
      assert.equal(row?.sha256_hash, createHash('sha256').update(token).digest('hex'));
    } finally {
      db.close();
    }
    // Nor anywhere else in the database (main file and write-ahead log).
    for (const file of [hookd.dbPath, `${hookd.dbPath}-wal`]) {
      if (existsSync(file)) assert.equal(readFileSync(file).indexOf(token), -1, `the token is in ${file}`);
    }
  });

  test('a revoked key is refused (401) from its next request on', async () => {
    const created = await hookd.api.post('/api/v1/api-key', { name: 'to revoke', appId: a.appId });
    const client = new ApiClient(hookd.url, created.body.token);
    assert.equal((await client.get(`/api/v1/app/${a.appId}`)).status, 200);

    const revoked = await hookd.api.delete(`/api/v1/api-key/${created.body.id}`);
    assert.equal(revoked.status, 204, JSON.stringify(revoked.body));
    const refused = await client.get(`/api/v1/app/${a.appId}`);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'authentication_failed');

    const listed = (await hookd.api.get('/api/v1/api-key')).body.data.find((k: { id: string }) => k.id === created.body.id);
    assert.equal(new Date(listed.revokedAt).toISOString(), listed.revokedAt, 'revokedAt is RFC 3339');
    assert.equal((await hookd.api.delete(`/api/v1/api-key/${created.body.id}`)).status, 404, 'revoking twice');
    assert.equal((await hookd.api.delete('/api/v1/api-key/key_2zzzzzzzzzzzzzzzzzzzzzzzzzz')).status, 404, 'an unknown key');
  });

  test('an admin key may revoke itself, but the last active admin key cannot be revoked (409)', async () => {
    const second = await hookd.api.post('/api/v1/api-key', { name: 'second admin' });
    assert.equal(second.body.appId, null);
    const secondClient = new ApiClient(hookd.url, second.body.token);
    assert.equal((await secondClient.delete(`/api/v1/api-key/${second.body.id}`)).status, 204);
    assert.equal((await secondClient.get('/api/v1/api-key')).status, 401);

    const keys = (await hookd.api.get('/api/v1/api-key')).body.data as { id: string; name: string; appId: string | null; revokedAt: string | null }[];
    const ownKey = keys.find((k) => k.name === 'HOOKD_ADMIN_TOKEN')!;
    for (const k of keys) {
      if (k.appId === null && k.revokedAt === null && k.id !== ownKey.id) assert.equal((await hookd.api.delete(`/api/v1/api-key/${k.id}`)).status, 204);
    }
    // Scoped keys remain active, but they administer nothing.
    const last = await hookd.api.delete(`/api/v1/api-key/${ownKey.id}`);
    assert.equal(last.status, 409, JSON.stringify(last.body));
    assert.match(last.body.detail, /last active admin/);
    assert.equal((await hookd.api.get('/api/v1/api-key')).status, 200, 'the admin key still works');
  });

  test('a scoped key can neither create, list nor revoke keys (403), not even for its own application', async () => {
    for (const response of [
      await a.client.post('/api/v1/api-key', { name: 'mine', appId: a.appId }),
      await a.client.post('/api/v1/api-key', { name: 'admin please' }),
      await a.client.get('/api/v1/api-key'),
      await a.client.delete(`/api/v1/api-key/${a.keyId}`),
      await a.client.delete(`/api/v1/api-key/${b.keyId}`),
    ]) {
      assert.equal(response.status, 403, JSON.stringify(response.body));
      assert.equal(response.body.code, 'insufficient_access');
    }
    assert.equal((await a.client.get(`/api/v1/app/${a.appId}`)).status, 200, 'its own key is still active');
  });

  test('creating a key for an unknown application answers 404; a name is 1 to 256 characters (422)', async () => {
    const unknown = await hookd.api.post('/api/v1/api-key', { name: 'nowhere', appId: 'no-such-app' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'not_found');
    for (const body of [{ name: '' }, { name: 'x'.repeat(257) }, {}, { name: 'ok', appId: 42 }]) {
      const response = await hookd.api.post('/api/v1/api-key', body);
      assert.equal(response.status, 422, `${JSON.stringify(body)}: ${JSON.stringify(response.body)}`);
    }
  });

  test("deleting an application deletes the keys scoped to it", async () => {
    const app = await hookd.api.post('/api/v1/app', { name: 'short-lived' });
    const key = await hookd.api.post('/api/v1/api-key', { name: 'short-lived key', appId: app.body.id });
    const client = new ApiClient(hookd.url, key.body.token);
    assert.equal((await client.get('/api/v1/app')).status, 200);
    assert.equal((await hookd.api.delete(`/api/v1/app/${app.body.id}`)).status, 204);
    assert.equal((await client.get('/api/v1/app')).status, 401);
    const keys = (await hookd.api.get('/api/v1/api-key')).body.data as { id: string }[];
    assert.ok(!keys.some((k) => k.id === key.body.id));
  });

  test('a revoked HOOKD_ADMIN_TOKEN stays revoked: hookd refuses to start with it', async () => {
    const temp = tempDir();
    const dbPath = join(temp.dir, 'hookd.db');
    try {
      const first = await startTestHookd({ dbPath });
      let otherToken = '';
      try {
        const other = await first.api.post('/api/v1/api-key', { name: 'replacement admin' });
        otherToken = other.body.token;
        const envKey = (await first.api.get('/api/v1/api-key')).body.data.find((k: { name: string }) => k.name === 'HOOKD_ADMIN_TOKEN');
        assert.equal((await new ApiClient(first.url, otherToken).delete(`/api/v1/api-key/${envKey.id}`)).status, 204);
        assert.equal((await first.api.get('/api/v1/app')).status, 401);
      } finally {
        await first.cleanup();
      }
      await assert.rejects(startTestHookd({ dbPath }), /HOOKD_ADMIN_TOKEN was revoked/);
      const second = await startTestHookd({ dbPath, env: { HOOKD_ADMIN_TOKEN: 'hookd_a_new_admin_token' } });
      try {
        assert.equal((await new ApiClient(second.url, otherToken).get('/api/v1/app')).status, 200);
        assert.equal((await second.api.get('/api/v1/app')).status, 401, 'the revoked token stayed revoked');
      } finally {
        await second.cleanup();
      }
    } finally {
      temp.cleanup();
    }
  });
});
