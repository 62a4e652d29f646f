// Run as `node <NODE_ARGS> --import tsx test/helpers/thread-heap-process.ts` (test/delivery/thread-heap.test.ts): starts
// a delivery thread the way hookd start does, then a plain worker thread, and prints each thread's young generation.
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startDeliveryThread } from '../../src/delivery/thread.js';
import { threadModule } from '../../src/thread-module.js';
import { youngGenerationReached } from './young-generation.js';

const logger = pino({ level: 'info' }, process.stdout);
const delivery = await startDeliveryThread({
  config: loadConfig({ HOOKD_SQLITE_PATH: '/nonexistent/hookd-thread-heap.db' }),
  logger,
  onRecorded: () => {},
  entry: threadModule('./heap-reporting-delivery-thread', import.meta.url),
});
const api = youngGenerationReached();
// A thread made after the delivery thread started: the delivery thread's size must not have stayed in force.
const later = await new Promise<number>((resolve, reject) => {
  const worker = new Worker(threadModule('./young-generation-thread', import.meta.url));
  worker.once('message', resolve);
  worker.once('error', reject);
});
await delivery.stop(1000);
process.stdout.write(`${JSON.stringify({ api, later })}\n`);
