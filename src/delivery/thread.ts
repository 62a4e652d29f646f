import { Worker } from 'node:worker_threads';
import { symbols, type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config.js';
import { withDeliveryThreadHeap } from '../heap.js';
import { exitOf, threadModule } from '../thread-module.js';
import { freeWriteLocksOnExit, sharedWriteLocks } from '../store/sqlite/write-lock.js';
import type { DeliverySummary } from '../observability/delivery-summary.js';
import type { Delivery } from './pipeline.js';

/** What the delivery thread is started with (structured-cloned into it). */
export interface ThreadData {
  config: Config;
  logLevel: string;
  /**
   * 1 while a wake is posted and the thread has not taken it yet: commits meanwhile post no other (the claim that
   * wake causes reads what they committed). One wake per group commit was a tenth of the API thread's time.
   */
  wakePending: SharedArrayBuffer;
  /** The process's SQLite write locks, so the thread's connection queues with the API's (store/sqlite/write-lock.ts). */
  writeLocks: Record<string, SharedArrayBuffer>;
}

export type ToThread = { type: 'wake' } | { type: 'stop'; timeoutMs: number };
export type FromThread =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'recorded'; summaries: DeliverySummary[] }
  | { type: 'log'; line: string };

export interface DeliveryThreadOptions {
  config: Config;
  logger: Logger;
  /** Metrics of what the thread recorded (its registry would be invisible to /metrics). */
  onRecorded: (summaries: DeliverySummary[]) => void;
  /** The thread stopped unexpectedly (it is started again): for the restarts counter. */
  onDied?: () => void;
  /** The module the thread runs (default: thread-entry); the tests start one that fails. */
  entry?: URL;
}

/** A thread that dies unexpectedly is started again after this, doubling up to RESTART_MAX_MS. */
const RESTART_MS = 1000;
const RESTART_MAX_MS = 30_000;
/** After the stop's own budget, how long the thread gets to record and release before it is terminated. */
const STOP_GRACE_MS = 10_000;

/**
 * Delivery on a second core, in `hookd start`: the worker runs on a worker thread with its own event loop and its
 * own connection to the same database, so sending, reading answers and acking no longer take turns with the API
 * and group commit on one event loop. Nothing about durability changes: ingest commits before it answers; the
 * thread claims from the database; a crash of the process loses neither. If the thread dies, its leases expire and
 * a new thread (restarted here) claims those deliveries again.
 */
export async function startDeliveryThread(options: DeliveryThreadOptions): Promise<Delivery> {
  const { logger } = options;
  let stopping = false;
  let restartMs = RESTART_MS;
  let thread: Worker;
  let exited: Promise<unknown>;
  let alive = false;
  /** A restart under way (the thread is starting): a stop waits for it, then stops that thread too. */
  let restarting: Promise<void> | null = null;
  const wakePending = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const restartLater = (): void => {
    setTimeout(() => {
      if (stopping) return;
      restarting = spawn(options, wakePending)
        .then(watch, (error: unknown) => {
          if (stopping) return;
          logger.error({ err: error, restartInMs: restartMs }, 'the delivery thread did not start; trying again');
          restartLater();
        })
        .finally(() => {
          restarting = null;
        });
    }, restartMs).unref();
    restartMs = Math.min(restartMs * 2, RESTART_MAX_MS);
  };
  function watch(current: Worker): void {
    const startedAt = Date.now();
    thread = current;
    // A thread that throws is started again, not the end of the process (see exitOf).
    exited = exitOf(current);
    alive = true;
    Atomics.store(wakePending, 0, 0); // a wake the last thread never took would hold back every later one
    current.once('exit', (code) => {
      alive = false;
      if (stopping) return;
      options.onDied?.();
      // A thread that ran for a while starts again soon; one that keeps dying at once, ever more slowly.
      if (Date.now() - startedAt > RESTART_MAX_MS) restartMs = RESTART_MS;
      logger.error({ code, restartInMs: restartMs }, 'the delivery thread stopped unexpectedly; starting it again');
      restartLater();
    });
  }
  watch(await spawn(options, wakePending));
  return {
    running: () => alive,
    wake: () => {
      if (Atomics.exchange(wakePending, 0, 1) === 0) thread.postMessage({ type: 'wake' } satisfies ToThread);
    },
    stop: async (timeoutMs) => {
      stopping = true;
      // A thread being started would otherwise run on after the stop, claiming and sending while the process ends.
      await restarting;
      if (!alive) return; // died and not started again: nothing of it left to stop
      thread.postMessage({ type: 'stop', timeoutMs } satisfies ToThread);
      const deadline = setTimeout(() => {
        logger.error('the delivery thread did not stop in time; terminating it (its leases expire and are claimed again)');
        void thread.terminate();
      }, timeoutMs + STOP_GRACE_MS);
      await exited;
      clearTimeout(deadline);
    },
  };
}

/**
 * Starts a thread and resolves once its worker runs (rejects with the thread's own reason if it cannot); its young
 * generation is the delivery thread's (heap.ts).
 */
function spawn(options: DeliveryThreadOptions, wakePending: Int32Array): Promise<Worker> {
  return withDeliveryThreadHeap(() => spawnThread(options, wakePending));
}

async function spawnThread(options: DeliveryThreadOptions, wakePending: Int32Array): Promise<Worker> {
  const workerData: ThreadData = { config: options.config, logLevel: options.logger.level, wakePending: wakePending.buffer as SharedArrayBuffer, writeLocks: sharedWriteLocks() };
  const thread = new Worker(options.entry ?? threadModule('./thread-entry', import.meta.url), { workerData });
  freeWriteLocksOnExit(thread);
  const logs = (options.logger as unknown as Record<symbol, DestinationStream>)[symbols.streamSym]!;
  thread.on('error', (error) => options.logger.error({ err: error }, 'the delivery thread failed'));
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number): void => reject(new Error(`the delivery thread exited with code ${code} while starting`));
    thread.once('exit', onExit);
    thread.on('message', (message: FromThread) => {
      switch (message.type) {
        case 'ready':
          thread.off('exit', onExit);
          resolve();
          break;
        case 'failed':
          thread.off('exit', onExit);
          reject(new Error(message.message));
          break;
        case 'recorded':
          options.onRecorded(message.summaries);
          break;
        case 'log':
          logs.write(message.line);
          break;
      }
    });
  });
  return thread;
}
