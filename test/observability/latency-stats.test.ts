import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { Receiver } from '../helpers/receiver.js';

/**
 * GET /api/v1/app/{app}/endpoint/{ep}/stats/latency against real deliveries to a receiver that answers after
 * known delays: counts, success rate and nearest-rank percentiles of the attempt durations over a window.
 */

type Hookd = TestHookd & { cleanup: () => Promise<void> };

/** Each message says how long the receiver waits before answering, and whether it answers 500. */
const PLAN = [
  { delayMs: 20, fail: false },
  { delayMs: 60, fail: false },
  { delayMs: 100, fail: false },
  { delayMs: 140, fail: false },
  { delayMs: 400, fail: false },
  { delayMs: 10, fail: true },
];

describe('endpoint latency stats', () => {
  let hookd: Hookd;
  let receiver: Receiver;
  let appId: string;
  let endpointId: string;
  let quietEndpointId: string;
  let startedAt: number;

  before(async () => {
    // One attempt per message within the test: a failure would be retried only after an hour.
    hookd = await startTestHookd({ env: { HOOKD_RETRY_SCHEDULE: '1h' } });
    receiver = await Receiver.start((request, response) => {
      const { delayMs, fail } = JSON.parse(request.body) as { delayMs: number; fail: boolean };
      setTimeout(() => response.writeHead(fail ? 500 : 200).end(fail ? 'no' : 'ok'), delayMs);
    });
    appId = (await hookd.api.post('/api/v1/app', { name: 'latency', uid: 'latency-app' })).body.id;
    await hookd.api.createEventTypes('timed', 'never');
    endpointId = (await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/hook`, uid: 'timed', filterTypes: ['timed'] })).body.id;
    quietEndpointId = (await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/quiet`, filterTypes: ['never'] })).body.id;
    startedAt = Date.now();
    for (const step of PLAN) assert.equal((await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'timed', payload: step })).status, 202);
    await receiver.waitFor((requests) => requests.length === PLAN.length, 10_000, 'every message');
  });
  after(async () => {
    await hookd.cleanup();
    await receiver.close();
  });

  const stats = async (endpoint: string, query = '') => {
    // The attempts are recorded a moment after the receiver answers.
    for (let i = 0; ; i++) {
      const response = await hookd.api.get(`/api/v1/app/latency-app/endpoint/${endpoint}/stats/latency${query}`);
      if (response.status !== 200 || response.body.attempts === PLAN.length || i >= 100 || endpoint === quietEndpointId || query) return response;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  test('counts, success rate and percentiles of the last 24 hours by default (ids or uids)', async () => {
    const response = await stats('timed');
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const body = response.body;
    assert.deepEqual([body.attempts, body.succeeded, body.failed], [6, 5, 1]);
    assert.equal(body.successRate, 5 / 6);
    assert.ok(Math.abs(Date.parse(body.until) - Date.now()) < 5_000);
    assert.equal(Date.parse(body.until) - Date.parse(body.since), 24 * 3_600_000);
    // The attempts' recorded durations, each at least its receiver's delay (how much more depends on the machine's
    // load: up to 93 ms more was seen beside other work). Nearest rank over the six: p50 is the 3rd (ceil(0.5 * 6)),
    // p90 and p99 the 6th.
    const attempts = (await hookd.api.get(`/api/v1/app/latency-app/attempt/endpoint/${endpointId}?limit=250`)).body.data as { responseDurationMs: number }[];
    const durations = attempts.map((a) => a.responseDurationMs).sort((a, b) => a - b);
    const delays = PLAN.map((step) => step.delayMs).sort((a, b) => a - b);
    assert.equal(durations.length, delays.length);
    durations.forEach((duration, i) => assert.ok(duration >= delays[i]!, `the ${i + 1}th shortest attempt took ${duration} ms, its delay ${delays[i]} ms`));
    assert.deepEqual(body.latencyMs, { p50: durations[2], p90: durations[5], p99: durations[5], max: durations[5] });
    assert.equal((await stats(endpointId)).body.attempts, 6, 'by id as by uid');
  });

  test('a window without attempts answers zeros and nulls; since/until bound the window', async () => {
    const quiet = (await stats(quietEndpointId)).body;
    assert.deepEqual(
      { ...quiet, since: undefined, until: undefined },
      { since: undefined, until: undefined, attempts: 0, succeeded: 0, failed: 0, successRate: null, latencyMs: { p50: null, p90: null, p99: null, max: null } },
    );
    const before = new Date(startedAt - 3_600_000).toISOString();
    const earlier = (await stats('timed', `?since=${encodeURIComponent(before)}&until=${encodeURIComponent(new Date(startedAt - 1).toISOString())}`)).body;
    assert.deepEqual([earlier.attempts, earlier.successRate, earlier.since, earlier.until], [0, null, before, new Date(startedAt - 1).toISOString()]);
    const onlySince = (await stats('timed', `?since=${encodeURIComponent(new Date(startedAt - 1000).toISOString())}`)).body;
    assert.equal(onlySince.attempts, 6, 'until defaults to now');
  });

  test('bad windows are a 422 at the offending parameter; unknown endpoints a 404', async () => {
    const day = 24 * 3_600_000;
    const at = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
    const cases: [string, string][] = [
      [`?since=${at(startedAt)}&until=${at(startedAt)}`, 'until'],
      [`?since=${at(startedAt - 7 * day - 1)}&until=${at(startedAt)}`, 'since'],
      ['?since=yesterday', 'since'],
    ];
    for (const [query, param] of cases) {
      const response = await stats('timed', query);
      assert.equal(response.status, 422, `${query}: ${JSON.stringify(response.body)}`);
      assert.deepEqual(response.body.detail[0].loc, ['query', param], query);
    }
    assert.equal((await stats('timed', `?since=${at(startedAt - 7 * day)}&until=${at(startedAt)}`)).status, 200, 'exactly 7 days is fine');
    assert.equal((await stats('no-such-endpoint')).status, 404);
  });

  test('the route is documented in the OpenAPI document with its response schema', async () => {
    const document = (await hookd.api.get('/openapi.json')).body;
    const operation = document.paths['/api/v1/app/{app_id}/endpoint/{endpoint_id}/stats/latency']?.get;
    assert.ok(operation, 'documented');
    assert.deepEqual(operation.tags, ['Endpoint']);
    assert.match(operation.summary, /latency/);
    assert.ok(JSON.stringify(operation.responses['200']).includes('successRate'));
  });
});
