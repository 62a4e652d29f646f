import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startTestHookd, type ApiResponse, type TestHookd } from '../helpers/hookd.js';
import { jsonErrorProblem, rawRequest } from '../helpers/raw.js';

/**
 * The per-application ingest rate limit on a real hookd: a token bucket per application (one second's worth of
 * messages, refilled at its `ingestRateLimit`/s, else HOOKD_APP_RATE_LIMIT) on both ingest paths, POST /api/v1/app/{app}/msg and
 * POST /ingest/{source_id}. Over it: 429 {code, detail} with Retry-After, and nothing is stored; after waiting
 * Retry-After seconds the application is accepted again. Real time, no fake clock: the waits are about 1 s.
 */

type Hookd = TestHookd & { cleanup: () => Promise<void> };

const API_KEY = 'rate-limit-test-key-0123456789';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function createApp(hookd: Hookd, uid: string, ingestRateLimit?: number): Promise<string> {
  const response = await hookd.api.post('/api/v1/app', { name: uid, uid, ...(ingestRateLimit === undefined ? {} : { ingestRateLimit }) });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body.id;
}

async function messageCount(hookd: Hookd, appId: string): Promise<number> {
  return (await hookd.api.get(`/api/v1/app/${appId}/msg?limit=250`)).body.data.length;
}

const send = (hookd: Hookd, appId: string, n: number, headers: Record<string, string> = {}): Promise<ApiResponse> =>
  hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'rate.test', payload: { n } }, headers);

/** Sends until the first refusal; returns the accepted count, the refusal and how long it took. */
async function drain(sendOne: (n: number) => Promise<{ status: number }>, atMost: number): Promise<{ accepted: number; refused: any; elapsedMs: number }> {
  const started = performance.now();
  for (let n = 0; n < atMost; n++) {
    const response = await sendOne(n);
    if (response.status === 429) return { accepted: n, refused: response, elapsedMs: performance.now() - started };
    assert.equal(response.status, 202, JSON.stringify(response));
  }
  return { accepted: atMost, refused: null, elapsedMs: performance.now() - started };
}

/**
 * The burst (one second's worth) was accepted, plus at most what refilled while sending (the bucket refills
 * continuously, and a loaded test machine may take a while for the burst).
 */
function assertBurst(result: { accepted: number; elapsedMs: number }, rate: number): void {
  const refilled = Math.floor((result.elapsedMs * rate) / 1000);
  assert.ok(result.accepted >= rate && result.accepted <= rate + refilled, `accepted ${result.accepted} in ${result.elapsedMs.toFixed(0)} ms at ${rate}/s`);
}

function assertRateLimited(response: { status: number; headers: Headers }, body: unknown): number {
  assert.equal(response.status, 429, JSON.stringify(body));
  assert.equal((body as { code: string }).code, 'rate_limited');
  assert.equal(typeof (body as { detail: string }).detail, 'string');
  const retryAfter = response.headers.get('retry-after');
  assert.match(retryAfter ?? '', /^[1-9]\d*$/, 'Retry-After in whole seconds');
  return Number(retryAfter);
}

