// A delivery thread that fails soon after its first start, and on every later start takes a second to be ready, then
// runs until told to stop: the window in which a stop meets a restart under way (test/delivery/thread.test.ts).
import { existsSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { ThreadData, ToThread } from '../../src/delivery/thread.js';

const { config } = workerData as ThreadData;
const marker = `${dirname((config.database as { path: string }).path)}/started-once`;
const log = (msg: string) => parentPort!.postMessage({ type: 'log', line: `${JSON.stringify({ level: 30, msg })}\n` });

if (!existsSync(marker)) {
  writeFileSync(marker, '');
  parentPort!.postMessage({ type: 'ready' });
  setTimeout(() => {
    throw new Error('the delivery thread failed on purpose');
  }, 50);
} else {
  setTimeout(() => {
    parentPort!.postMessage({ type: 'ready' });
    const running = setInterval(() => log('restarted thread running'), 100);
    parentPort!.on('message', (message: ToThread) => {
      if (message.type !== 'stop') return;
      clearInterval(running);
      log('restarted thread stopped');
      parentPort!.close();
    });
  }, 1000);
}
