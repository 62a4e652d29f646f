import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { generateSecret } from '../../src/domain/signing.js';
import { ApiClient, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { freshDatabase, testDatabaseUrl } from '../helpers/process.js';
import { jsonErrorProblem, rawRequest, type RawResponse } from '../helpers/raw.js';
import { Receiver } from '../helpers/receiver.js';

/**
 * Inbound sources against a real hookd, on SQLite and on PostgreSQL: sources are managed through the API, and an external system's
 * webhook POSTed to /ingest/{source_id} is verified over its raw bytes (hmac-sha256, standard-webhooks,
 * api-key), becomes a message of the source's application and is delivered to its endpoints. A refused request
 * (401, 404, 422) stores nothing, which is checked through the API.
 */

type Hookd = TestHookd & { cleanup: () => Promise<void> };

const HMAC_SECRET = 'hmac-secret-of-the-sender-0123456789';
const API_KEY = 'ak_live_0123456789abcdefghij';

let hookd: Hookd;
let receiver: Receiver;
let appId: string;
let otherAppId: string;
let scoped: ApiClient;
let database: Awaited<ReturnType<typeof freshDatabase>> | null = null;

const hex = (secret: string, text: string | Buffer) => createHmac('sha256', secret).update(text).digest('hex');
const nowSeconds = () => Math.floor(Date.now() / 1000);

function ingest(sourceId: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(hookd.url, 'POST', `/ingest/${sourceId}`, { token: null, body, headers: { 'content-type': 'application/json', ...headers } });
}

async function createSource(body: Record<string, unknown>, client: ApiClient = hookd.api, app = appId): Promise<{ id: string; [key: string]: any }> {
  const response = await client.post(`/api/v1/app/${app}/source`, body);
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body;
}

/** Every message of the app, through the API. */
async function messageIds(app = appId): Promise<string[]> {
  const response = await hookd.api.get(`/api/v1/app/${app}/msg?limit=250`);
  assert.equal(response.status, 200);
  return response.body.data.map((m: { id: string }) => m.id);
}

/** The body the app's endpoint received for message `id`. */
async function deliveredBody(id: string): Promise<string> {
  const requests = await receiver.waitFor((rs) => rs.some((r) => r.headers['webhook-id'] === id), 10_000, `the delivery of ${id}`);
  return requests.find((r) => r.headers['webhook-id'] === id)!.body;
}

/** Runs `send` and checks it was refused with `status` ({code, detail}) and that the app holds no new message. */
async function assertRefusedAndNothingStored(status: number, send: () => Promise<RawResponse>, what: string): Promise<RawResponse> {
  const before = await messageIds();
  const response = await send();
  assert.equal(jsonErrorProblem(response, [status]), null, `${what}: ${response.status} ${response.text}`);
  assert.deepEqual(await messageIds(), before, `${what}: nothing was stored`);
  return response;
}

const hmacSource = (extra: Record<string, unknown> = {}) => ({
  name: 'hmac sender',
  verification: { scheme: 'hmac-sha256', secret: HMAC_SECRET, ...extra },
  eventType: { header: 'X-Event-Type', field: 'type', default: 'inbound.default' },
});

for (const adapter of ['sqlite', 'postgres'] as const) {
  describe(`inbound sources (${adapter})`, () => {
    before(async () => {
      receiver = await Receiver.start();
      if (adapter === 'postgres') database = await freshDatabase(testDatabaseUrl(), 'sources');
      hookd = await startTestHookd(database ? { env: { DATABASE_URL: database.url } } : {});
      const app = await hookd.api.post('/api/v1/app', { name: 'inbound', uid: 'inbound' });
      appId = app.body.id;
      assert.equal((await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/inbound` })).status, 201);
      const other = await hookd.api.post('/api/v1/app', { name: 'other', uid: 'other' });
      otherAppId = other.body.id;
      const key = await hookd.api.post('/api/v1/api-key', { name: 'other app', appId: otherAppId });
      scoped = new ApiClient(hookd.url, key.body.token);
    });

    after(async () => {
      await hookd?.cleanup();
      await receiver?.close();
      await database?.drop();
      database = null;
    });

    describe('hmac-sha256', () => {
      test('a request signed over its raw bytes becomes a message of the app and is delivered to its endpoint with that payload', async () => {
        const source = await createSource(hmacSource());
        assert.equal(source.ingestPath, `/ingest/${source.id}`);
        assert.deepEqual(source.verification, { scheme: 'hmac-sha256', header: 'x-webhook-signature', prefix: 'sha256=', encoding: 'hex', toleranceSeconds: 300, secretSet: true });
        // Whitespace and key order as the sender wrote them: the signature covers these bytes, not a re-serialisation.
        const body = '{ "type": "invoice.paid",\n  "amount" : 4200, "tags": ["a", "b"] }';
        const response = await ingest(source.id, body, { 'X-Webhook-Signature': `sha256=${hex(HMAC_SECRET, body)}` });
        assert.equal(response.status, 202, response.text);
        assert.match(response.json.id, /^msg_/);
        assert.equal(response.json.eventType, 'invoice.paid');

        const message = await hookd.api.get(`/api/v1/app/${appId}/msg/${response.json.id}`);
        assert.equal(message.status, 200);
        assert.deepEqual(message.body.payload, { type: 'invoice.paid', amount: 4200, tags: ['a', 'b'] });
        const delivered = await receiver.waitFor((rs) => rs.some((r) => r.headers['webhook-id'] === response.json.id), 10_000, 'the delivery');
        const request = delivered.find((r) => r.headers['webhook-id'] === response.json.id)!;
        assert.equal(request.path, '/inbound');
        assert.deepEqual(JSON.parse(request.body), { type: 'invoice.paid', amount: 4200, tags: ['a', 'b'] });
      });

      test('a missing, wrong or mismatched signature answers 401 and stores nothing; hex in capitals is accepted', async () => {
        const source = await createSource(hmacSource());
        const body = '{"type":"invoice.paid"}';
        const good = hex(HMAC_SECRET, body);
        const cases: [string, Record<string, string>][] = [
          ['no signature header', {}],
          ['an empty signature', { 'x-webhook-signature': '' }],
          ['without the prefix', { 'x-webhook-signature': good }],
          ['another secret', { 'x-webhook-signature': `sha256=${hex(`${HMAC_SECRET}x`, body)}` }],
          ['another body', { 'x-webhook-signature': `sha256=${hex(HMAC_SECRET, `${body} `)}` }],
          ['one digit changed', { 'x-webhook-signature': `sha256=${good.slice(0, -1)}${good.endsWith('0') ? '1' : '0'}` }],
          ['truncated', { 'x-webhook-signature': `sha256=${good.slice(0, 32)}` }],
          ['in the wrong header', { 'x-hub-signature-256': `sha256=${good}` }],
          ['a bearer token instead', { authorization: 'Bearer hookd_test_admin_token' }],
        ];
        for (const [what, headers] of cases) {
          const response = await assertRefusedAndNothingStored(401, () => ingest(source.id, body, headers), what);
          assert.equal(response.json.code, 'authentication_failed');
        }
        const upper = await ingest(source.id, body, { 'x-webhook-signature': `sha256=${good.toUpperCase()}` });
        assert.equal(upper.status, 202, upper.text);
      });

      test('with a timestamp header the signed text is "{timestamp}.{body}"; a timestamp outside the tolerance answers 401 and stores nothing', async () => {
        const source = await createSource(hmacSource({ header: 'X-Signature', prefix: '', encoding: 'base64', timestampHeader: 'X-Timestamp', toleranceSeconds: 60 }));
        assert.equal(source.verification.timestampHeader, 'x-timestamp');
        const body = '{"type":"order.created"}';
        const sign = (ts: number | string, text = body) => createHmac('sha256', HMAC_SECRET).update(`${ts}.${text}`).digest('base64');
        const now = nowSeconds();
        const fresh = await ingest(source.id, body, { 'x-signature': sign(now), 'x-timestamp': String(now) });
        assert.equal(fresh.status, 202, fresh.text);
        assert.equal((await ingest(source.id, body, { 'x-signature': sign(now - 50), 'x-timestamp': String(now - 50) })).status, 202, 'within the tolerance');

        for (const [what, ts] of [
          ['stale', now - 120],
          ['from the future', now + 120],
        ] as const) {
          const response = await assertRefusedAndNothingStored(401, () => ingest(source.id, body, { 'x-signature': sign(ts), 'x-timestamp': String(ts) }), what);
          assert.match(response.json.detail, /x-timestamp/);
        }
        await assertRefusedAndNothingStored(401, () => ingest(source.id, body, { 'x-signature': sign(now - 120), 'x-timestamp': String(now) }), 'a fresh timestamp on an old signature');
        await assertRefusedAndNothingStored(401, () => ingest(source.id, body, { 'x-signature': createHmac('sha256', HMAC_SECRET).update(body).digest('base64'), 'x-timestamp': String(now) }), 'the body alone signed');
        await assertRefusedAndNothingStored(401, () => ingest(source.id, body, { 'x-signature': sign(now) }), 'no timestamp header');
        await assertRefusedAndNothingStored(401, () => ingest(source.id, body, { 'x-signature': sign('soon'), 'x-timestamp': 'soon' }), 'a timestamp that is not a number');
      });
    });

    describe('standard-webhooks', () => {
      test('a request signed by the standardwebhooks library is accepted, with webhook-* or svix-* headers', async () => {
        const secret = generateSecret();
        const source = await createSource({ name: 'standard', verification: { scheme: 'standard-webhooks', secret }, eventType: { field: 'type' } });
        assert.deepEqual(source.verification, {
          scheme: 'standard-webhooks',
          header: 'webhook-signature',
          prefix: '',
          encoding: 'base64',
          timestampHeader: 'webhook-timestamp',
          toleranceSeconds: 300,
          secretSet: true,
        });
        const sender = new Webhook(secret);
        const body = JSON.stringify({ type: 'user.created', id: 7 });
        const at = new Date();
        const headers = { 'webhook-id': 'msg_from_sender_1', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': sender.sign('msg_from_sender_1', at, body) };
        const accepted = await ingest(source.id, body, headers);
        assert.equal(accepted.status, 202, accepted.text);
        assert.equal(accepted.json.eventType, 'user.created');

        const svix = { 'svix-id': 'msg_from_sender_2', 'svix-timestamp': headers['webhook-timestamp'], 'svix-signature': `v1,bogus ${sender.sign('msg_from_sender_2', at, body)}` };
        assert.equal((await ingest(source.id, body, svix)).status, 202, 'svix-* headers, the second of two signatures matching');
      });

      test("the sender's webhook-id is the eventId unless the source says otherwise: a retry or a replay within the tolerance is answered with the first message", async () => {
        const secret = generateSecret();
        const source = await createSource({ name: 'standard ids', verification: { scheme: 'standard-webhooks', secret }, eventType: { default: 'std.event' } });
        assert.equal(source.idempotencyHeader, 'webhook-id');
        const body = '{"n":3}';
        const at = new Date();
        const headers = { 'webhook-id': 'msg_sender_retry', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign('msg_sender_retry', at, body) };
        const first = await ingest(source.id, body, headers);
        assert.equal(first.status, 202, first.text);
        assert.equal(first.json.eventId, 'msg_sender_retry');
        const before = await messageIds();
        const again = await ingest(source.id, body, headers);
        assert.deepEqual([again.status, again.json], [200, first.json], 'the same request again: the first message');
        assert.deepEqual(await messageIds(), before, 'nothing stored twice');
        const cleared = await hookd.api.patch(`/api/v1/app/${appId}/source/${source.id}`, { idempotencyHeader: null });
        assert.equal(cleared.body.idempotencyHeader, undefined, 'a PATCH with null: no idempotency header');
      });

      test('a wrong secret, another id, a changed body or a stale timestamp answers 401 and stores nothing', async () => {
        const secret = generateSecret();
        const source = await createSource({ name: 'standard 2', verification: { scheme: 'standard-webhooks', secret, toleranceSeconds: 30 }, eventType: { default: 'std.event' } });
        const body = '{"n":1}';
        const at = new Date();
        const ts = String(Math.floor(at.getTime() / 1000));
        const signed = (by: string, id: string, when: Date, text = body) => new Webhook(by).sign(id, when, text);
        const stale = new Date(at.getTime() - 60_000);
        const cases: [string, Record<string, string>][] = [
          ['no headers', {}],
          ['another secret', { 'webhook-id': 'a', 'webhook-timestamp': ts, 'webhook-signature': signed(generateSecret(), 'a', at) }],
          ['signed for another id', { 'webhook-id': 'a', 'webhook-timestamp': ts, 'webhook-signature': signed(secret, 'b', at) }],
          ['signed for another body', { 'webhook-id': 'a', 'webhook-timestamp': ts, 'webhook-signature': signed(secret, 'a', at, '{"n":2}') }],
          ['a v2 signature', { 'webhook-id': 'a', 'webhook-timestamp': ts, 'webhook-signature': signed(secret, 'a', at).replace('v1,', 'v2,') }],
          ['stale', { 'webhook-id': 'a', 'webhook-timestamp': String(Math.floor(stale.getTime() / 1000)), 'webhook-signature': signed(secret, 'a', stale) }],
          ['no webhook-id', { 'webhook-timestamp': ts, 'webhook-signature': signed(secret, 'a', at) }],
        ];
        for (const [what, headers] of cases) await assertRefusedAndNothingStored(401, () => ingest(source.id, body, headers), what);
      });
    });

    describe('api-key', () => {
      test('the key in the configured header (after its prefix) is accepted; a missing or wrong key answers 401 and stores nothing', async () => {
        const source = await createSource({
          name: 'api key sender',
          verification: { scheme: 'api-key', secret: API_KEY, header: 'Authorization', prefix: 'Bearer ' },
          eventType: { default: 'keyed.event' },
        });
        assert.deepEqual(source.verification, { scheme: 'api-key', header: 'authorization', prefix: 'Bearer ', toleranceSeconds: 300, secretSet: true });
        const body = '{"k":1}';
        const accepted = await ingest(source.id, body, { authorization: `Bearer ${API_KEY}` });
        assert.equal(accepted.status, 202, accepted.text);
        assert.equal(accepted.json.eventType, 'keyed.event');
        for (const [what, headers] of [
          ['none', {}],
          ['without the prefix', { authorization: API_KEY }],
          ['another key', { authorization: `Bearer ${API_KEY.slice(0, -1)}x` }],
          ['a longer key', { authorization: `Bearer ${API_KEY}x` }],
          ['in another header', { 'x-api-key': API_KEY }],
        ] as [string, Record<string, string>][]) {
          await assertRefusedAndNothingStored(401, () => ingest(source.id, body, headers), what);
        }
      });
    });

    describe('header names that are also properties of every JavaScript object', () => {
      test('a source reading `constructor` or `__proto__` headers answers 401 / uses its default when they are absent, never 500', async () => {
        for (const name of ['constructor', '__proto__', 'toString']) {
          const source = await createSource({
            name: `reads ${name}`,
            verification: { scheme: 'api-key', secret: API_KEY, header: name },
            eventType: { header: name, default: 'plain.event' },
            idempotencyHeader: name,
          });
          await assertRefusedAndNothingStored(401, () => ingest(source.id, '{}', {}), `${name}: no key header`);
          const keyed = await createSource({ name: `typed by ${name}`, verification: { scheme: 'api-key', secret: API_KEY }, eventType: { header: name, default: 'plain.event' }, idempotencyHeader: name });
          const accepted = await ingest(keyed.id, '{}', { 'x-api-key': API_KEY });
          assert.equal(accepted.status, 202, `${name}: ${accepted.text}`);
          assert.equal(accepted.json.eventType, 'plain.event', `${name}: absent, so the default`);
          assert.equal(accepted.json.eventId ?? null, null, `${name}: no idempotency key`);
        }
      });
    });

    describe('turning a request into a message', () => {
      test('the idempotency header becomes the eventId: a repeat answers 200 with the first message and stores nothing new', async () => {
        const source = await createSource({ ...hmacSource(), idempotencyHeader: 'X-Idempotency-Key' });
        assert.equal(source.idempotencyHeader, 'x-idempotency-key');
        const body = '{"type":"payment.settled","n":1}';
        const headers = { 'x-webhook-signature': `sha256=${hex(HMAC_SECRET, body)}`, 'x-idempotency-key': 'delivery-8f14e45f' };
        const first = await ingest(source.id, body, headers);
        assert.equal(first.status, 202, first.text);
        assert.equal(first.json.eventId, 'delivery-8f14e45f');
        const before = await messageIds();
        const repeat = await ingest(source.id, body, headers);
        assert.equal(repeat.status, 200, repeat.text);
        assert.deepEqual(repeat.json, first.json);
        assert.deepEqual(await messageIds(), before, 'nothing stored twice');
        const byEventId = await hookd.api.get(`/api/v1/app/${appId}/msg/delivery-8f14e45f`);
        assert.equal(byEventId.body.id, first.json.id);

        // A value that cannot be an eventId is refused rather than silently not deduplicated.
        await assertRefusedAndNothingStored(422, () => ingest(source.id, body, { ...headers, 'x-idempotency-key': 'k'.repeat(257) }), 'an over-long idempotency key');
      });

      test('the event type comes from the header, else the JSON field (dotted), else the default; none or an invalid one is a 422 and stores nothing', async () => {
        const source = await createSource({ name: 'typed', verification: { scheme: 'api-key', secret: API_KEY }, eventType: { header: 'X-Event', field: 'data.object.kind' } });
        const send = (payload: unknown, headers: Record<string, string> = {}) => ingest(source.id, JSON.stringify(payload), { 'x-api-key': API_KEY, ...headers });
        assert.equal((await send({ data: { object: { kind: 'from.field' } } }, { 'x-event': 'from.header' })).json.eventType, 'from.header');
        assert.equal((await send({ data: { object: { kind: 'from.field' } } })).json.eventType, 'from.field');

        const none = await assertRefusedAndNothingStored(422, () => send({ data: {} }), 'no event type anywhere');
        assert.match(none.json.detail[0].msg, /no event type/);
        const badHeader = await assertRefusedAndNothingStored(422, () => send({}, { 'x-event': 'has spaces' }), 'an invalid event type in the header');
        assert.deepEqual(badHeader.json.detail[0].loc, ['header', 'x-event']);
        const badField = await assertRefusedAndNothingStored(422, () => send({ data: { object: { kind: 42 } } }), 'a number in the field');
        assert.deepEqual(badField.json.detail[0].loc, ['body', 'data', 'object', 'kind']);

        const withDefault = await createSource({ name: 'defaulted', verification: { scheme: 'api-key', secret: API_KEY }, eventType: { field: 'type', default: 'fallback.type' } });
        const defaulted = await ingest(withDefault.id, '{"other":1}', { 'x-api-key': API_KEY });
        assert.equal(defaulted.json.eventType, 'fallback.type');
      });

      test("the source's channels are set on its messages", async () => {
        const source = await createSource({ name: 'channelled', verification: { scheme: 'api-key', secret: API_KEY }, eventType: { default: 'ch.event' }, channels: ['eu', 'billing'] });
        const accepted = await ingest(source.id, '{}', { 'x-api-key': API_KEY });
        assert.equal(accepted.status, 202, accepted.text);
        assert.deepEqual((await hookd.api.get(`/api/v1/app/${appId}/msg/${accepted.json.id}`)).body.channels, ['eu', 'billing']);
      });

      test('a JSON body, whatever its content type, must be an object in UTF-8: otherwise 422 (415 compressed) after the signature checked out, and nothing is stored', async () => {
        const source = await createSource({ name: 'bodies', verification: { scheme: 'api-key', secret: API_KEY }, eventType: { default: 'body.event' } });
        const key = { 'x-api-key': API_KEY };
        for (const contentType of ['text/plain', 'application/vnd.sender+json', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
          const accepted = await ingest(source.id, '{"ok":true}', { ...key, 'content-type': contentType });
          assert.equal(accepted.status, 202, `${contentType}: ${accepted.text}`);
          assert.equal((await deliveredBody(accepted.json.id)), '{"ok":true}', contentType);
        }
        const noType = await rawRequest(hookd.url, 'POST', `/ingest/${source.id}`, { token: null, body: new TextEncoder().encode('{"ok":1}'), headers: key });
        assert.equal(noType.status, 202, `no content-type: ${noType.text}`);
        for (const [what, body] of [
          ['not JSON', 'payload=%7B%7D'],
          ['an array', '[1,2]'],
          ['a string', '"text"'],
          ['empty', ''],
          ['U+0000', '{"a":"\\u0000"}'],
          ['too deep', `{"a":${'['.repeat(200)}${']'.repeat(200)}}`],
        ] as const) {
          await assertRefusedAndNothingStored(422, () => ingest(source.id, body, key), what);
        }
        const plain = await assertRefusedAndNothingStored(422, () => ingest(source.id, 'hello', { ...key, 'content-type': 'text/plain' }), 'text/plain that is not JSON');
        assert.match(plain.json.detail[0].msg, /text\/plain\) must be a JSON object/);
        await assertRefusedAndNothingStored(422, () => ingest(source.id, new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]), key), 'invalid UTF-8');
        await assertRefusedAndNothingStored(415, () => ingest(source.id, '{}', { ...key, 'content-encoding': 'gzip' }), 'gzip');
        // Unsigned, the same bodies are a 401: nothing about the body is judged before the signature.
        await assertRefusedAndNothingStored(401, () => ingest(source.id, '[1,2]', {}), 'an unsigned array');
      });

      test('a JSON body is the payload byte for byte: numbers, escapes and key order as the sender wrote them, prototype keys included', async () => {
        const source = await createSource({ name: 'exact', verification: { scheme: 'hmac-sha256', secret: HMAC_SECRET }, eventType: { default: 'exact.event' } });
        const payload = '{"id": 12345678901234567890, "amount": 1.0, "zero": -0.0, "name": "\\u00e9 é", "__proto__": {"x": 1}, "constructor": {"prototype": {}}}';
        for (const contentType of ['application/json', 'text/plain; charset=utf-8']) {
          const body = `\n  ${payload}\n`;
          const accepted = await ingest(source.id, body, { 'content-type': contentType, 'x-webhook-signature': `sha256=${hex(HMAC_SECRET, body)}` });
          assert.equal(accepted.status, 202, `${contentType}: ${accepted.text}`);
          assert.equal(await deliveredBody(accepted.json.id), payload, contentType);
        }
      });

      test('a form-encoded GitHub push (payload=<JSON>) signed over its raw bytes becomes its JSON; a wrong signature answers 401 and stores nothing', async () => {
        const source = await createSource({
          name: 'GitHub',
          verification: { scheme: 'hmac-sha256', secret: HMAC_SECRET, header: 'X-Hub-Signature-256', prefix: 'sha256=' },
          idempotencyHeader: 'X-GitHub-Delivery',
          eventType: { header: 'X-GitHub-Event' },
        });
        const push = '{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","commits":[{"message":"Fix: 100% + more & less"}],"size":1.0}';
        // As GitHub sends it: application/x-www-form-urlencoded, the JSON URL-encoded in the field `payload`.
        const body = `payload=${encodeURIComponent(push)}`;
        const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-github-event': 'push', 'x-github-delivery': `gh-${adapter}-1` };
        const accepted = await ingest(source.id, body, { ...headers, 'x-hub-signature-256': `sha256=${hex(HMAC_SECRET, body)}` });
        assert.equal(accepted.status, 202, accepted.text);
        assert.equal(accepted.json.eventType, 'push');
        assert.equal(await deliveredBody(accepted.json.id), push);

        const forged = { ...headers, 'x-github-delivery': `gh-${adapter}-2` };
        await assertRefusedAndNothingStored(401, () => ingest(source.id, body, { ...forged, 'x-hub-signature-256': `sha256=${hex(`${HMAC_SECRET}x`, body)}` }), 'a wrong secret');
        await assertRefusedAndNothingStored(401, () => ingest(source.id, body, { ...forged, 'x-hub-signature-256': `sha256=${hex(HMAC_SECRET, `payload=${encodeURIComponent(JSON.stringify(JSON.parse(push)))}`)}` }), 'a signature over a re-encoding');
      });

      test('Slack forms, signed as Slack signs: an interactive payload=<JSON> becomes its JSON, a slash command its fields as strings; a form that cannot become a message answers 422 naming the problem', async () => {
        const source = await createSource({ name: 'Slack', verification: { scheme: 'slack', secret: HMAC_SECRET }, eventType: { field: 'type', default: 'slack.command' } });
        assert.deepEqual(source.verification, { scheme: 'slack', header: 'x-slack-signature', prefix: 'v0=', encoding: 'hex', timestampHeader: 'x-slack-request-timestamp', toleranceSeconds: 300, secretSet: true });
        // As Slack signs: v0=<hex HMAC-SHA256(signing secret, "v0:<timestamp>:<raw body>")>.
        const slackHeaders = (body: string, ts = nowSeconds()) => ({
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': String(ts),
          'x-slack-signature': `v0=${hex(HMAC_SECRET, `v0:${ts}:${body}`)}`,
        });
        const send = (body: string) => ingest(source.id, body, slackHeaders(body));
        const interactive = '{"type":"block_actions","user":{"id":"U123"},"actions":[{"value":"a+b c"}]}';
        const clicked = await send(`payload=${encodeURIComponent(interactive)}`);
        assert.equal(clicked.status, 202, clicked.text);
        assert.equal(clicked.json.eventType, 'block_actions');
        assert.equal(await deliveredBody(clicked.json.id), interactive);

        const command = await send('token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&command=%2Fweather&text=94070+%C3%A9&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1234&__proto__=x');
        assert.equal(command.status, 202, command.text);
        assert.equal(command.json.eventType, 'slack.command');
        assert.equal(
          await deliveredBody(command.json.id),
          '{"token":"gIkuvaNzQIHg97ATvDxqgjtO","team_id":"T0001","command":"/weather","text":"94070 é","response_url":"https://hooks.slack.com/commands/1234","__proto__":"x"}',
        );

        for (const [what, body, loc, msg] of [
          ['a payload field that is not JSON', 'payload=hello', ['body', 'payload'], /form field payload must be a JSON object/],
          ['a payload field holding an array', `payload=${encodeURIComponent('[1]')}`, ['body', 'payload'], /form field payload must be a JSON object/],
          ['a repeated field', 'a=1&a=2', ['body', 'a'], /appears more than once/],
          ['a malformed escape', 'text=100%', ['body'], /malformed %-escape/],
          ['bytes that are not UTF-8', 'text=%C0%AF', ['body'], /not UTF-8/],
          ['no fields', '&', ['body'], /no fields/],
        ] as const) {
          const refused = await assertRefusedAndNothingStored(422, () => send(body), what);
          assert.deepEqual(refused.json.detail[0].loc, loc, what);
          assert.match(refused.json.detail[0].msg, msg, what);
        }
        const body = `payload=${encodeURIComponent(interactive)}`;
        const stale = nowSeconds() - 600;
        await assertRefusedAndNothingStored(401, () => ingest(source.id, body, slackHeaders(body, stale)), 'a Slack timestamp 10 minutes old');
        await assertRefusedAndNothingStored(401, () => ingest(source.id, body, { ...slackHeaders(body), 'x-slack-signature': `v0=${hex(HMAC_SECRET, `${nowSeconds()}.${body}`)}` }), 'the hmac-sha256 signed text');
      });

      test('a body that cannot become a JSON message answers 415 naming its content type, after the signature checked out', async () => {
        const source = await createSource({ name: 'types', verification: { scheme: 'api-key', secret: API_KEY }, eventType: { default: 'type.event' } });
        const key = { 'x-api-key': API_KEY };
        for (const [type, body] of [
          ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="payload"\r\n\r\n{}\r\n--x--\r\n'],
          ['application/xml', '<push/>'],
        ] as const) {
          const refused = await assertRefusedAndNothingStored(415, () => ingest(source.id, body, { ...key, 'content-type': type }), type);
          assert.match(refused.json.detail, new RegExp(`content-type ${type.split(';')[0]} cannot become a JSON message`));
        }
        await assertRefusedAndNothingStored(401, () => ingest(source.id, '<push/>', { 'content-type': 'application/xml' }), 'unsigned XML');
      });

      test('an unknown or deleted source answers 404 {code, detail}, the same for any id', async () => {
        const source = await createSource({ name: 'short-lived', verification: { scheme: 'api-key', secret: API_KEY }, eventType: { default: 'x.y' } });
        assert.equal((await hookd.api.delete(`/api/v1/app/${appId}/source/${source.id}`)).status, 204);
        const answers = [];
        for (const id of [source.id, 'src_2zzzzzzzzzzzzzzzzzzzzzzzzzz', 'not-a-source', encodeURIComponent('../api/v1/app')]) {
          const response = await assertRefusedAndNothingStored(404, () => ingest(id, '{}', { 'x-api-key': API_KEY }), id);
          answers.push(response.json);
        }
        assert.equal(new Set(answers.map((a) => JSON.stringify(a))).size, 1, `one answer for every unknown id: ${JSON.stringify(answers)}`);
      });
    });

    describe('managing sources', () => {
      test('secrets are write-only: never in create, get, list, put or patch responses', async () => {
        const secrets = [HMAC_SECRET, 'second-hmac-secret-abcdefgh', generateSecret()];
        const created = await hookd.api.post(`/api/v1/app/${appId}/source`, hmacSource());
        const id = created.body.id;
        const responses = [
          created,
          await hookd.api.get(`/api/v1/app/${appId}/source/${id}`),
          await hookd.api.get(`/api/v1/app/${appId}/source?limit=250`),
          await hookd.api.put(`/api/v1/app/${appId}/source/${id}`, { ...hmacSource(), verification: { scheme: 'hmac-sha256', secret: secrets[1] } }),
          await hookd.api.patch(`/api/v1/app/${appId}/source/${id}`, { verification: { scheme: 'standard-webhooks', secret: secrets[2] } }),
        ];
        for (const response of responses) {
          assert.ok(response.status >= 200 && response.status < 300, JSON.stringify(response.body));
          const text = JSON.stringify(response.body);
          for (const secret of secrets) assert.ok(!text.includes(secret) && !text.includes(secret.slice(6, 30)), `a secret in ${text}`);
          assert.ok(!/"secret"/.test(text), text);
        }
        assert.equal(responses[4]!.body.verification.secretSet, true);
        const openapi = JSON.stringify(await (await fetch(`${hookd.url}/openapi.json`)).json());
        assert.match(openapi, /\/ingest\/\{source_id\}/);
        assert.match(openapi, /\/api\/v1\/app\/\{app_id\}\/source\/\{source_id\}/);
      });

      test('PUT keeps the secret unless the scheme changes; PATCH merges verification fields', async () => {
        const source = await createSource(hmacSource({ timestampHeader: 'x-ts', toleranceSeconds: 10 }));
        const body = '{"type":"kept.secret"}';
        const put = await hookd.api.put(`/api/v1/app/${appId}/source/${source.id}`, { ...hmacSource(), name: 'renamed', verification: { scheme: 'hmac-sha256' } });
        assert.equal(put.status, 200, JSON.stringify(put.body));
        assert.equal(put.body.name, 'renamed');
        assert.equal(put.body.verification.timestampHeader, undefined, 'PUT replaces: the timestamp header is gone');
        assert.equal((await ingest(source.id, body, { 'x-webhook-signature': `sha256=${hex(HMAC_SECRET, body)}` })).status, 202, 'the secret was kept');

        const patched = await hookd.api.patch(`/api/v1/app/${appId}/source/${source.id}`, { verification: { toleranceSeconds: 42 }, idempotencyHeader: 'X-Delivery' });
        assert.equal(patched.status, 200, JSON.stringify(patched.body));
        assert.equal(patched.body.verification.toleranceSeconds, 42);
        assert.equal(patched.body.verification.header, 'x-webhook-signature');
        assert.equal(patched.body.idempotencyHeader, 'x-delivery');
        const cleared = await hookd.api.patch(`/api/v1/app/${appId}/source/${source.id}`, { idempotencyHeader: null });
        assert.equal(cleared.body.idempotencyHeader, undefined);

        const noSecret = await hookd.api.put(`/api/v1/app/${appId}/source/${source.id}`, { ...hmacSource(), verification: { scheme: 'api-key' } });
        assert.equal(noSecret.status, 422, JSON.stringify(noSecret.body));
        assert.deepEqual(noSecret.body.detail[0].loc, ['body', 'verification', 'secret']);
        const switched = await hookd.api.patch(`/api/v1/app/${appId}/source/${source.id}`, { verification: { scheme: 'api-key', secret: API_KEY } });
        assert.equal(switched.status, 200, JSON.stringify(switched.body));
        assert.equal(switched.body.verification.header, 'x-api-key', "the new scheme's defaults");
        assert.equal((await ingest(source.id, body, { 'x-api-key': API_KEY })).status, 202);
      });

      test('invalid sources are refused with 422 at the field: no unverified scheme, short or malformed secrets, headers a scheme fixes, no event type', async () => {
        const cases: [Record<string, unknown>, (string | number)[]][] = [
          [{ ...hmacSource(), verification: { scheme: 'none', secret: HMAC_SECRET } }, ['body', 'verification', 'scheme']],
          [{ ...hmacSource(), verification: { scheme: 'hmac-sha256' } }, ['body', 'verification', 'secret']],
          [{ ...hmacSource(), verification: { scheme: 'hmac-sha256', secret: 'short' } }, ['body', 'verification', 'secret']],
          [{ ...hmacSource(), verification: { scheme: 'standard-webhooks', secret: HMAC_SECRET } }, ['body', 'verification', 'secret']],
          [{ ...hmacSource(), verification: { scheme: 'standard-webhooks', secret: generateSecret(), header: 'x-sig' } }, ['body', 'verification', 'header']],
          [{ ...hmacSource(), verification: { scheme: 'api-key', secret: API_KEY, timestampHeader: 'x-ts' } }, ['body', 'verification', 'timestampHeader']],
          [{ ...hmacSource(), verification: { scheme: 'slack', secret: HMAC_SECRET, prefix: 'sha256=' } }, ['body', 'verification', 'prefix']],
          [{ ...hmacSource(), verification: { scheme: 'slack', secret: 'short' } }, ['body', 'verification', 'secret']],
          [{ ...hmacSource(), verification: { scheme: 'api-key', secret: 'has a space in the key' } }, ['body', 'verification', 'secret']],
          [{ ...hmacSource(), verification: { scheme: 'hmac-sha256', secret: HMAC_SECRET, header: 'bad header' } }, ['body', 'verification', 'header']],
          [{ ...hmacSource(), eventType: {} }, ['body', 'eventType']],
          [{ ...hmacSource(), eventType: { default: 'not valid!' } }, ['body', 'eventType', 'default']],
          [{ ...hmacSource(), eventType: { field: 'a..b' } }, ['body', 'eventType', 'field']],
        ];
        for (const [body, loc] of cases) {
          const response = await hookd.api.post(`/api/v1/app/${appId}/source`, body);
          assert.equal(response.status, 422, `${JSON.stringify(body)}: ${JSON.stringify(response.body)}`);
          assert.deepEqual(response.body.detail[0].loc, loc, JSON.stringify(response.body));
        }
      });

      test("a key scoped to an application manages that application's sources and gets 404 for another's", async () => {
        const own = await createSource({ name: 'own', verification: { scheme: 'api-key', secret: API_KEY }, eventType: { default: 'own.event' } }, scoped, otherAppId);
        assert.equal((await scoped.get(`/api/v1/app/${otherAppId}/source/${own.id}`)).status, 200);
        assert.equal((await scoped.patch(`/api/v1/app/${otherAppId}/source/${own.id}`, { name: 'own, renamed' })).body.name, 'own, renamed');
        assert.deepEqual((await scoped.get(`/api/v1/app/${otherAppId}/source`)).body.data.map((s: { id: string }) => s.id), [own.id]);

        const foreign = await createSource(hmacSource());
        for (const [method, path, body] of [
          ['GET', `/api/v1/app/${appId}/source`, undefined],
          ['POST', `/api/v1/app/${appId}/source`, hmacSource()],
          ['GET', `/api/v1/app/${appId}/source/${foreign.id}`, undefined],
          ['PUT', `/api/v1/app/${appId}/source/${foreign.id}`, hmacSource()],
          ['PATCH', `/api/v1/app/${appId}/source/${foreign.id}`, { name: 'taken' }],
          ['DELETE', `/api/v1/app/${appId}/source/${foreign.id}`, undefined],
          // Its own app in the path, another app's source: as missing.
          ['GET', `/api/v1/app/${otherAppId}/source/${foreign.id}`, undefined],
          ['DELETE', `/api/v1/app/${otherAppId}/source/${foreign.id}`, undefined],
        ] as const) {
          const response = await scoped.request(method, path, body);
          assert.equal(response.status, 404, `${method} ${path}: ${JSON.stringify(response.body)}`);
        }
        const still = await hookd.api.get(`/api/v1/app/${appId}/source/${foreign.id}`);
        assert.equal(still.body.name, 'hmac sender', 'unchanged');

        assert.equal((await scoped.delete(`/api/v1/app/${otherAppId}/source/${own.id}`)).status, 204);
      });
    });
  });
}
