// A delivery thread that starts and then fails with an uncaught exception, each time it is started: the fault the
// supervisor in src/delivery/thread.ts must survive (test/delivery/thread.test.ts).
import { parentPort } from 'node:worker_threads';

parentPort!.postMessage({ type: 'ready' });
setTimeout(() => {
  throw new Error('the delivery thread failed on purpose');
}, 50);
