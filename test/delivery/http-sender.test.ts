import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { HttpSender } from '../../src/delivery/http-sender.js';
import { DestinationPolicy } from '../../src/delivery/ssrf.js';
import { LOOPBACK_ALLOW } from '../helpers/hookd.js';

/**
 * A real receiver on 127.0.0.1 with an event loop of its own (a thread), so that it answers while the test's loop
 * is blocked: `/ok` tells the test it has the request, then answers 200 50 ms later; `/hang` never answers.
 */
async function threadReceiver(): Promise<{ url: string; received: () => Promise<void>; stop: () => Promise<void> }> {
  const thread = new Worker(
    `const { createServer } = require('node:http');
     const { parentPort } = require('node:worker_threads');
     const server = createServer((request, response) => {
       request.resume();
       if (request.url === '/hang') return;
       parentPort.postMessage('received');
       setTimeout(() => {
         response.writeHead(200, { 'content-type': 'text/plain' });
         response.end('ok');
       }, 50);
     });
     server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
     parentPort.on('message', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });`,
    { eval: true },
  );
  const [port] = (await once(thread, 'message')) as [number];
  return {
    url: `http://127.0.0.1:${port}`,
    received: async () => void (await once(thread, 'message')),
    stop: async () => {
      thread.postMessage('stop');
      await once(thread, 'exit');
    },
  };
}

/** Blocks this event loop, as a starved CPU or a long GC pause does. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('an answer that arrived in time is not called a timeout because the event loop stalled past the deadline', async () => {
  const sender = new HttpSender({ timeoutMs: 500, responseBodyLimitBytes: 1024, connectionsPerOrigin: 4, destinations: new DestinationPolicy(LOOPBACK_ALLOW.split(',')) });
  const receiver = await threadReceiver();
  try {
    const hanging = sender.send({ url: `${receiver.url}/hang`, headers: {}, body: '{}' });
    const received = receiver.received();
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
    await receiver.stop();
  }
});
