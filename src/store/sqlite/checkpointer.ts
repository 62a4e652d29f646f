import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { exitOf } from '../../thread-module.js';

/**
 * WAL checkpoints in the background. In WAL mode every commit appends to the -wal file; a checkpoint copies
 * those pages back into the database file and fsyncs it. SQLite's automatic checkpoint runs inside the commit
 * that crosses the threshold, on the thread that commits: with better-sqlite3 that is the event loop, which then
 * stalls for the copy and the fsync (measured: ingest 5.5k -> 9.4k msg/s without it).
 *
 * This runs PASSIVE checkpoints (they never block writers) from a worker thread with its own connection, so the
 * copying and the database-file fsync happen beside the event loop. Beside a delivery thread (hookd start) they run
 * instead on the main connection between its commits, every CHECKPOINT_INTERVAL_MS (SqliteDb's `checkpoint:
 * 'here'`): each stalls the API's event loop for its copy and fsync, small and frequent, where a thread of their own
 * would cost another V8 isolate (8 MB at rest); the delivery thread is the one at its limit when a backlog drains.
 * The writer keeps a higher automatic threshold as a backstop: by the time it is reached, the background checkpoints
 * have copied nearly every page, and the writer's own checkpoint only finishes the tail and lets the WAL restart
 * from the beginning.
 * Durability is unchanged: a commit is durable once its WAL frames are fsynced, before any checkpoint.
 */

export const BACKSTOP_PAGES = 4000;
/** How often the background checkpoint runs (here, or on the connection itself: SqliteDb's `checkpoint: 'here'`). */
export const CHECKPOINT_INTERVAL_MS = 200;

/**
 * The thread's code, plain JavaScript given to the Worker as a string: it then runs the same from dist/ and from
 * src/ under tsx (whose loader does not reach worker threads). better-sqlite3 comes by absolute path.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or locked now: the next tick tries again, and the writer's backstop still bounds the WAL.
  }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<unknown>;
  private closed = false;

  /** `onFailure` runs if the thread dies (the caller then falls back to SQLite's own checkpoints). */
  constructor(path: string, onFailure: (error: unknown) => void) {
    const betterSqlite3 = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { path, intervalMs: CHECKPOINT_INTERVAL_MS, betterSqlite3 } });
    this.worker.unref();
    this.exited = exitOf(this.worker);
    this.worker.on('error', (error) => onFailure(error));
    this.worker.on('exit', (code) => {
      if (!this.closed && code !== 0) onFailure(new Error(`checkpoint thread exited with code ${code}`));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.worker.ref(); // keep the process alive until the thread has closed its connection
    this.worker.postMessage('close');
    await this.exited;
  }
}
