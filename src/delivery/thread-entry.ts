// The delivery thread (see thread.ts): a delivery worker with its own event loop and its own database connection.
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config.js';
import { reduceMemoryWhenIdle } from '../heap.js';
import { createLogger } from '../logger.js';
import { summarize } from '../observability/delivery-summary.js';
import { openStore } from '../store/open.js';
import { adoptWriteLocks } from '../store/sqlite/write-lock.js';
import { startDelivery } from './pipeline.js';
import type { FromThread, ThreadData, ToThread } from './thread.js';

const port = parentPort!;
const { config, logLevel, writeLocks, wakePending } = workerData as ThreadData;
const wakeFlag = new Int32Array(wakePending);
adoptWriteLocks(writeLocks);
const post = (message: FromThread): void => port.postMessage(message);

async function run(config: Config): Promise<void> {
  // Log lines go to the main thread's logger destination: one stream, in order, wherever it points.
  const logger = createLogger(logLevel, { write: (line: string) => post({ type: 'log', line }) }).child({ thread: 'delivery' });
  // The main thread migrated the database, commits ingest and checkpoints the file; this connection claims and acks.
  const store = await openStore(config.database, { checkpoint: false });
  try {
    const delivery = await startDelivery({
      store,
      config,
      logger,
      clock: Date.now,
      observers: [{ recorded: (results) => post({ type: 'recorded', summaries: results.map(summarize) }) }],
    });
    port.on('message', (message: ToThread) => {
      if (message.type === 'wake') {
        Atomics.store(wakeFlag, 0, 0); // before claiming: a commit from now on posts a wake of its own
        delivery.wake();
      }
      else if (message.type === 'stop') {
        void delivery
          .stop(message.timeoutMs)
          .then(() => store.close())
          .then(() => port.close());
      }
    });
    reduceMemoryWhenIdle();
    post({ type: 'ready' });
  } catch (error) {
    await store.close();
    throw error;
  }
}

run(config).catch((error: unknown) => {
  post({ type: 'failed', message: (error as Error).message });
  port.close();
});
