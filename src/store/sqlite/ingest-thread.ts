import { Worker } from 'node:worker_threads';
import type { Message } from '../../domain/types.js';
import { threadModule } from '../../thread-module.js';
import { DatabaseFileGoneError, StoreUnavailableError } from '../failures.js';
import type { InsertMessageResult } from '../store.js';
import { freeWriteLocksOnExit, sharedWriteLocks } from './write-lock.js';

/** What the ingest thread is started with. */
export interface IngestThreadData {
  path: string;
  timeoutMs: number | undefined;
  maxSizeBytes: number | null | undefined;
  /** Run a PASSIVE WAL checkpoint this often between commits (checkpointer.ts), or none. */
  checkpointEveryMs: number | null;
  writeLocks: Record<string, SharedArrayBuffer>;
}

export type ToIngestThread = { type: 'insert'; id: number; messages: Message[] } | { type: 'close' };
export type FromIngestThread = { type: 'inserted'; id: number; results: InsertMessageResult[] } | { type: 'failed'; id: number; error: ThreadError };

/** An error as it crosses threads (structured clone keeps neither its class nor its code). */
export interface ThreadError {
  name: string;
  message: string;
  code: string | undefined;
}

export function threadErrorOf(error: unknown): ThreadError {
  const e = error as { name?: unknown; message?: unknown; code?: unknown };
  return { name: String(e?.name ?? 'Error'), message: String(e?.message ?? error), code: typeof e?.code === 'string' ? e.code : undefined };
}

/** The error again, as store/failures.ts classifies it (SQLITE_FULL stays `full`, a vanished file `unavailable`). */
function errorOf(thrown: ThreadError): Error {
  if (thrown.name === 'StoreUnavailableError') return new StoreUnavailableError(thrown.message);
  if (thrown.name === 'DatabaseFileGoneError') return new DatabaseFileGoneError(thrown.message);
  return Object.assign(new Error(thrown.message), { name: thrown.name, code: thrown.code });
}

/**
 * Ingest commits on a thread of their own (`hookd start`, the API process on SQLite). better-sqlite3 is
 * synchronous: a commit on the event loop holds it for the transaction and its fsync, and at a steady few thousand
 * messages a second, in batches of a few, that was a third of the API's event loop. Here the group committer's batch
 * goes to this thread's connection, the event loop parses and validates the next requests meanwhile, and the batch
 * that waits for the commit in progress grows with the load, so one fsync covers more messages the busier hookd is.
 * A 202 still means the commit returned, WAL fsynced (SqliteDb.committed). If the thread dies, the batch it held is refused (503:
 * the client retries; a message that was committed after all is then a duplicate its idempotency key resolves) and
 * the connection of the event loop commits from then on. Between commits the thread also runs the background WAL
 * checkpoints (checkpointer.ts explains them), so this costs no thread more than the checkpointer alone did.
 */
export class IngestThread {
  private readonly thread: Worker;
  private readonly pending = new Map<number, { resolve: (results: InsertMessageResult[]) => void; reject: (error: unknown) => void }>();
  private nextId = 1;
  private alive = true;
  private readonly exited: Promise<void>;

  constructor(data: Omit<IngestThreadData, 'writeLocks'>, onFailure: (error: unknown) => void) {
    const workerData: IngestThreadData = { ...data, writeLocks: sharedWriteLocks() };
    this.thread = new Worker(threadModule('./ingest-thread-entry', import.meta.url), { workerData });
    this.thread.unref();
    // Terminated mid-commit, it would otherwise leave the main connection waiting out its timeout.
    freeWriteLocksOnExit(this.thread);
    this.thread.on('message', (message: FromIngestThread) => {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.type === 'inserted') waiting.resolve(message.results);
      else waiting.reject(errorOf(message.error));
    });
    let failure: unknown = null;
    this.thread.on('error', (error) => {
      failure = error;
    });
    this.exited = new Promise((resolve) => {
      this.thread.once('exit', (code) => {
        this.alive = false;
        const error = new StoreUnavailableError(`the ingest thread stopped (${failure ? (failure as Error).message : `exit code ${code}`})`);
        for (const waiting of this.pending.values()) waiting.reject(error);
        this.pending.clear();
        if (!this.closing) {
          // The store has no logger: a process warning (stderr) says why ingest runs slower from now on.
          process.emitWarning(`${error.message}; ingest commits on the main connection from now on`, { code: 'HOOKD_INGEST_THREAD' });
          onFailure(error);
        }
        resolve();
      });
    });
  }

  private closing = false;

  /** False once the thread is gone: the caller commits on its own connection. */
  get running(): boolean {
    return this.alive && !this.closing;
  }

  insert(messages: Message[]): Promise<InsertMessageResult[]> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.thread.ref(); // a commit in progress keeps the process alive
      this.thread.postMessage({ type: 'insert', id, messages } satisfies ToIngestThread);
    }).finally(() => {
      // Closing keeps the process alive until the thread has closed its connection (close() took a ref).
      if (this.pending.size === 0 && !this.closing) this.thread.unref();
    }) as Promise<InsertMessageResult[]>;
  }

  /** Lets the commits in progress finish, then closes the thread's connection. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (!this.alive) return;
    this.thread.ref();
    this.thread.postMessage({ type: 'close' } satisfies ToIngestThread);
    await this.exited;
  }
}
