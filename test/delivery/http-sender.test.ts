import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { test } from 'node:test';
import { HttpSender } from '../../src/delivery/http-sender.js';
import { DestinationPolicy } from '../../src/delivery/ssrf.js';
import { LOOPBACK_ALLOW } from '../helpers/hookd.js';
import { ThreadReceiver } from '../helpers/thread-receiver.js';

test("loads undici's Agent and connector, not its index (fetch, WebSocket, caches: 3 MB of the delivery thread's heap)", () => {
  const undici = Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes(`${sep}undici${sep}`));
  assert.ok(undici.some((path) => path.endsWith(join('lib', 'dispatcher', 'agent.js'))), 'the Agent is loaded');
  assert.deepEqual(undici.filter((path) => path.endsWith(`${sep}undici${sep}index.js`) || path.includes(join('lib', 'web', 'fetch'))), []);
});

/** Blocks this event loop, as a starved CPU or a long GC pause does. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('an answer that arrived in time is not called a timeout because the event loop stalled past the deadline', async () => {
  const sender = new HttpSender({ timeoutMs: 500, responseBodyLimitBytes: 1024, connectionsPerOrigin: 4, destinations: new DestinationPolicy(LOOPBACK_ALLOW.split(',')) });
  // The receiver has a thread of its own, so it answers while this loop is blocked.
  let arrived: () => void = () => undefined;
  const received = new Promise<void>((resolve) => (arrived = resolve));
  const receiver = await ThreadReceiver.start({ answerAfterMs: 50, hangPath: '/hang' }, (request) => {
    if (request.path === '/ok') arrived();
  });
  try {
    const hanging = sender.send({ url: `${receiver.url}/hang`, headers: {}, body: '{}' });
    const answered = sender.send({ url: `${receiver.url}/ok`, headers: {}, body: '{}' });
    // Once the receiver has the request, stall past the 500 ms deadline; its 200 arrives 50 ms into the stall.
    await received;
    stall(900);
    const result = await answered;
    assert.equal(result.error, null, `the answer was read before the timeout took effect (${result.error})`);
    assert.equal(result.statusCode, 200);
    // A receiver that really does not answer still times out.
    const hung = await hanging;
    assert.equal(hung.error, 'timeout');
    assert.equal(hung.statusCode, 0);
  } finally {
    await sender.close();
    await receiver.close();
  }
});
