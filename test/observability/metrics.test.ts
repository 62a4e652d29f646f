import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { LabelBound, OTHER_LABEL } from '../../src/observability/label-bound.js';
import { HookdMetrics } from '../../src/observability/metrics.js';
import type { RecordedResult } from '../../src/delivery/worker.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { eventually, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { freshDatabase, testDatabaseUrl } from '../helpers/process.js';
import { Receiver } from '../helpers/receiver.js';
import { parsePrometheusText, sampleValue, type Sample } from './prometheus-text.js';

/**
 * /metrics scraped from a real hookd after real ingest and real deliveries to a receiver: counters, the
 * duration histogram and the queue gauges have the right values, per-app/endpoint labels stay within
 * HOOKD_METRICS_MAX_LABELS, the text format parses, and the optional token guards both listeners.
 */

type Hookd = TestHookd & { cleanup: () => Promise<void> };

/** Scrapes a /metrics URL, checks the content type, and parses the text strictly. */
async function scrape(url: string, headers: Record<string, string> = {}): Promise<Sample[]> {
  const response = await fetch(`${url}/metrics`, { headers });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4; charset=utf-8$/);
  return parsePrometheusText(text).samples;
}

const SLOW_MS = 30;

describe('metrics from a hookd that ingests and delivers', () => {
  let hookd: Hookd;
  let receiver: Receiver;
  let appId: string;
  const endpoints: Record<'ok' | 'fail' | 'extra', string> = { ok: '', fail: '', extra: '' };

  before(async () => {
    // Two label slots for endpoints (and apps): a third endpoint's deliveries count as "other".
    hookd = await startTestHookd({ env: { HOOKD_METRICS_MAX_LABELS: '2', HOOKD_RETRY_SCHEDULE: '50ms', HOOKD_METRICS_PORT: '0' } });
    receiver = await Receiver.start((request, response) => {
      if (request.path === '/fail') return void response.writeHead(500).end('no');
      // Successful answers take SLOW_MS, so their durations land in known buckets.
      setTimeout(() => response.writeHead(200).end('ok'), SLOW_MS);
    });
    appId = (await hookd.api.post('/api/v1/app', { name: 'metrics' })).body.id;
    for (const [name, eventType, path] of [['ok', 'ok.event', '/ok'], ['fail', 'fail.event', '/fail'], ['extra', 'extra.event', '/extra']] as const) {
      await hookd.api.createEventTypes(eventType);
      endpoints[name] = (await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}${path}`, filterTypes: [eventType] })).body.id;
    }
  });
  after(async () => {
    await hookd.cleanup();
    await receiver.close();
  });

  async function publish(eventType: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) assert.equal((await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType, payload: { i } })).status, 202);
  }

  const deliveries = (samples: Sample[], outcome: string, endpoint: string) =>
    sampleValue(samples, 'hookd_deliveries_total', { outcome, app: appId, endpoint }) ?? 0;

  test('counters, the duration histogram and the queue gauges match what was ingested and delivered', async () => {
    // In phases, so the two endpoint label slots go to "ok" and "fail" before "extra" shows up.
    await publish('ok.event', 3);
    await eventually(async () => deliveries(await scrape(hookd.url), 'succeeded', endpoints.ok) === 3, 10_000, '3 successes');
    await publish('fail.event', 2);
    // Two attempts each (HOOKD_RETRY_SCHEDULE=50ms): the first leaves the delivery retrying, the second failed.
    await eventually(async () => deliveries(await scrape(hookd.url), 'failed', endpoints.fail) === 2, 10_000, '2 failures');
    await publish('extra.event', 2);
    await eventually(async () => (sampleValue(await scrape(hookd.url), 'hookd_deliveries_total', { outcome: 'succeeded', endpoint: OTHER_LABEL }) ?? 0) === 2, 10_000, 'other');

    // The queue gauges may lag by up to a second (scrapes that close together share one query).
    const samples = await eventually(async () => {
      const scraped = await scrape(hookd.url);
      return sampleValue(scraped, 'hookd_queue_depth') === 0 ? scraped : null;
    }, 5_000, 'an empty queue');
    assert.equal(sampleValue(samples, 'hookd_messages_ingested_total', { app: appId }), 7);
    assert.equal(deliveries(samples, 'succeeded', endpoints.ok), 3);
    assert.equal(deliveries(samples, 'retrying', endpoints.fail), 2);
    assert.equal(deliveries(samples, 'failed', endpoints.fail), 2);
    assert.equal(deliveries(samples, 'succeeded', OTHER_LABEL), 2, 'the third endpoint is beyond HOOKD_METRICS_MAX_LABELS=2');
    assert.ok(!samples.some((s) => s.labels.endpoint === endpoints.extra), 'the third endpoint has no label of its own');

    const bucket = (outcome: string, le: string) => sampleValue(samples, 'hookd_attempt_duration_seconds_bucket', { outcome, le });
    assert.equal(sampleValue(samples, 'hookd_attempt_duration_seconds_count', { outcome: 'succeeded' }), 5);
    assert.equal(bucket('succeeded', '0.025'), 0, `every success took at least ${SLOW_MS} ms`);
    assert.equal(bucket('succeeded', '+Inf'), 5);
    assert.ok(sampleValue(samples, 'hookd_attempt_duration_seconds_sum', { outcome: 'succeeded' })! >= (5 * SLOW_MS) / 1000);
    assert.equal(sampleValue(samples, 'hookd_attempt_duration_seconds_count', { outcome: 'retrying' }), 2);
    assert.equal(sampleValue(samples, 'hookd_attempt_duration_seconds_count', { outcome: 'failed' }), 2);
    const les = samples.filter((s) => s.name === 'hookd_attempt_duration_seconds_bucket' && s.labels.outcome === 'failed').map((s) => s.labels.le);
    assert.deepEqual(les, ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '15', '30', '+Inf']);

    assert.equal(sampleValue(samples, 'hookd_queue_due'), 0);
    assert.equal(sampleValue(samples, 'hookd_queue_oldest_due_age_seconds'), 0);
    assert.equal(sampleValue(samples, 'hookd_endpoint_circuits_open'), 0, 'answers, even failing ones, keep circuits closed');
    for (const name of ['hookd_process_cpu_user_seconds_total', 'hookd_process_resident_memory_bytes', 'hookd_nodejs_eventloop_lag_seconds', 'hookd_nodejs_heap_size_used_bytes']) {
      assert.ok(samples.some((s) => s.name === name), `default metric ${name}`);
    }
  });

  test('the metrics port serves the same registry and nothing else', async () => {
    assert.ok(hookd.metricsUrl, 'HOOKD_METRICS_PORT=0 opened a listener');
    const samples = await scrape(hookd.metricsUrl);
    assert.equal(sampleValue(samples, 'hookd_messages_ingested_total', { app: appId }), 7);
    const elsewhere = await fetch(`${hookd.metricsUrl}/api/v1/app`);
    assert.equal(elsewhere.status, 404);
    assert.equal(((await elsewhere.json()) as { code: string }).code, 'not_found');
    assert.equal((await fetch(`${hookd.metricsUrl}/metrics`, { method: 'POST' })).status, 405);
  });

  test('a send-example message counts as ingested, as every message the API stores does', async () => {
    const before = sampleValue(await scrape(hookd.url), 'hookd_messages_ingested_total', { app: appId })!;
    assert.equal((await hookd.api.post(`/api/v1/app/${appId}/endpoint/${endpoints.ok}/send-example`, { eventType: 'svix.ping' })).status, 200);
    assert.equal(sampleValue(await scrape(hookd.url), 'hookd_messages_ingested_total', { app: appId }), before + 1);
  });
});

describe('queue gauges and app label bound on an API-only hookd (nothing delivers)', () => {
  let hookd: Hookd;

  before(async () => {
    hookd = await startTestHookd({ role: 'api', env: { HOOKD_METRICS_MAX_LABELS: '2' } });
  });
  after(async () => hookd.cleanup());

  test('undelivered messages show as queue depth and an oldest due age; apps beyond the bound count as other', async () => {
    const apps: string[] = [];
    for (let i = 0; i < 4; i++) {
      const app = (await hookd.api.post('/api/v1/app', { name: `app ${i}` })).body.id as string;
      apps.push(app);
      await hookd.api.post(`/api/v1/app/${app}/endpoint`, { url: 'http://127.0.0.1:9/never' });
      assert.equal((await hookd.api.post(`/api/v1/app/${app}/msg`, { eventType: 'queued', payload: {} })).status, 202);
    }
    assert.equal((await hookd.api.post(`/api/v1/app/${apps[0]}/msg`, { eventType: 'queued', payload: {}, eventId: 'once' })).status, 202);
    assert.equal((await hookd.api.post(`/api/v1/app/${apps[0]}/msg`, { eventType: 'queued', payload: {}, eventId: 'once' })).status, 409, 'a duplicate is not ingested');
    await new Promise((r) => setTimeout(r, 1100));
    const samples = await scrape(hookd.url);
    assert.equal(sampleValue(samples, 'hookd_messages_ingested_total', { app: apps[0]! }), 2);
    assert.equal(sampleValue(samples, 'hookd_messages_ingested_total', { app: apps[1]! }), 1);
    assert.equal(sampleValue(samples, 'hookd_messages_ingested_total', { app: OTHER_LABEL }), 2, 'apps 3 and 4 share "other"');
    assert.equal(samples.filter((s) => s.name === 'hookd_messages_ingested_total').length, 3);
    assert.equal(sampleValue(samples, 'hookd_queue_depth'), 5);
    assert.equal(sampleValue(samples, 'hookd_queue_due'), 5);
    assert.equal(sampleValue(samples, 'hookd_queue_held'), 0, 'no endpoint holds its deliveries back');
    const age = sampleValue(samples, 'hookd_queue_oldest_due_age_seconds')!;
    assert.ok(age >= 1 && age < 30, `oldest due age ${age}`);
    assert.equal(sampleValue(samples, 'hookd_deliveries_total'), undefined, 'no worker, no delivery counts');
  });

  test('/metrics needs no API key by default and is not in the OpenAPI document', async () => {
    assert.equal((await fetch(`${hookd.url}/metrics`)).status, 200);
    const document = (await (await fetch(`${hookd.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.equal(document.paths['/metrics'], undefined);
  });
});

describe('HOOKD_METRICS_TOKEN', () => {
  let hookd: Hookd;
  const token = 'metrics-scrape-token-0123456789';

  before(async () => {
    hookd = await startTestHookd({ env: { HOOKD_METRICS_TOKEN: token, HOOKD_METRICS_PORT: '0' } });
  });
  after(async () => hookd.cleanup());

  test('guards /metrics on the API port and on the metrics port; API tokens do not open it', async () => {
    for (const base of [hookd.url, hookd.metricsUrl!]) {
      for (const headers of [{}, { authorization: `Bearer ${token}x` }, { authorization: 'Bearer hookd_test_admin_token' }, { authorization: token }]) {
        const response = await fetch(`${base}/metrics`, { headers: headers as Record<string, string> });
        assert.equal(response.status, 401, `${base} ${JSON.stringify(headers)}`);
        assert.equal(((await response.json()) as { code: string }).code, 'authentication_failed');
      }
      await scrape(base, { authorization: `Bearer ${token}` });
    }
  });
});

describe('a worker-only process (PostgreSQL: hookd serve + hookd worker)', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let api: Hookd;
  let worker: Hookd;
  let receiver: Receiver;

  before(async () => {
    database = await freshDatabase(testDatabaseUrl(), 'hookd_metrics');
    api = await startTestHookd({ role: 'api', env: { DATABASE_URL: database.url } });
    worker = await startTestHookd({ role: 'worker', env: { DATABASE_URL: database.url, HOOKD_METRICS_PORT: '0' } });
    receiver = await Receiver.start();
  });
  after(async () => {
    await worker?.cleanup();
    await api?.cleanup();
    await receiver?.close();
    await database?.drop();
  });

  test('has no API but serves its delivery metrics on HOOKD_METRICS_PORT; the API process counts the ingest', async () => {
    assert.equal(worker.app, null);
    assert.ok(worker.metricsUrl);
    assert.equal(api.metricsUrl, null, 'no metrics port unless asked for');
    const app = (await api.api.post('/api/v1/app', { name: 'split' })).body.id as string;
    const endpoint = (await api.api.post(`/api/v1/app/${app}/endpoint`, { url: `${receiver.url}/split` })).body.id as string;
    for (let i = 0; i < 3; i++) assert.equal((await api.api.post(`/api/v1/app/${app}/msg`, { eventType: 'split', payload: { i } })).status, 202);
    await eventually(async () => sampleValue(await scrape(worker.metricsUrl!), 'hookd_deliveries_total', { outcome: 'succeeded', app, endpoint }) === 3, 10_000, 'worker counts');
    const apiSamples = await scrape(api.url);
    assert.equal(sampleValue(apiSamples, 'hookd_messages_ingested_total', { app }), 3);
    assert.equal(sampleValue(apiSamples, 'hookd_deliveries_total'), undefined, 'the API process delivers nothing');
    const workerSamples = await scrape(worker.metricsUrl!);
    assert.equal(sampleValue(workerSamples, 'hookd_messages_ingested_total'), undefined, 'the worker ingests nothing');
    // Both read the one queue.
    await eventually(async () => sampleValue(await scrape(worker.metricsUrl!), 'hookd_queue_depth') === 0, 5_000, 'worker queue gauge');
    await eventually(async () => sampleValue(await scrape(api.url), 'hookd_queue_depth') === 0, 5_000, 'api queue gauge');
  });
});

describe('observability configuration', () => {
  test('defaults: 100 labels, open /metrics, no metrics port, no request lines', () => {
    assert.deepEqual(loadConfig({}).observability, { metricsMaxLabels: 100, metricsToken: null, metricsPort: null, logRequests: false });
    assert.deepEqual(
      loadConfig({ HOOKD_METRICS_MAX_LABELS: '0', HOOKD_METRICS_TOKEN: 'a-long-enough-token', HOOKD_METRICS_PORT: '9464', HOOKD_LOG_REQUESTS: 'on' }).observability,
      { metricsMaxLabels: 0, metricsToken: 'a-long-enough-token', metricsPort: 9464, logRequests: true },
    );
  });

  test('bad values stop start-up with a message naming the variable', () => {
    for (const [name, value] of [
      ['HOOKD_METRICS_MAX_LABELS', '-1'],
      ['HOOKD_METRICS_MAX_LABELS', 'many'],
      ['HOOKD_METRICS_PORT', '70000'],
      ['HOOKD_METRICS_TOKEN', 'short'],
      ['HOOKD_METRICS_TOKEN', 'has a space in the middle'],
      ['HOOKD_LOG_REQUESTS', 'sometimes'],
    ] as const) {
      assert.throws(() => loadConfig({ [name]: value }), (e: unknown) => e instanceof ConfigError && e.message.includes(name), `${name}=${value}`);
    }
  });
});

describe('the queue query behind the gauges', () => {
  test('scrapes share one query for a second, or for 20 times as long as the last one took', async () => {
    let now = 0;
    let queries = 0;
    // A queue query that takes 100 ms (as a million pending deliveries take on SQLite): shared for 2 s, not 1.
    const store = {
      queueStats: async () => {
        queries++;
        await new Promise((resolve) => setTimeout(resolve, 100));
        return { pending: queries, due: 0, held: 0, oldestDueAt: null, circuitsOpen: 0 };
      },
    };
    const metrics = new HookdMetrics({ store, maxLabels: 10, logger: pino({ level: 'silent' }), clock: () => now });
    const depth = async () => sampleValue(parsePrometheusText((await metrics.render()).body).samples, 'hookd_queue_depth');
    assert.equal(await depth(), 1, 'one query for all the queue gauges of a scrape');
    now = 1_500;
    assert.equal(await depth(), 1, 'a slow query is shared for longer than a second');
    now = 5_000;
    assert.equal(await depth(), 2, 'then read again');
    assert.equal(queries, 2);
  });
});

describe('metric label bounds', () => {
  test('the first N distinct values keep their label for good; later ones are "other"', () => {
    const bound = new LabelBound(2);
    assert.deepEqual(['a', 'b', 'c', 'a', 'd', 'b'].map((v) => bound.label(v)), ['a', 'b', OTHER_LABEL, 'a', OTHER_LABEL, 'b']);
    assert.equal(bound.size, 2);
    assert.equal(new LabelBound(0).label('a'), OTHER_LABEL, '0: no per-app or per-endpoint series at all');
  });

  test('many endpoints and apps stay within the bound: at most N endpoint values plus "other"', async () => {
    const metrics = new HookdMetrics({ store: { queueStats: async () => ({ pending: 0, due: 0, held: 0, oldestDueAt: null, circuitsOpen: 0 }) }, maxLabels: 10, logger: pino({ level: 'silent' }) });
    const results = Array.from({ length: 500 }, (_, i) => result(`app_${i % 50}`, `ep_${i}`, i % 3 === 0 ? 'failed' : 'succeeded'));
    metrics.deliveryObserver.recorded(results);
    const { samples } = parsePrometheusText((await metrics.render()).body);
    const series = samples.filter((s) => s.name === 'hookd_deliveries_total');
    assert.equal(new Set(series.map((s) => s.labels.endpoint)).size, 11, '10 endpoints + other');
    assert.ok(new Set(series.map((s) => s.labels.app)).size <= 11, '10 apps + other');
    assert.equal(series.reduce((sum, s) => sum + s.value, 0), 500, 'nothing is lost by collapsing');
  });
});

function result(appId: string, endpointId: string, status: 'succeeded' | 'failed'): RecordedResult {
  const attempt = {
    id: 'atmpt_x',
    messageId: 'msg_x',
    endpointId,
    deliveryId: 'dlv_x',
    appId,
    url: 'http://127.0.0.1/',
    status: status === 'succeeded' ? ('success' as const) : ('fail' as const),
    responseStatusCode: status === 'succeeded' ? 200 : 500,
    response: '',
    responseDurationMs: 12,
    triggerType: 0 as const,
    error: null,
    requestHeaders: null,
    responseHeaders: null,
    createdAt: 0,
  };
  return { deliveryId: 'dlv_x', leaseOwner: 'w', attempt, next: { status }, claimed: {} as RecordedResult['claimed'] };
}

describe('API responses in the metrics, and the warnings of a database that refuses every request', () => {
  test('a full database: each 507 is counted by route and status, and logged once per interval, not once per request; 429s and 422s are counted too', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString('utf8').split('\n')) if (text) lines.push(JSON.parse(text) as Record<string, unknown>);
        done();
      },
    });
    const hookd = await startTestHookd({ env: { HOOKD_SQLITE_MAX_SIZE: String(2 * 1024 * 1024) }, logger: pino({ level: 'info' }, stream) });
    try {
      const appId = (await hookd.api.post('/api/v1/app', { name: 'full', ingestRateLimit: 0 })).body.id as string;
      const payload = { blob: 'x'.repeat(8 * 1024) };
      let status = 202;
      for (let i = 0; i < 1000 && status === 202; i++) status = (await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'fill', payload })).status;
      assert.equal(status, 507, 'the database filled up');
      for (let i = 0; i < 30; i++) assert.equal((await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'fill', payload })).status, 507);
      const warnings = lines.filter((line) => line.level === 40 && String(line.msg).includes('out of space'));
      assert.equal(warnings.length, 1, `${warnings.length} warnings for 31 refusals`);
      // A 422 and, from an application limited to 1 message a second, a 429.
      assert.equal((await hookd.api.post(`/api/v1/app/${appId}/msg`, { payload: {} })).status, 422);
      const limited = (await hookd.api.post('/api/v1/app', { name: 'limited', ingestRateLimit: 1 })).body.id as string;
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await hookd.api.post(`/api/v1/app/${limited}/msg`, { eventType: 'e', payload: {} })).status);
      assert.ok(statuses.includes(429), JSON.stringify(statuses));
      assert.equal((await hookd.api.get('/no/such/path')).status, 404);
      const { samples, types } = parsePrometheusText(await (await fetch(`${hookd.url}/metrics`)).text());
      assert.equal(types.get('hookd_http_responses_total'), 'counter');
      const route = 'POST /api/v1/app/:app_id/msg';
      assert.equal(sampleValue(samples, 'hookd_http_responses_total', { route, status: '507' }), 31);
      assert.equal(sampleValue(samples, 'hookd_http_responses_total', { route, status: '422' }), 1);
      assert.equal(sampleValue(samples, 'hookd_http_responses_total', { route, status: '429' }), statuses.filter((s) => s === 429).length);
      assert.equal(sampleValue(samples, 'hookd_http_responses_total', { route: 'unmatched', status: '404' }), 1);
    } finally {
      await hookd.cleanup();
    }
  });
});
