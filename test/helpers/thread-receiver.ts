import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { ReceivedRequest } from './receiver.js';

export interface ThreadReceiverOptions {
  /** Every request is answered 200 "ok" this long after it arrived (unless the client hung up meanwhile). */
  answerAfterMs: number;
  /** Requests to this path are recorded and never answered. */
  hangPath?: string;
}

// Plain JavaScript: a thread started from source is not loaded through tsx.
const THREAD_SOURCE = `
const { createServer } = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const server = createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const at = Date.now();
    parentPort.postMessage({ method: request.method, path: request.url, headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at });
    if (request.url === workerData.hangPath) return;
    setTimeout(() => {
      if (response.destroyed) return;
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('ok');
    }, workerData.answerAfterMs);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
`;

/**
 * A real webhook receiver on 127.0.0.1 with an event loop of its own (a thread of the test's process), so that it
 * answers on time however busy or blocked the test's own loop is.
 *
 * That matters beyond blocking: node accepts one connection per event-loop turn on a listening socket (libuv
 * PR 3696, on Node 20, 22 and 24 alike). A receiver sharing the loop of a test that also publishes, on a 2-core
 * machine starved by several hookd processes and PostgreSQL (turns of 300-500 ms), accepts two or three connections
 * a second; a worker's first requests on new connections then wait seconds in the accept queue and time out,
 * although every answer takes 20 ms.
 *
 * Each request is recorded in `requests` and handed to `onRequest` on the test's thread, in arrival order.
 */
export class ThreadReceiver {
  readonly requests: ReceivedRequest[] = [];
  url = '';
  private readonly thread: Worker;
  private readonly exited: Promise<unknown>;
  /** Why the thread died, if it did before close(). */
  private failure: Error | null = null;

  private constructor(options: ThreadReceiverOptions, onRequest: (request: ReceivedRequest) => void) {
    this.thread = new Worker(THREAD_SOURCE, { eval: true, workerData: options });
    this.exited = once(this.thread, 'exit');
    this.thread.on('error', (error) => (this.failure = error));
    this.thread.on('message', (message: { port: number } | ReceivedRequest) => {
      if ('port' in message) {
        this.url = `http://127.0.0.1:${message.port}`;
        return;
      }
      this.requests.push(message);
      onRequest(message);
    });
  }

  static async start(options: ThreadReceiverOptions, onRequest: (request: ReceivedRequest) => void = () => undefined): Promise<ThreadReceiver> {
    const receiver = new ThreadReceiver(options, onRequest);
    await Promise.race([
      once(receiver.thread, 'message'), // the port
      receiver.exited.then(() => Promise.reject(receiver.failure ?? new Error('the receiver thread exited before listening'))),
    ]);
    return receiver;
  }

  /** Stops the thread; throws if it had died of an error (its requests went unanswered). */
  async close(): Promise<void> {
    this.thread.postMessage('close');
    await this.exited;
    if (this.failure) throw this.failure;
  }
}
