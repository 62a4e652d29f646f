import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { after, before, describe, test } from 'node:test';
import { READY_REUSE_MS } from '../../src/api/health.js';
import { ApiClient, TEST_TOKEN, eventually, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { type RawInit, type RawResponse, assertJsonError, assertValidation, rawHttp, rawRequest } from '../helpers/raw.js';
import { Receiver } from '../helpers/receiver.js';

/**
 * Hostile and malformed input against a real hookd: every rejection is a JSON `{code, detail}` with the
 * right status, and none of it disturbs the server or a message accepted before the barrage.
 */

const BODY_LIMIT = 4096;

let hookd: TestHookd & { cleanup: () => Promise<void> };
let receiver: Receiver;
let appId: string;
let endpointId: string;
let acceptedMsgId: string;

/** A raw request (the ApiClient always sends valid JSON; these tests need to send anything). */
const raw = (method: string, path: string, init: RawInit = {}): Promise<RawResponse> => rawRequest(hookd.url, method, path, init);

const json = (value: unknown) => ({ body: JSON.stringify(value), headers: { 'content-type': 'application/json' } });
const validMessage = (extra: Record<string, unknown> = {}) => ({ eventType: 'user.signup', payload: { ok: true }, ...extra });

before(async () => {
  receiver = await Receiver.start();
  hookd = await startTestHookd({ env: { HOOKD_BODY_LIMIT: String(BODY_LIMIT) } });
  const app = await hookd.api.post('/api/v1/app', { name: 'bad input', uid: 'bad-input' });
  assert.equal(app.status, 201);
  appId = app.body.id;
  const endpoint = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/hook` });
  assert.equal(endpoint.status, 201);
  endpointId = endpoint.body.id;
  // Accepted before the barrage; checked again at the end.
  const message = await hookd.api.post(`/api/v1/app/${appId}/msg`, validMessage({ eventId: 'before-barrage', payload: { n: 1 } }));
  assert.equal(message.status, 202);
  acceptedMsgId = message.body.id;
});

after(async () => {
  await hookd?.cleanup();
  await receiver?.close();
});

describe('malformed bodies', () => {
  test('malformed JSON answers 400 {code, detail}', async () => {
    const response = await raw('POST', `/api/v1/app/${appId}/msg`, { body: '{"eventType": "a", ', headers: { 'content-type': 'application/json' } });
    assertJsonError(response, 400, 'bad_request');
    assert.equal(typeof response.json.detail, 'string');
  });

  test('a JSON array, string or null instead of an object answers 422 at [body]', async () => {
    for (const body of ['[]', '"x"', '42', 'null']) {
      assertValidation(await raw('POST', `/api/v1/app/${appId}/msg`, { body, headers: { 'content-type': 'application/json' } }), ['body']);
    }
  });

  test('a nullable field with a wrong value is one issue that says what is wrong, not also "must be null" and "must match a schema in anyOf"', async () => {
    const uid = await hookd.api.post('/api/v1/app', { name: 'x', uid: 'has space' });
    assert.equal(uid.status, 422);
    assert.deepEqual(uid.body.detail.map((d: { loc: unknown[]; type: string }) => [d.loc, d.type]), [[['body', 'uid'], 'value_error.pattern']]);
    const channels = await hookd.api.post(`/api/v1/app/${appId}/msg`, validMessage({ channels: 5 }));
    assert.equal(channels.status, 422);
    assert.deepEqual(channels.body.detail, [{ loc: ['body', 'channels'], msg: 'must be array', type: 'value_error.type' }]);
  });

  test('a body over HOOKD_BODY_LIMIT answers 413 JSON', async () => {
    const big = validMessage({ payload: { blob: 'x'.repeat(BODY_LIMIT * 2) } });
    const response = await raw('POST', `/api/v1/app/${appId}/msg`, json(big));
    assertJsonError(response, 413, 'payload_too_large');
  });

  test('text/plain on a POST answers 415 JSON', async () => {
    const response = await raw('POST', `/api/v1/app/${appId}/msg`, { body: JSON.stringify(validMessage()), headers: { 'content-type': 'text/plain' } });
    assertJsonError(response, 415, 'unsupported_media_type');
  });

  test('application/json with parameters or odd casing is accepted', async () => {
    for (const type of ['application/json; charset=utf-8', 'Application/JSON']) {
      const response = await raw('POST', `/api/v1/app/${appId}/msg`, { body: JSON.stringify(validMessage({ payload: { type } })), headers: { 'content-type': type } });
      assert.equal(response.status, 202, `${type}: ${response.text}`);
    }
  });

  test('form and XML content-types on a POST answer 415 JSON', async () => {
    for (const [type, body] of [['application/xml', '<app/>'], ['application/x-www-form-urlencoded', 'name=x'], ['multipart/form-data; boundary=b', '--b--']]) {
      assertJsonError(await raw('POST', '/api/v1/app', { body, headers: { 'content-type': type! } }), 415, 'unsupported_media_type');
    }
  });

  test('__proto__ and constructor.prototype keys are ordinary keys: accepted, kept as sent, and nothing is polluted', async () => {
    const bodies = [
      '{"eventType":"a.b","payload":{},"__proto__":{"polluted":true}}',
      '{"eventType":"a.b","payload":{"__proto__":{"polluted":true}}}',
      '{"eventType":"a.b","payload":{"constructor":{"prototype":{"polluted":true}}}}',
      '{"eventType":"a.b","payload":{},"constructor":{"prototype":{"polluted":true}}}',
    ];
    for (const body of bodies) {
      const response = await raw('POST', `/api/v1/app/${appId}/msg`, { body, headers: { 'content-type': 'application/json' } });
      assert.equal(response.status, 202, `${body}: ${response.text}`);
      const payload = JSON.parse(body).payload as Record<string, unknown>;
      const stored = await raw('GET', `/api/v1/app/${appId}/msg/${response.json.id}`);
      assert.deepEqual(stored.json.payload, payload);
    }
    const app = await raw('POST', '/api/v1/app', { body: '{"name":"proto","metadata":{"__proto__":"kept"}}', headers: { 'content-type': 'application/json' } });
    assert.equal(app.status, 201, app.text);
    assert.ok(app.text.includes('"metadata":{"__proto__":"kept"}'), app.text);
    // An endpoint header named __proto__ is a header like any other, through create, PATCH and GET (in an app of its
    // own: the other tests count this app's attempts).
    const endpoint = await raw('POST', `/api/v1/app/${app.json.id}/endpoint`, { body: '{"url":"https://example.com/proto","headers":{"__proto__":"one"}}', headers: { 'content-type': 'application/json' } });
    assert.equal(endpoint.status, 201, endpoint.text);
    const patched = await raw('PATCH', `/api/v1/app/${app.json.id}/endpoint/${endpoint.json.id}/headers`, { body: '{"headers":{"__proto__":"two","x-other":"3"}}', headers: { 'content-type': 'application/json' } });
    assert.equal(patched.status, 204, patched.text);
    const headers = await raw('GET', `/api/v1/app/${app.json.id}/endpoint/${endpoint.json.id}/headers`);
    assert.ok(headers.text.includes('"__proto__":"two"') && headers.text.includes('"x-other":"3"'), headers.text);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const apps = await hookd.api.get('/api/v1/app');
    assert.equal(apps.status, 200);
    assert.equal((apps.body as Record<string, unknown>).polluted, undefined);
  });
});

describe('body-less requests', () => {
  /** A POST with `Transfer-Encoding: chunked` and no body, as the Go SDK sends resend. */
  const emptyChunkedPost = (path: string, contentType: string | null): Promise<RawResponse> =>
    rawHttp(
      Number(new URL(hookd.url).port),
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_TOKEN}\r\n${contentType === null ? '' : `Content-Type: ${contentType}\r\n`}` +
        'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n',
    );

  test('resend sent as an empty chunked POST, with any content-type or none, resends the message', async () => {
    const message = await hookd.api.post(`/api/v1/app/${appId}/msg`, validMessage({ payload: { resend: 'chunked' } }));
    assert.equal(message.status, 202);
    const id = message.body.id as string;
    const attempts = async () => (await hookd.api.get(`/api/v1/app/${appId}/attempt/msg/${id}`)).body.data.length as number;
    await eventually(async () => (await attempts()) === 1, 10_000, 'the first attempt');
    const resendPath = `/api/v1/app/${appId}/msg/${id}/endpoint/${endpointId}/resend`;
    for (const type of [null, 'application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
      const before = await attempts();
      const response = await emptyChunkedPost(resendPath, type);
      assert.equal(response.status, 202, `${type ?? 'no content-type'}: ${response.text}`);
      await eventually(async () => (await attempts()) === before + 1, 10_000, `the attempt resent with ${type ?? 'no content-type'}`);
    }
    const declaredEmpty = await raw('POST', resendPath, { body: '', headers: { 'content-type': 'application/json' } });
    assert.equal(declaredEmpty.status, 202, declaredEmpty.text);
  });

  test('an empty body where a body with required fields is needed answers 422 at [body], whatever its content-type', async () => {
    const path = `/api/v1/app/${appId}/msg`;
    for (const response of [
      await emptyChunkedPost(path, null),
      await emptyChunkedPost(path, 'application/json'),
      await raw('POST', path, { body: '', headers: { 'content-type': 'application/json' } }),
      await raw('POST', path),
    ]) {
      assertValidation(response, ['body']);
      assert.equal(response.json.detail[0].msg, 'a JSON request body is required');
    }
  });

  test('an empty body where every field is optional is the empty object: a PATCH that changes nothing', async () => {
    const before = await hookd.api.get(`/api/v1/app/${appId}`);
    const response = await raw('PATCH', `/api/v1/app/${appId}`, { body: '', headers: { 'content-type': 'application/json' } });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.json.name, before.body.name);
  });

  test('a body that is not empty still needs application/json: without a content-type it answers 415', async () => {
    const response = await raw('POST', `/api/v1/app/${appId}/msg`, { body: new TextEncoder().encode(JSON.stringify(validMessage())) });
    assertJsonError(response, 415, 'unsupported_media_type');
    assert.match(response.json.detail, /without a content-type/);
  });
});

