import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { memberText } from '../../src/api/json-body.js';
import { startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { freshDatabase, testDatabaseUrl } from '../helpers/process.js';
import { rawRequest, type RawResponse } from '../helpers/raw.js';
import { Receiver } from '../helpers/receiver.js';

/**
 * A message's payload is the sender's JSON text: stored, signed, delivered and read back byte for byte, never
 * parsed and re-serialised (which rounds big integers, turns `-0.0` into `0` and `"\u00e9"` into `"é"`).
 */

/** Everything a re-serialisation would change, in the order and spacing the sender chose. */
const PAYLOAD = [
  '{"big": 12345678901234567890, "negative": -98765432109876543210, "negZero": -0.0, "one": 1.0, "e": 1e2, "E": 1E+2,',
  ' "tiny": 1e-400, "escaped": "\\u00e9\\u2028\\/", "raw": "é€😀", "zebra": {"z": 1, "a": {"y": [1.50, {"b": 2, "a": 1}]}},',
  ' "__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "empty": {}, "list": [ ] }',
].join('\n');

const ENDPOINT_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

for (const adapter of ['sqlite', 'postgres'] as const) {
  describe(`payload bytes (${adapter})`, () => {
    let hookd: TestHookd & { cleanup: () => Promise<void> };
    let receiver: Receiver;
    let database: Awaited<ReturnType<typeof freshDatabase>> | null = null;
    let appId: string;

    const send = (body: string, headers: Record<string, string> = {}): Promise<RawResponse> =>
      rawRequest(hookd.url, 'POST', `/api/v1/app/${appId}/msg`, { body, headers: { 'content-type': 'application/json', ...headers } });

    /** The body the receiver got for message `id`. */
    const delivered = async (id: string) => {
      const requests = await receiver.waitFor((rs) => rs.some((r) => r.headers['webhook-id'] === id), 10_000, `the delivery of ${id}`);
      return requests.find((r) => r.headers['webhook-id'] === id)!;
    };

    before(async () => {
      receiver = await Receiver.start();
      if (adapter === 'postgres') database = await freshDatabase(testDatabaseUrl(), 'payload');
      hookd = await startTestHookd(database ? { env: { DATABASE_URL: database.url } } : {});
      appId = (await hookd.api.post('/api/v1/app', { name: 'payload bytes' })).body.id;
      const endpoint = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/hook`, secret: ENDPOINT_SECRET });
      assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));
    });

    after(async () => {
      await hookd?.cleanup();
      await receiver?.close();
      await database?.drop();
    });

    test('the payload is delivered byte for byte as sent, and its Standard Webhooks signature verifies over those bytes', async () => {
      const response = await send(`{"eventType": "payload.exact",\n  "payload":  ${PAYLOAD}  ,\n  "eventId": "exact-1"}`);
      assert.equal(response.status, 202, response.text);

      const request = await delivered(response.json.id);
      assert.ok(Buffer.from(request.body, 'utf8').equals(Buffer.from(PAYLOAD, 'utf8')), `delivered ${request.body}`);
      const headers = request.headers as Record<string, string>;
      const webhook = new Webhook(ENDPOINT_SECRET);
      // verify throws unless a signature matches these exact bytes: a re-serialisation of them does not verify.
      const parsed = webhook.verify(request.body, headers) as Record<string, unknown>;
      assert.throws(() => webhook.verify(JSON.stringify(JSON.parse(PAYLOAD)), headers), /No matching signature/);
      assert.deepEqual(parsed, JSON.parse(PAYLOAD));
      assert.ok(Object.hasOwn(parsed, '__proto__'), 'a receiver that parses gets prototype keys as ordinary keys');
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was touched');
    });

    test('the 202 answer, GET .../msg/{id} and the message list return the payload bytes as sent', async () => {
      const response = await send(`{"eventType":"payload.read","payload":${PAYLOAD}}`);
      assert.equal(response.status, 202, response.text);
      const id = response.json.id as string;
      assert.ok(response.text.includes(`"payload":${PAYLOAD}`), response.text);

      const one = await rawRequest(hookd.url, 'GET', `/api/v1/app/${appId}/msg/${id}`);
      assert.equal(one.status, 200, one.text);
      assert.match(one.headers.get('content-type') ?? '', /^application\/json/);
      assert.ok(one.text.includes(`"payload":${PAYLOAD}`), one.text);
      assert.equal(one.json.id, id);
      assert.equal(one.json.eventType, 'payload.read');
      assert.equal(typeof one.json.timestamp, 'string');

      const list = await rawRequest(hookd.url, 'GET', `/api/v1/app/${appId}/msg?limit=250`);
      assert.equal(list.status, 200, list.text);
      assert.ok(list.text.includes(`"id":"${id}"`) && list.text.includes(`"payload":${PAYLOAD}`), list.text);
      assert.equal(list.json.done, true);
      assert.ok(list.json.data.some((m: { id: string }) => m.id === id));

      const withoutContent = await rawRequest(hookd.url, 'GET', `/api/v1/app/${appId}/msg/${id}?with_content=false`);
      assert.deepEqual(withoutContent.json.payload, {});
    });

    test('of duplicate payload keys the last one counts, as in JSON.parse, including one written with escapes', async () => {
      const response = await send('{"eventType":"payload.dup","payload":{"first":1.0},"p\\u0061yload":{"second":2.0},"tags":["x"]}');
      assert.equal(response.status, 202, response.text);
      assert.equal((await delivered(response.json.id)).body, '{"second":2.0}');
    });

    test('an idempotency-key repeat must carry the same bytes: the same body replays, 1.0 instead of 1 is a 422', async () => {
      const key = { 'idempotency-key': `payload-${adapter}` };
      const first = await send('{"eventType":"payload.idem","payload":{"n":1}}', key);
      assert.equal(first.status, 202, first.text);
      const repeat = await send('{"eventType":"payload.idem","payload":{"n":1}}', key);
      assert.equal(repeat.status, 202, repeat.text);
      assert.equal(repeat.headers.get('idempotent-replayed'), 'true');
      assert.equal(repeat.json.id, first.json.id);
      const changed = await send('{"eventType":"payload.idem","payload":{"n":1.0}}', key);
      assert.equal(changed.status, 422, changed.text);
      assert.deepEqual(changed.json.detail[0].loc, ['header', 'idempotency-key']);
    });
  });
}

describe('memberText', () => {
  test('finds the source span of a top-level member, whatever nests or is escaped around it', () => {
    const text = '{"a":{"payload":1},"s":"\\"payload\\":2,","payload" :\t[1, {"x":"}"}]\n, "b":"payload"}';
    assert.equal(memberText(text, 'payload'), '[1, {"x":"}"}]');
    assert.equal(memberText('{"payload":"last"}', 'payload'), '"last"');
    // A string ending in an escaped backslash closes at the next quote; an escaped quote does not close it.
    assert.equal(memberText('{"s":"\\\\","payload":{"t":"\\\\\\""}}', 'payload'), '{"t":"\\\\\\""}');
    assert.equal(memberText('{"other":{"payload":1}}', 'payload'), null);
  });
});
