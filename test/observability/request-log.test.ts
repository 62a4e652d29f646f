import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/logger.js';
import { requestLogger } from '../../src/observability/request-log.js';
import { ApiClient, TEST_TOKEN, eventually, startTestHookd, type TestHookd } from '../helpers/hookd.js';

/**
 * Request ids and request logs against a real hookd with a capturing logger: the caller's x-request-id is used
 * when sane and echoed, otherwise a fresh one; every completed request logs one line with reqId, method, route
 * pattern, status and duration, and nothing from headers, query or body.
 */

type Hookd = TestHookd & { cleanup: () => Promise<void> };
type Line = Record<string, unknown>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function capture(): { stream: Writable; lines: Line[] } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { stream, lines };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Response> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${TEST_TOKEN}`, ...headers } });
  await response.arrayBuffer();
  return response;
}

describe('request ids and request logs', () => {
  let hookd: Hookd;
  const logs = capture();
  const completed = (reqId: string) => eventually(() => logs.lines.find((l) => l.reqId === reqId && l.msg === 'request completed'), 2_000, `log of ${reqId}`);

  before(async () => {
    hookd = await startTestHookd({ env: { HOOKD_LOG_REQUESTS: 'true' }, logger: createLogger('info', logs.stream) });
  });
  after(async () => hookd.cleanup());

  test('a sane caller id is kept, echoed and logged with method, route pattern, status and duration', async () => {
    const app = (await hookd.api.post('/api/v1/app', { name: 'logged', uid: 'logged-app' })).body.id as string;
    const response = await get(`${hookd.url}/api/v1/app/${app}/endpoint?limit=5&iterator=ep_secretLookingCursor`, { 'x-request-id': 'caller-id:42/abc' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-request-id'), 'caller-id:42/abc');
    const line = await completed('caller-id:42/abc');
    assert.deepEqual(
      { method: line.method, route: line.route, status: line.status, level: line.level, service: line.service },
      { method: 'GET', route: '/api/v1/app/:app_id/endpoint', status: 200, level: 30, service: 'hookd' },
    );
    assert.equal(typeof line.durationMs, 'number');
    const text = JSON.stringify(line);
    for (const absent of [app, 'ep_secretLookingCursor', 'limit', TEST_TOKEN, 'authorization', 'headers']) assert.ok(!text.includes(absent), `${absent} in ${text}`);
  });

  test('an unusable caller id is replaced by a fresh UUID', async () => {
    for (const bad of ['x'.repeat(129), 'has space', 'tab\there', 'ünïcode', '']) {
      const response = await get(`${hookd.url}/health`, { 'x-request-id': bad });
      const id = response.headers.get('x-request-id') ?? '';
      assert.match(id, UUID, JSON.stringify(bad));
      await completed(id);
    }
    const a = (await get(`${hookd.url}/health`)).headers.get('x-request-id');
    const b = (await get(`${hookd.url}/health`)).headers.get('x-request-id');
    assert.match(a ?? '', UUID);
    assert.notEqual(a, b, 'a new id per request');
    assert.equal((await get(`${hookd.url}/health`, { 'x-request-id': 'y'.repeat(128) })).headers.get('x-request-id'), 'y'.repeat(128), '128 characters are fine');
  });

  test('refusals and unknown routes carry and log their id too; the refused token is not logged', async () => {
    const refusedToken = 'hookd_refused_token_that_must_not_be_logged';
    const refused = await fetch(`${hookd.url}/api/v1/app`, { headers: { authorization: `Bearer ${refusedToken}`, 'x-request-id': 'refused-1' } });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('x-request-id'), 'refused-1');
    assert.deepEqual([(await completed('refused-1')).status, (await completed('refused-1')).route], [401, '/api/v1/app']);
    const missing = await get(`${hookd.url}/api/v1/nowhere`, { 'x-request-id': 'missing-1' });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('x-request-id'), 'missing-1');
    assert.deepEqual([(await completed('missing-1')).status, (await completed('missing-1')).route], [404, null]);
    const invalid = await new ApiClient(hookd.url, TEST_TOKEN).request('POST', '/api/v1/app', { name: 5 }, { 'x-request-id': 'invalid-1' });
    assert.equal(invalid.status, 422);
    assert.equal(invalid.headers.get('x-request-id'), 'invalid-1');
    await completed('invalid-1');
    assert.ok(!logs.lines.some((l) => JSON.stringify(l).includes(refusedToken)));
  });

  test('lines logged by handlers and the error handler carry the reqId of their request', async () => {
    const store = hookd.store as { probe: () => Promise<void>; listApps: (...args: unknown[]) => Promise<unknown> };
    const { probe, listApps } = store;
    store.probe = async () => {
      throw new Error('database down (test)');
    };
    store.listApps = async () => {
      throw new Error('query failed (test)');
    };
    try {
      assert.equal((await get(`${hookd.url}/ready`, { 'x-request-id': 'ready-1' })).status, 503);
      const failed = await get(`${hookd.url}/api/v1/app`, { 'x-request-id': 'failed-1' });
      assert.equal(failed.status, 500);
      assert.equal(failed.headers.get('x-request-id'), 'failed-1');
    } finally {
      Object.assign(store, { probe, listApps });
    }
    const warn = await eventually(() => logs.lines.find((l) => l.msg === 'not ready'), 2_000, 'readiness log');
    assert.equal(warn.reqId, 'ready-1');
    const error = await eventually(() => logs.lines.find((l) => l.msg === 'request failed'), 2_000, 'error log');
    assert.equal(error.reqId, 'failed-1');
    assert.equal((await completed('failed-1')).status, 500);
  });
});

describe('request logs off (the default)', () => {
  let hookd: Hookd;
  const logs = capture();

  before(async () => {
    hookd = await startTestHookd({ logger: createLogger('info', logs.stream) });
  });
  after(async () => hookd.cleanup());

  test('no request lines, but the id is still echoed', async () => {
    const response = await get(`${hookd.url}/api/v1/app`, { 'x-request-id': 'quiet-1' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-request-id'), 'quiet-1');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(logs.lines.filter((l) => l.msg === 'request completed').length, 0);
  });
});

describe('request loggers', () => {
  test('are made on their first line, with the request id; a route with its own options gets one at once', () => {
    const logs = capture();
    const parent = createLogger('info', logs.stream);
    let children = 0;
    const child = parent.child.bind(parent);
    parent.child = ((...args: Parameters<typeof parent.child>) => {
      children++;
      return child(...args);
    }) as typeof parent.child;
    const logger = requestLogger(parent, { reqId: 'lazy-1' }, {});
    assert.equal(logger.level, 'info');
    logger.debug('below the level');
    assert.equal(children, 1, 'made on the first call, not before');
    const quiet = requestLogger(parent, { reqId: 'quiet-2' }, {});
    assert.equal(children, 1, 'a request that logs nothing makes no child');
    assert.equal(quiet.level, 'info');
    logger.warn({ detail: 1 }, 'logged');
    logger.info('again');
    assert.equal(children, 1, 'one child per request');
    assert.deepEqual(
      logs.lines.map((line) => [line.reqId, line.msg, line.detail]),
      [
        ['lazy-1', 'logged', 1],
        ['lazy-1', 'again', undefined],
      ],
    );
    requestLogger(parent, { reqId: 'route-3' }, { level: 'warn' });
    assert.equal(children, 2);
  });
});
