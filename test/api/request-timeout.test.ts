import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { TEST_TOKEN, eventually, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { assertJsonError, rawHttp } from '../helpers/raw.js';

/** A client that stalls its request (HOOKD_API_REQUEST_TIMEOUT): a JSON 408 and a closed connection, in time. */
describe('HOOKD_API_REQUEST_TIMEOUT', () => {
  let hookd: TestHookd & { cleanup: () => Promise<void> };
  let port: number;
  before(async () => {
    hookd = await startTestHookd({ env: { HOOKD_API_REQUEST_TIMEOUT: '1s' } });
    port = Number(new URL(hookd.url).port);
  });
  after(async () => hookd?.cleanup());

  const stalled = async (request: string) => {
    const started = Date.now();
    const answer = await rawHttp(port, request, 5000);
    return { answer, tookMs: Date.now() - started };
  };

  test('a body that stops arriving is answered 408 request_timeout, within the bound and its check', async () => {
    const head = `POST /api/v1/app HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`;
    const [{ answer, tookMs }, healthy] = await Promise.all([
      stalled(`${head}{"name":`),
      // Meanwhile another client is served at once.
      new Promise((resolve) => setTimeout(resolve, 200)).then(() => hookd.api.post('/api/v1/app', { name: 'served', uid: 'served' })),
    ]);
    assert.equal(healthy.status, 201);
    assertJsonError(answer, 408, 'request_timeout');
    assert.equal(answer.headers.get('connection'), 'close');
    assert.ok(tookMs >= 1000 && tookMs < 2500, `answered after ${tookMs} ms (bound 1 s, checked every 250 ms)`);
    assert.equal((await hookd.api.get('/api/v1/app?limit=10')).body.data.length, 1, 'nothing of the stalled request was created');
  });

  test('a bound over Node\'s default of 5 minutes starts and serves (Node refuses headers bounded longer than requests)', async () => {
    const long = await startTestHookd({ env: { HOOKD_API_REQUEST_TIMEOUT: '10m' } });
    try {
      assert.equal((await long.api.post('/api/v1/app', { name: 'long' })).status, 201);
      assert.equal(long.app!.server.requestTimeout, 600_000);
      assert.equal(long.app!.server.headersTimeout, 600_000);
    } finally {
      await long.cleanup();
    }
  });

  test('a request answered before its body came (a 401), whose body then stalls, gets that one answer and its connection closed at the bound', async () => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write('POST /api/v1/app HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":');
    const started = Date.now();
    await once(socket, 'close');
    const received = Buffer.concat(chunks).toString('latin1');
    assert.equal(received.match(/HTTP\/1\.1 \d{3}/g)?.join(), 'HTTP/1.1 401', received);
    assert.ok(Date.now() - started < 2500, 'closed at the bound');
  });

  test('a large body sent with a wrong token gets its 401 whole, and the connection serves the next request', async () => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    await once(socket, 'connect');
    const body = JSON.stringify({ name: 'x'.repeat(512 * 1024) });
    socket.write(`POST /api/v1/app HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body);
    socket.write(`GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await eventually(() => (received.match(/HTTP\/1\.1 \d{3}/g) ?? []).length === 2, 5000, 'two answers');
    assert.equal(received.match(/HTTP\/1\.1 \d{3}/g)!.join(), 'HTTP/1.1 401,HTTP/1.1 204', received.slice(0, 500));
    socket.destroy();
  });

  test('headers that stop arriving are answered 408 too', async () => {
    const { answer, tookMs } = await stalled('GET /api/v1/app HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthor');
    assertJsonError(answer, 408, 'request_timeout');
    assert.ok(tookMs >= 1000 && tookMs < 2500, `answered after ${tookMs} ms`);
  });
});