describe('schema validation (422 with loc)', () => {
  const cases: { what: string; path: () => string; body: Record<string, unknown>; loc: (string | number)[] }[] = [
    { what: 'eventType: 123', path: () => `/api/v1/app/${appId}/msg`, body: validMessage({ eventType: 123 }), loc: ['body', 'eventType'] },
    { what: 'payload: "x"', path: () => `/api/v1/app/${appId}/msg`, body: validMessage({ payload: 'x' }), loc: ['body', 'payload'] },
    { what: 'channels: "a"', path: () => `/api/v1/app/${appId}/msg`, body: validMessage({ channels: 'a' }), loc: ['body', 'channels'] },
    { what: 'endpoint url: 5', path: () => `/api/v1/app/${appId}/endpoint`, body: { url: 5 }, loc: ['body', 'url'] },
    { what: 'app name: 7', path: () => '/api/v1/app', body: { name: 7 }, loc: ['body', 'name'] },
  ];
  for (const c of cases) {
    test(`wrong type ${c.what} answers 422 at ${JSON.stringify(c.loc)}`, async () => {
      assertValidation(await raw('POST', c.path(), json(c.body)), c.loc);
    });
  }

  test('a missing required payload answers 422 at [body, payload] with "field required"', async () => {
    const response = await raw('POST', `/api/v1/app/${appId}/msg`, json({ eventType: 'user.signup' }));
    assertValidation(response, ['body', 'payload']);
    assert.equal(response.json.detail[0].msg, 'field required');
  });

  test('a missing required eventType answers 422 at [body, eventType]', async () => {
    assertValidation(await raw('POST', `/api/v1/app/${appId}/msg`, json({ payload: {} })), ['body', 'eventType']);
  });

  test('an endpoint url that is not http(s) or not a URL answers 422 at [body, url]', async () => {
    for (const url of ['ftp://example.com/hook', 'not a url', 'http://user:pass@example.com/']) {
      assertValidation(await raw('POST', `/api/v1/app/${appId}/endpoint`, json({ url })), ['body', 'url']);
    }
  });

  test('a reserved custom header (webhook-id) answers 422 at [body, headers, webhook-id]', async () => {
    const response = await raw('POST', `/api/v1/app/${appId}/endpoint`, json({ url: `${receiver.url}/x`, headers: { 'webhook-id': 'spoofed' } }));
    assertValidation(response, ['body', 'headers', 'webhook-id']);
  });

  test('a reserved header set via PUT /headers answers 422', async () => {
    const response = await raw('PUT', `/api/v1/app/${appId}/endpoint/${endpointId}/headers`, json({ headers: { 'svix-signature': 'x' } }));
    assertJsonError(response, 422);
  });

  test('a custom header value an HTTP client would refuse (a control character, a character beyond Latin-1) answers 422, on create, PUT and PATCH', async () => {
    for (const value of ['a\u0001b', 'price in \u20ac', 'tab\tand spaces ok\u007f']) {
      assertValidation(await raw('POST', `/api/v1/app/${appId}/endpoint`, json({ url: `${receiver.url}/x`, headers: { 'x-custom': value } })), ['body', 'headers', 'x-custom']);
      assertValidation(await raw('PUT', `/api/v1/app/${appId}/endpoint/${endpointId}/headers`, json({ headers: { 'x-custom': value } })), ['body', 'headers', 'x-custom']);
      assertValidation(await raw('PATCH', `/api/v1/app/${appId}/endpoint/${endpointId}/headers`, json({ headers: { 'x-custom': value } })), ['body', 'headers', 'x-custom']);
    }
    const latin1 = await raw('POST', `/api/v1/app/${appId}/endpoint`, json({ url: `${receiver.url}/x`, headers: { 'x-custom': 'caf\u00e9\tok' } }));
    assert.equal(latin1.status, 201, 'tabs and Latin-1 (obs-text) are what a header may carry');
  });

  test('PATCH /headers cannot grow an endpoint past 50 custom headers or 16 KB of them, whatever each request holds', async () => {
    const endpoint = await raw('POST', `/api/v1/app/${appId}/endpoint`, json({ url: `${receiver.url}/x` }));
    const path = `/api/v1/app/${appId}/endpoint/${endpoint.json.id}/headers`;
    const some = (from: number, n: number, size = 1): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${from + i}`, 'v'.repeat(size)]));
    assert.equal((await raw('PATCH', path, json({ headers: some(0, 40) }))).status, 204);
    assertValidation(await raw('PATCH', path, json({ headers: some(40, 11) })), ['body', 'headers']);
    assert.equal((await raw('PATCH', path, json({ headers: some(40, 10) }))).status, 204, 'exactly 50 is allowed');
    assert.equal(Object.keys((await raw('GET', path)).json.headers).length, 50);
    // 16 KB of names and values, each request under this file's 4 KB body limit: four values of 3,900 bytes fit
    // (with the 50 small headers), a fifth does not.
    for (let i = 0; i < 4; i++) assert.equal((await raw('PATCH', path, json({ headers: { [`x-h${i}`]: 'v'.repeat(3900) } }))).status, 204);
    assertValidation(await raw('PATCH', path, json({ headers: { 'x-h4': 'v'.repeat(3900) } })), ['body', 'headers']);
    assert.equal((await raw('GET', path)).json.headers['x-h4'], 'v', 'a refused PATCH changes nothing');
  });

  test('invalid list query values answer 422 at [query, ...]', async () => {
    assertValidation(await raw('GET', `/api/v1/app/${appId}/msg?limit=0`), ['query', 'limit']);
    assertValidation(await raw('GET', `/api/v1/app/${appId}/msg?limit=1000`), ['query', 'limit']);
    assertValidation(await raw('GET', `/api/v1/app/${appId}/msg?limit=abc`), ['query', 'limit']);
    assertValidation(await raw('GET', `/api/v1/app/${appId}/msg?before=not-a-date`), ['query', 'before']);
    assertValidation(await raw('GET', `/api/v1/app?limit=0`), ['query', 'limit']);
  });
});

describe('unknown things answer JSON 404', () => {
  test('an unknown application answers 404 not_found', async () => {
    assertJsonError(await raw('GET', '/api/v1/app/app_doesnotexist'), 404, 'not_found');
    assertJsonError(await raw('POST', '/api/v1/app/app_doesnotexist/msg', json(validMessage())), 404, 'not_found');
  });

  test('an unknown endpoint answers 404 not_found', async () => {
    assertJsonError(await raw('GET', `/api/v1/app/${appId}/endpoint/ep_doesnotexist`), 404, 'not_found');
  });

  test('an unknown message answers 404 not_found', async () => {
    assertJsonError(await raw('GET', `/api/v1/app/${appId}/msg/msg_doesnotexist`), 404, 'not_found');
    assertJsonError(await raw('GET', `/api/v1/app/${appId}/attempt/msg/msg_doesnotexist`), 404, 'not_found');
  });

  test('an unknown route answers JSON 404, with or without a token', async () => {
    assertJsonError(await raw('GET', '/no/such/route'), 404, 'not_found');
    assertJsonError(await raw('GET', '/no/such/route', { token: null }), 404, 'not_found');
    assertJsonError(await raw('DELETE', '/api/v1/nothing-here'), 404, 'not_found');
  });
});

describe('authentication', () => {
  test('a missing bearer token answers 401 authentication_failed', async () => {
    assertJsonError(await raw('GET', '/api/v1/app', { token: null }), 401, 'authentication_failed');
    assertJsonError(await raw('POST', '/api/v1/app', { token: null, ...json({ name: 'x' }) }), 401, 'authentication_failed');
  });

  test('an invalid bearer token answers 401 authentication_failed', async () => {
    assertJsonError(await raw('GET', '/api/v1/app', { token: 'hookd_wrong' }), 401, 'authentication_failed');
    assertJsonError(await raw('GET', '/api/v1/app', { headers: { authorization: `Basic ${TEST_TOKEN}` }, token: null }), 401, 'authentication_failed');
    assertJsonError(await raw('GET', '/api/v1/app', { headers: { authorization: 'Bearer' }, token: null }), 401, 'authentication_failed');
  });

  test('a percent-encoded path to an API route still needs a token', async () => {
    const created = await hookd.api.post('/api/v1/event-type', { name: 'internal.only', description: 'not for anonymous eyes' });
    assert.equal(created.status, 201);
    for (const path of ['/%61pi/v1/event-type', '/%61pi/v1/event-type/internal.only', `/%61pi/v1/app/${appId}`, '/api/v1/%65vent-type', '/%61pi/v1/no-such-thing']) {
      const response = await raw('GET', path, { token: null });
      assertJsonError(response, 401, 'authentication_failed');
      assert.ok(!response.text.includes('not for anonymous eyes'), `${path} leaked: ${response.text}`);
    }
    // With a token the encoded path is the same route.
    const authed = await raw('GET', '/%61pi/v1/event-type/internal.only');
    assert.equal(authed.status, 200, authed.text);
    assert.equal(authed.json.name, 'internal.only');
    // The health check stays open.
    assert.equal((await raw('GET', '/api/v1/health', { token: null })).status, 204);
  });

  test('auth is checked before body parsing: bad token + bad JSON is a 401, not a 400', async () => {
    const response = await raw('POST', '/api/v1/app', { token: 'nope', body: '{', headers: { 'content-type': 'application/json' } });
    assertJsonError(response, 401, 'authentication_failed');
  });
});

describe('idempotency-key', () => {
  test('the same key and body twice gives the same response, the second marked idempotent-replayed', async () => {
    const body = validMessage({ payload: { idem: 1 } });
    const first = await hookd.api.post(`/api/v1/app/${appId}/msg`, body, { 'idempotency-key': 'idem-same-1' });
    assert.equal(first.status, 202);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const second = await hookd.api.post(`/api/v1/app/${appId}/msg`, body, { 'idempotency-key': 'idem-same-1' });
    assert.equal(second.status, 202);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(second.body, first.body);
    // Only one message was created.
    const list = await hookd.api.get(`/api/v1/app/${appId}/msg?limit=250`);
    assert.equal(list.body.data.filter((m: { id: string }) => m.id === first.body.id).length, 1);
    assert.equal(list.body.data.filter((m: { payload: { idem?: number } }) => m.payload.idem === 1).length, 1);
  });

  test('when the response cannot be recorded for its key, the request still gets its real answer (not a 5xx that invites a second message)', async () => {
    // The real database refuses this one key's response (a trigger), as a full disk or a lost connection would.
    const db = new Database(hookd.dbPath);
    db.exec("CREATE TRIGGER refuse_idempotent BEFORE UPDATE ON idempotency WHEN NEW.key = 'idem-unrecorded-1' BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END");
    try {
      const body = validMessage({ payload: { idem: 'unrecorded' } });
      const first = await hookd.api.post(`/api/v1/app/${appId}/msg`, body, { 'idempotency-key': 'idem-unrecorded-1' });
      assert.equal(first.status, 202, JSON.stringify(first.body));
      assert.equal((await hookd.api.get(`/api/v1/app/${appId}/msg/${first.body.id}`)).status, 200, 'the message the 202 names is stored');
      const repeat = await hookd.api.post(`/api/v1/app/${appId}/msg`, body, { 'idempotency-key': 'idem-unrecorded-1' });
      assert.equal(repeat.status, 409, 'a repeat soon after finds the key still in progress (it waited for it), and stores nothing');
      assert.equal(repeat.headers.get('retry-after'), '1');
      const list = await hookd.api.get(`/api/v1/app/${appId}/msg?limit=250`);
      assert.equal(list.body.data.filter((m: { payload: { idem?: string } }) => m.payload.idem === 'unrecorded').length, 1);
    } finally {
      db.exec('DROP TRIGGER refuse_idempotent');
      db.close();
    }
    // Once the database takes it, the outcome is recorded (retried every second): a repeat replays the 202.
    const replayed = await eventually(async () => {
      const again = await hookd.api.post(`/api/v1/app/${appId}/msg`, validMessage({ payload: { idem: 'unrecorded' } }), { 'idempotency-key': 'idem-unrecorded-1' });
      return again.headers.get('idempotent-replayed') === 'true' ? again : null;
    }, 10_000, 'the outcome recorded later');
    assert.equal(replayed.status, 202);
  });

  test('a key whose request failed and whose key could not be forgotten (the database away) lets the retry run once the database is back, not 409', async () => {
    // The real database refuses this request's message and then the key's deletion, as a database that went away
    // mid-request would (the client got a 5xx, and its retry must run).
    const db = new Database(hookd.dbPath);
    db.exec(`CREATE TRIGGER refuse_outage_message BEFORE INSERT ON message WHEN NEW.payload LIKE '%idem-outage%' BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END;
             CREATE TRIGGER refuse_outage_forget BEFORE DELETE ON idempotency WHEN OLD.key = 'idem-outage-1' BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END`);
    const body = validMessage({ payload: { idem: 'idem-outage' } });
    try {
      const first = await hookd.api.post(`/api/v1/app/${appId}/msg`, body, { 'idempotency-key': 'idem-outage-1' });
      assert.ok(first.status >= 400, `the first attempt fails (${first.status})`);
    } finally {
      db.exec('DROP TRIGGER refuse_outage_message; DROP TRIGGER refuse_outage_forget');
      db.close();
    }
    const retry = await hookd.api.post(`/api/v1/app/${appId}/msg`, body, { 'idempotency-key': 'idem-outage-1' });
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    assert.equal(retry.headers.get('idempotent-replayed'), null, 'it ran');
    const list = await hookd.api.get(`/api/v1/app/${appId}/msg?limit=250`);
    assert.equal(list.body.data.filter((m: { payload: { idem?: string } }) => m.payload.idem === 'idem-outage').length, 1);
  });

  test('only a success is remembered: a 404 for an application not created yet, retried with its key once it exists, runs (202)', async () => {
    const body = validMessage({ payload: { idem: 'not-yet' } });
    const early = await hookd.api.post('/api/v1/app/idem-later-app/msg', body, { 'idempotency-key': 'idem-404-1' });
    assert.equal(early.status, 404);
    assert.equal((await hookd.api.post('/api/v1/app', { name: 'later', uid: 'idem-later-app' })).status, 201);
    const retry = await hookd.api.post('/api/v1/app/idem-later-app/msg', body, { 'idempotency-key': 'idem-404-1' });
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    assert.equal(retry.headers.get('idempotent-replayed'), null);
  });

  test('the same key with a different body answers 422 at [header, idempotency-key]', async () => {
    const first = await hookd.api.post(`/api/v1/app/${appId}/msg`, validMessage({ payload: { idem: 2 } }), { 'idempotency-key': 'idem-diff-1' });
    assert.equal(first.status, 202);
    const second = await raw('POST', `/api/v1/app/${appId}/msg`, { ...json(validMessage({ payload: { idem: 3 } })), headers: { 'content-type': 'application/json', 'idempotency-key': 'idem-diff-1' } });
    assertValidation(second, ['header', 'idempotency-key']);
  });

  test('as in Svix, a key belongs to its URL: one event id as the key of the same message sent to two applications stores both', async () => {
    const otherApp = (await hookd.api.post('/api/v1/app', { name: 'idem second app' })).body.id as string;
    const body = validMessage({ payload: { idem: 'two apps' } });
    const toFirst = await hookd.api.post(`/api/v1/app/${appId}/msg`, body, { 'idempotency-key': 'evt-two-apps-1' });
    const toSecond = await hookd.api.post(`/api/v1/app/${otherApp}/msg`, body, { 'idempotency-key': 'evt-two-apps-1' });
    assert.equal(toFirst.status, 202);
    assert.equal(toSecond.status, 202, JSON.stringify(toSecond.body));
    assert.notEqual(toSecond.headers.get('idempotent-replayed'), 'true');
    assert.notEqual(toSecond.body.id, toFirst.body.id);
    // Each URL's repeat replays its own answer.
    const againFirst = await hookd.api.post(`/api/v1/app/${appId}/msg`, body, { 'idempotency-key': 'evt-two-apps-1' });
    const againSecond = await hookd.api.post(`/api/v1/app/${otherApp}/msg`, body, { 'idempotency-key': 'evt-two-apps-1' });
    assert.deepEqual([againFirst.body.id, againFirst.headers.get('idempotent-replayed')], [toFirst.body.id, 'true']);
    assert.deepEqual([againSecond.body.id, againSecond.headers.get('idempotent-replayed')], [toSecond.body.id, 'true']);
    const stored = (await hookd.api.get(`/api/v1/app/${otherApp}/msg?limit=250`)).body.data;
    assert.equal(stored.length, 1);
    // A query string is part of the URL, as in Svix: with_content=false is another request.
    const withoutContent = await hookd.api.post(`/api/v1/app/${appId}/msg?with_content=false`, body, { 'idempotency-key': 'evt-two-apps-1' });
    assert.equal(withoutContent.status, 202);
    assert.notEqual(withoutContent.headers.get('idempotent-replayed'), 'true');
  });

  test('a key used by another API key is not replayed to it', async () => {
    const other = await hookd.api.post('/api/v1/api-key', { name: 'idem other key', appId });
    assert.equal(other.status, 201, JSON.stringify(other.body));
    const body = validMessage({ payload: { idem: 'two callers' } });
    const mine = await hookd.api.post(`/api/v1/app/${appId}/msg`, body, { 'idempotency-key': 'idem-caller-1' });
    const theirs = await raw('POST', `/api/v1/app/${appId}/msg`, { ...json(body), headers: { 'content-type': 'application/json', 'idempotency-key': 'idem-caller-1', authorization: `Bearer ${other.body.token}` } });
    assert.equal(mine.status, 202);
    assert.equal(theirs.status, 202);
    assert.notEqual(theirs.headers.get('idempotent-replayed'), 'true');
  });

  test('concurrent requests with one key create one message; the others wait for it and replay it (or answer 409)', async () => {
    const body = validMessage({ payload: { idem: 'concurrent' } });
    const responses = await Promise.all(Array.from({ length: 8 }, () => hookd.api.post(`/api/v1/app/${appId}/msg`, body, { 'idempotency-key': 'idem-concurrent-1' })));
    const created = responses.filter((r) => r.status === 202 && r.headers.get('idempotent-replayed') !== 'true');
    assert.equal(created.length, 1, JSON.stringify(responses.map((r) => [r.status, r.headers.get('idempotent-replayed')])));
    for (const r of responses) {
      if (r.status === 202) assert.equal(r.body.id, created[0]!.body.id);
      else {
        assert.equal(r.status, 409);
        assert.equal(r.body.code, 'idempotency_conflict');
      }
    }
    const list = await hookd.api.get(`/api/v1/app/${appId}/msg?limit=250`);
    assert.equal(list.body.data.filter((m: { payload: { idem?: string } }) => m.payload.idem === 'concurrent').length, 1);
  });

  test('an over-long idempotency-key answers 422', async () => {
    const response = await raw('POST', `/api/v1/app/${appId}/msg`, { ...json(validMessage()), headers: { 'content-type': 'application/json', 'idempotency-key': 'k'.repeat(300) } });
    assertValidation(response, ['header', 'idempotency-key']);
  });
});

describe('after the barrage', () => {
  test('the server still answers /health and /ready', async () => {
    const health = await fetch(`${hookd.url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(`${hookd.url}/ready`);
    assert.equal(ready.status, 200);
  });

  test('200 unauthenticated /ready at once share probes: a few writes, not 200', async () => {
    // Every probe inserts a row into readiness_probe; a trigger on the real database counts them.
    const db = new Database(hookd.dbPath);
    db.exec('CREATE TABLE probe_count (n INTEGER NOT NULL); INSERT INTO probe_count VALUES (0)');
    db.exec('CREATE TRIGGER count_probe AFTER INSERT ON readiness_probe BEGIN UPDATE probe_count SET n = n + 1; END');
    try {
      await new Promise((r) => setTimeout(r, READY_REUSE_MS)); // past the last test's probe
      const statuses = await Promise.all(Array.from({ length: 200 }, async () => (await fetch(`${hookd.url}/ready`)).status));
      assert.ok(statuses.every((status) => status === 200));
      const probes = db.prepare('SELECT n FROM probe_count').pluck().get() as number;
      assert.ok(probes >= 1 && probes <= 3, `${probes} probes for 200 requests`);
    } finally {
      db.exec('DROP TRIGGER count_probe; DROP TABLE probe_count');
      db.close();
    }
  });

  test('the message accepted before the barrage is retrievable and was delivered', async () => {
    const api = new ApiClient(hookd.url, TEST_TOKEN);
    const message = await api.get(`/api/v1/app/${appId}/msg/${acceptedMsgId}`);
    assert.equal(message.status, 200);
    assert.equal(message.body.eventId, 'before-barrage');
    assert.deepEqual(message.body.payload, { n: 1 });
    const requests = await receiver.waitFor((rs) => rs.some((r) => r.headers['webhook-id'] === acceptedMsgId), 10_000, 'the pre-barrage message');
    const delivered = requests.find((r) => r.headers['webhook-id'] === acceptedMsgId)!;
    assert.equal(delivered.path, '/hook');
    assert.deepEqual(JSON.parse(delivered.body), { n: 1 });
    const attempts = await api.get(`/api/v1/app/${appId}/attempt/msg/${acceptedMsgId}`);
    assert.equal(attempts.status, 200);
    assert.ok(attempts.body.data.some((a: { status: number; responseStatusCode: number }) => a.status === 0 && a.responseStatusCode === 200));
  });
});

test('an application has at most HOOKD_MAX_ENDPOINTS_PER_APP endpoints: one more is a 409 that creates nothing; deleting one makes room', async () => {
  const capped = await startTestHookd({ env: { HOOKD_MAX_ENDPOINTS_PER_APP: '3' } });
  try {
    const app = (await capped.api.post('/api/v1/app', { name: 'capped' })).body.id as string;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await capped.api.post(`/api/v1/app/${app}/endpoint`, { url: `https://example.com/${i}` });
      assert.equal(created.status, 201);
      ids.push(created.body.id as string);
    }
    const refused = await capped.api.post(`/api/v1/app/${app}/endpoint`, { url: 'https://example.com/3' });
    assert.deepEqual([refused.status, refused.body.code], [409, 'conflict']);
    assert.match(refused.body.detail, /already has 3 endpoints/);
    const upsert = await capped.api.put(`/api/v1/app/${app}/endpoint/by-uid`, { url: 'https://example.com/uid' });
    assert.equal(upsert.status, 409, 'an upsert that would create one too');
    assert.equal((await capped.api.get(`/api/v1/app/${app}/endpoint?limit=250`)).body.data.length, 3);
    const other = (await capped.api.post('/api/v1/app', { name: 'other' })).body.id as string;
    assert.equal((await capped.api.post(`/api/v1/app/${other}/endpoint`, { url: 'https://example.com/o' })).status, 201, 'per application');
    assert.equal((await capped.api.delete(`/api/v1/app/${app}/endpoint/${ids[0]}`)).status, 204);
    assert.equal((await capped.api.post(`/api/v1/app/${app}/endpoint`, { url: 'https://example.com/4' })).status, 201);
  } finally {
    await capped.cleanup();
  }
});
