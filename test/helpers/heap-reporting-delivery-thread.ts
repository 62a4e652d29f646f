// A delivery thread that reports, as a log line, the size its young generation reaches, then runs until stopped: hookd
// starts it as it starts the real one (src/delivery/thread.ts), for test/delivery/thread-heap.test.ts.
import { parentPort } from 'node:worker_threads';
import { youngGenerationReached } from './young-generation.js';

parentPort!.postMessage({ type: 'log', line: `${JSON.stringify({ deliveryNewSpace: youngGenerationReached() })}\n` });
parentPort!.postMessage({ type: 'ready' });
parentPort!.on('message', (message: { type: string }) => {
  if (message.type === 'stop') process.exit(0);
});
