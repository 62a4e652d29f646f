import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { createLogger } from '../../src/logger.js';
import { ApiClient, TEST_TOKEN, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { Receiver, type ReceivedRequest } from '../helpers/receiver.js';

/**
 * Endpoint secrets: the whsec_ format, rotation that keeps the old secret only for its grace period, and no secret
 * (or API token) in any response but GET .../secret, or in any log line, even at trace level.
 */

const whsec = (bytes: number) => `whsec_${randomBytes(bytes).toString('base64')}`;

describe('endpoint secrets', () => {
  const logLines: string[] = [];
  let hookd: TestHookd & { cleanup: () => Promise<void> };
  let receiver: Receiver;
  let appId: string;
  /** Every secret and token this test handles: none may ever show up in a log line. */
  const sensitive: string[] = [TEST_TOKEN];
  const failingUntil = { n: 2 };

  before(async () => {
    const capture = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
        done();
      },
    });
    hookd = await startTestHookd({ env: { HOOKD_SECRET_GRACE: '1s', HOOKD_RETRY_SCHEDULE: '50ms,50ms' }, logger: createLogger('trace', capture) });
    // Fails the first requests, so failed attempts are logged too.
    let seen = 0;
    receiver = await Receiver.start((_request, response) => {
      seen++;
      response.writeHead(seen <= failingUntil.n ? 500 : 200).end(seen <= failingUntil.n ? 'boom' : 'ok');
    });
    appId = (await hookd.api.post('/api/v1/app', { name: 'secrets' })).body.id;
    await hookd.api.createEventTypes('never.sent', 'sig.test', 'sig.many');
  });
  after(async () => {
    await hookd.cleanup();
    await receiver.close();
  });

  async function publish(eventType: string): Promise<ReceivedRequest> {
    const msg = (await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType, payload: { eventType } })).body.id as string;
    const all = await receiver.waitFor((requests) => requests.some((r) => r.headers['webhook-id'] === msg), 10_000, msg);
    return all.find((r) => r.headers['webhook-id'] === msg)!;
  }

  function verifies(request: ReceivedRequest, secret: string): boolean {
    try {
      new Webhook(secret).verify(request.body, { 'webhook-id': String(request.headers['webhook-id']), 'webhook-timestamp': String(request.headers['webhook-timestamp']), 'webhook-signature': String(request.headers['webhook-signature']) });
      return true;
    } catch {
      return false;
    }
  }

  test('generated secrets are whsec_ + base64 of 24 to 64 random bytes, different every time', async () => {
    const secrets = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const endpoint = (await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/gen${i}`, filterTypes: ['never.sent'] })).body;
      const { key } = (await hookd.api.get(`/api/v1/app/${appId}/endpoint/${endpoint.id}/secret`)).body;
      assert.match(key, /^whsec_[A-Za-z0-9+/]+={0,2}$/);
      const bytes = Buffer.from(key.slice('whsec_'.length), 'base64').length;
      assert.ok(bytes >= 24 && bytes <= 64, `${bytes} bytes`);
      secrets.add(key);
      sensitive.push(key);
    }
    assert.equal(secrets.size, 3);
  });

  test('a supplied secret outside 24..64 bytes or not base64 is a 422 that does not echo it', async () => {
    for (const secret of [whsec(23), whsec(65), 'whsec_not*base64*at*all*but*long*enough', whsec(24).slice(0, -4)]) {
      const response = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/bad`, secret });
      assert.equal(response.status, 422, secret);
      assert.ok(!JSON.stringify(response.body).includes(secret.slice(6, 30)), 'the rejected secret is not echoed');
    }
    for (const bytes of [24, 64]) {
      const response = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/ok${bytes}`, secret: whsec(bytes), filterTypes: ['never.sent'] });
      assert.equal(response.status, 201, `${bytes} bytes accepted`);
    }
  });

  test('no response but GET .../secret (and the rotation answering its new secret) carries a secret; rotation keeps the old one exactly for its grace period', async () => {
    const first = whsec(32);
    const second = whsec(48);
    sensitive.push(first, second);
    const created = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/hook`, secret: first, filterTypes: ['sig.test'] });
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    const responses = [
      created,
      await hookd.api.get(`/api/v1/app/${appId}/endpoint`),
      await hookd.api.get(`/api/v1/app/${appId}/endpoint/${id}`),
      await hookd.api.get(`/api/v1/app/${appId}/endpoint/${id}/headers`),
      await hookd.api.patch(`/api/v1/app/${appId}/endpoint/${id}`, { description: 'patched' }),
      await hookd.api.put(`/api/v1/app/${appId}/endpoint/${id}`, { url: `${receiver.url}/hook`, filterTypes: ['sig.test'], description: 'put' }),
    ];
    for (const response of responses) {
      assert.ok(response.status < 300, JSON.stringify(response.body));
      const text = JSON.stringify(response.body);
      assert.ok(!text.includes(first.slice(6)), `secret in ${text}`);
      assert.ok(!/whsec_/.test(text), `a whsec_ value in ${text}`);
    }
    assert.equal((await hookd.api.get(`/api/v1/app/${appId}/endpoint/${id}/secret`)).body.key, first);

    failingUntil.n = receiver.requests.length + 2; // the next message fails twice before it succeeds
    const beforeRotation = await publish('sig.test');
    assert.ok(verifies(beforeRotation, first));

    const rotated = await hookd.api.post(`/api/v1/app/${appId}/endpoint/${id}/secret/rotate`, { key: second });
    assert.deepEqual([rotated.status, rotated.body], [200, { key: second }], 'the new secret is answered (the Python SDK 2.x parses it)');
    assert.equal((await hookd.api.get(`/api/v1/app/${appId}/endpoint/${id}/secret`)).body.key, second);

    const duringGrace = await publish('sig.test');
    assert.equal(String(duringGrace.headers['webhook-signature']).split(' ').length, 2);
    assert.ok(verifies(duringGrace, first), 'old secret still valid during the grace period');
    assert.ok(verifies(duringGrace, second));

    await new Promise((r) => setTimeout(r, 1200)); // HOOKD_SECRET_GRACE=1s
    const afterGrace = await publish('sig.test');
    assert.equal(String(afterGrace.headers['webhook-signature']).split(' ').length, 1);
    assert.ok(verifies(afterGrace, second));
    assert.ok(!verifies(afterGrace, first), 'old secret no longer signs after the grace period');
  });

  test('an endpoint signs with at most 5 secrets however often it is rotated: the current one and the 4 most recent in their grace', async () => {
    const created = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/hook`, filterTypes: ['sig.many'] });
    const id = created.body.id as string;
    const keys: string[] = [];
    for (let i = 0; i < 12; i++) {
      const rotated = await hookd.api.post(`/api/v1/app/${appId}/endpoint/${id}/secret/rotate`, { gracePeriodSeconds: 3600 });
      assert.equal(rotated.status, 200);
      keys.push(rotated.body.key as string);
    }
    sensitive.push(...keys);
    failingUntil.n = 0;
    const signed = await publish('sig.many');
    assert.equal(String(signed.headers['webhook-signature']).split(' ').length, 5, 'five signatures, not thirteen');
    for (const key of keys.slice(-5)) assert.ok(verifies(signed, key), 'the newest secrets sign');
    assert.ok(!verifies(signed, keys[6]!), 'an older one still in its grace period no longer does');
    await hookd.api.delete(`/api/v1/app/${appId}/endpoint/${id}`);
  });

  test('tokens and secrets never reach the logs, even at trace level', async () => {
    // A refused token and an unknown route, so authentication failures are exercised too.
    const stranger = `hookd_${randomBytes(24).toString('hex')}`;
    sensitive.push(stranger);
    assert.equal((await new ApiClient(hookd.url, stranger).get('/api/v1/app')).status, 401);
    assert.equal((await hookd.api.get('/api/v1/nowhere')).status, 404);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(logLines.some((l) => l.includes('delivery attempt failed')), `logs were captured (${logLines.length} lines)`);
    for (const value of sensitive) {
      const secretPart = value.startsWith('whsec_') ? value.slice(6) : value;
      const leaked = logLines.find((l) => l.includes(secretPart));
      assert.equal(leaked, undefined, `a log line carries ${value.slice(0, 10)}…`);
    }
  });
});