describe('ingest rate limit, no default (HOOKD_APP_RATE_LIMIT unset)', () => {
  let hookd: Hookd;
  before(async () => {
    hookd = await startTestHookd();
  });
  after(async () => hookd?.cleanup());

  test("POST /msg: an application's ingestRateLimit messages at once, then 429 with Retry-After and nothing stored; accepted again after waiting", async () => {
    const appId = await createApp(hookd, 'limited', 3);
    const result = await drain((n) => send(hookd, appId, n), 20);
    assertBurst(result, 3);
    const retryAfter = assertRateLimited(result.refused, result.refused.body);
    assert.equal(retryAfter, 1, 'a third of a second, rounded up to whole seconds');
    assert.equal(await messageCount(hookd, appId), result.accepted, 'the refused message was not stored');

    await sleep(retryAfter * 1000);
    const later = await send(hookd, appId, 100);
    assert.equal(later.status, 202, JSON.stringify(later.body));
    assert.equal(await messageCount(hookd, appId), result.accepted + 1);
  });

  test('a refused request with an idempotency-key is not replayed as a 429: the retry with the same key runs', async () => {
    const appId = await createApp(hookd, 'idempotent', 1);
    assert.equal((await send(hookd, appId, 1)).status, 202);
    const refused = await send(hookd, appId, 2, { 'idempotency-key': 'retry-me' });
    const retryAfter = assertRateLimited(refused, refused.body);
    await sleep(retryAfter * 1000);
    const retried = await send(hookd, appId, 2, { 'idempotency-key': 'retry-me' });
    assert.equal(retried.status, 202, JSON.stringify(retried.body));
    assert.equal(retried.headers.get('idempotent-replayed'), null);
    const replayed = await send(hookd, appId, 2, { 'idempotency-key': 'retry-me' });
    assert.equal(replayed.status, 202);
    assert.equal(replayed.headers.get('idempotent-replayed'), 'true', 'the 202 is what is remembered');
    assert.equal(await messageCount(hookd, appId), 2);
  });

  test('applications without an ingestRateLimit, or with 0, are not limited; limits are per application', async () => {
    const free = await createApp(hookd, 'free');
    const zero = await createApp(hookd, 'zero', 0);
    const tight = await createApp(hookd, 'tight', 1);
    assert.equal((await send(hookd, tight, 0)).status, 202);
    assert.equal((await send(hookd, tight, 1)).status, 429);
    for (const appId of [free, zero]) assert.equal((await drain((n) => send(hookd, appId, n), 25)).accepted, 25);
  });

  test('POST /ingest/{source_id} counts against the same bucket: 429 with Retry-After, nothing stored, accepted after waiting', async () => {
    const appId = await createApp(hookd, 'inbound-limited', 2);
    const source = await hookd.api.post(`/api/v1/app/${appId}/source`, { name: 'keyed', verification: { scheme: 'api-key', secret: API_KEY }, eventType: { default: 'rate.inbound' } });
    assert.equal(source.status, 201, JSON.stringify(source.body));
    const ingest = (n: number) =>
      rawRequest(hookd.url, 'POST', `/ingest/${source.body.id}`, { token: null, body: JSON.stringify({ n }), headers: { 'content-type': 'application/json', 'x-api-key': API_KEY } });
    // One message through POST /msg, the rest through /ingest: one bucket.
    const result = await drain((n) => (n === 0 ? send(hookd, appId, n) : ingest(n)), 20);
    assertBurst(result, 2);
    const refused = result.refused;
    assert.equal(jsonErrorProblem(refused, [429]), null, refused.text);
    const retryAfter = assertRateLimited(refused, refused.json);
    assert.equal(await messageCount(hookd, appId), result.accepted, 'nothing stored for the 429');
    // An unsigned request is refused for its signature, not counted.
    assert.equal((await rawRequest(hookd.url, 'POST', `/ingest/${source.body.id}`, { token: null, body: '{}' })).status, 401);

    await sleep(retryAfter * 1000);
    assert.equal((await ingest(99)).status, 202);
    assert.equal(await messageCount(hookd, appId), result.accepted + 1);
  });

  test("an endpoint's send-example counts against the same bucket: 429 with Retry-After, nothing stored", async () => {
    const appId = await createApp(hookd, 'example-limited', 1);
    const endpoint = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: 'https://example.com/hook' });
    assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));
    const example = () => rawRequest(hookd.url, 'POST', `/api/v1/app/${appId}/endpoint/${endpoint.body.id}/send-example`, { body: JSON.stringify({ eventType: 'svix.ping' }), headers: { 'content-type': 'application/json' } });
    assert.equal((await example()).status, 200);
    const refused = await example();
    assert.equal(jsonErrorProblem(refused, [429]), null, refused.text);
    assertRateLimited(refused, refused.json);
    assert.equal((await send(hookd, appId, 0)).status, 429, 'the bucket is the one POST /msg uses');
    assert.equal(await messageCount(hookd, appId), 1, 'nothing stored for the 429s');
  });
});

describe('ingest rate limit with a default (HOOKD_APP_RATE_LIMIT=4)', () => {
  let hookd: Hookd;
  before(async () => {
    hookd = await startTestHookd({ env: { HOOKD_APP_RATE_LIMIT: '4' } });
  });
  after(async () => hookd?.cleanup());

  test("the default limits applications without their own ingestRateLimit; an application's own wins, and 0 exempts it", async () => {
    const defaulted = await createApp(hookd, 'defaulted');
    const own = await createApp(hookd, 'own', 7);
    const exempt = await createApp(hookd, 'exempt', 0);
    assertBurst(await drain((n) => send(hookd, defaulted, n), 30), 4);
    assertBurst(await drain((n) => send(hookd, own, n), 30), 7);
    assert.equal((await drain((n) => send(hookd, exempt, n), 20)).accepted, 20);
  });

  test("an application's rateLimit / throttleRate (Svix's) is not its ingest limit: it throttles its endpoints, and ingest keeps the default", async () => {
    const throttled = await hookd.api.post('/api/v1/app', { name: 'throttled', throttleRate: 1, ingestRateLimit: 0 });
    assert.equal(throttled.status, 201, JSON.stringify(throttled.body));
    assert.deepEqual([throttled.body.throttleRate, throttled.body.rateLimit, throttled.body.ingestRateLimit], [1, 1, 0]);
    assert.equal((await drain((n) => send(hookd, throttled.body.id, n), 20)).accepted, 20, 'throttleRate 1 refuses nothing');
    const v1 = await hookd.api.post('/api/v1/app', { name: 'v1 throttled', rateLimit: 100 });
    assertBurst(await drain((n) => send(hookd, v1.body.id, n), 30), 4);
  });

  test('an ingestRateLimit changed through the API applies to the next message', async () => {
    const appId = await createApp(hookd, 'changing', 1);
    assertBurst(await drain((n) => send(hookd, appId, n), 10), 1);
    assert.equal((await hookd.api.patch(`/api/v1/app/${appId}`, { ingestRateLimit: 0 })).status, 200);
    assert.equal((await drain((n) => send(hookd, appId, n), 10)).accepted, 10, 'exempt now');
  });
});

test('HOOKD_APP_RATE_LIMIT is a whole number of messages per second; 0 or unset means no default limit', () => {
  const base = { HOOKD_SQLITE_PATH: '/tmp/hookd-rate-limit-config.db' };
  assert.equal(loadConfig(base).appRateLimit, null);
  assert.equal(loadConfig({ ...base, HOOKD_APP_RATE_LIMIT: '0' }).appRateLimit, null);
  assert.equal(loadConfig({ ...base, HOOKD_APP_RATE_LIMIT: '250' }).appRateLimit, 250);
  for (const bad of ['-1', '1.5', 'ten', '1e9']) {
    assert.throws(() => loadConfig({ ...base, HOOKD_APP_RATE_LIMIT: bad }), (error: unknown) => error instanceof ConfigError && /HOOKD_APP_RATE_LIMIT/.test((error as Error).message), bad);
  }
});
