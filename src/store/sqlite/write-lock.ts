// One write lock per SQLite file per process, shared by its threads (the API's and the delivery thread's connections).
//
// SQLite lets one connection write at a time. A connection that finds the lock taken waits in SQLite's busy
// handler, which sleeps 1, 2, 5, 10 ms... and polls: a write of a few hundred microseconds on the other thread
// costs this one a millisecond or more, on every collision. Measured: with the delivery thread on, e2e p99 went from
// 24 to 109 ms at 4,000 msg/s. Here the threads queue on an Atomics word instead and are woken the moment the holder
// commits. SQLite's own lock stays the authority: this lock only orders the threads, so a wait that runs out (a
// thread terminated while holding it) goes ahead and lets SQLite's busy_timeout decide, as before.
import { threadId, type Worker } from 'node:worker_threads';

const locks = new Map<string, Int32Array>();

const FREE = 0;

/** Atomics.waitAsync (Node 16+; not yet in TypeScript's ES2022 lib). */
const waitAsync = (Atomics as unknown as {
  waitAsync: (array: Int32Array, index: number, value: number, timeoutMs: number) => { async: boolean; value: Promise<string> | string };
}).waitAsync;

/** The lock word of `path`'s writers in this process (created on first use). */
function wordOf(path: string): Int32Array {
  let word = locks.get(path);
  if (!word) {
    word = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    locks.set(path, word);
  }
  return word;
}

/** The locks of this thread, to hand to a thread it starts (structured clone shares SharedArrayBuffers). */
export function sharedWriteLocks(): Record<string, SharedArrayBuffer> {
  return Object.fromEntries([...locks].map(([path, word]) => [path, word.buffer as SharedArrayBuffer]));
}

/** In a thread: use the locks its parent handed over, so both threads' connections queue on the same words. */
export function adoptWriteLocks(shared: Record<string, SharedArrayBuffer>): void {
  for (const [path, buffer] of Object.entries(shared)) locks.set(path, new Int32Array(buffer));
}

/** After a thread ended (or was terminated) holding a lock: free it, so the others do not wait out their timeout. */
export function freeWriteLocksOf(endedThreadId: number): void {
  for (const word of locks.values()) {
    if (Atomics.compareExchange(word, 0, endedThreadId + 1, FREE) === endedThreadId + 1) Atomics.notify(word, 0);
  }
}

/**
 * For a thread started with sharedWriteLocks(): when it ends (or is terminated, even while starting) holding a lock,
 * the lock is freed, so the others do not wait out their timeout.
 */
export function freeWriteLocksOnExit(thread: Worker): void {
  const id = thread.threadId; // -1 once it has exited
  thread.once('exit', () => freeWriteLocksOf(id));
}

/** The process's write lock on one file, for one connection. */
export class WriteLock {
  private readonly word: Int32Array;
  /** Lock words hold the holder's thread id + 1 (0 is free; the main thread's id is 0). */
  private readonly me = threadId + 1;
  private depth = 0;

  constructor(
    path: string,
    private readonly timeoutMs: number,
  ) {
    this.word = wordOf(path);
  }

  /** `work` while holding the lock (re-entrant within this connection). */
  hold<T>(work: () => T): T {
    if (this.depth > 0) return this.within(work, false);
    return this.within(work, this.acquire());
  }

  /** `work` at depth + 1; the outermost call releases the word if it took it. */
  private within<T>(work: () => T, owned: boolean): T {
    this.depth++;
    try {
      return work();
    } finally {
      this.depth--;
      if (owned && this.depth === 0) this.release();
    }
  }

  /**
   * `work` once the lock is this thread's, waiting for it without blocking the event loop (Atomics.waitAsync): the
   * delivery thread keeps reading answers and sending while the API's commit holds the lock.
   */
  async holdWhenFree<T>(work: () => T): Promise<T> {
    if (this.depth > 0) return this.within(work, false);
    const deadline = performance.now() + this.timeoutMs;
    for (;;) {
      const holder = Atomics.compareExchange(this.word, 0, FREE, this.me);
      // An awaited continuation never runs inside this thread's synchronous hold(), so depth is 0 here.
      if (holder === FREE) return this.within(work, true);
      const left = deadline - performance.now();
      // Waited long enough: go ahead without the word (SQLite's busy handler decides), not block for another wait.
      if (left <= 0) return this.within(work, false);
      const wait = waitAsync(this.word, 0, holder, left);
      if (!wait.async) continue;
      // A pending waitAsync does not keep the event loop alive: a timer does, until the wait is over (its own
      // timeout reaches this thread as a task after `left`, so the timer outlasts it by a margin).
      const alive = setTimeout(() => undefined, left + 1000);
      try {
        await wait.value;
      } finally {
        clearTimeout(alive);
      }
    }
  }

  /** True once this thread holds the word; false when the wait ran out (then SQLite's busy handler decides). */
  private acquire(): boolean {
    const deadline = performance.now() + this.timeoutMs;
    for (;;) {
      const holder = Atomics.compareExchange(this.word, 0, FREE, this.me);
      if (holder === FREE) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.word, 0, holder, left);
    }
  }

  /**
   * Frees the word and wakes every waiter (they race for it again). Waking one is not enough: a thread can wait twice,
   * once in the event loop (waitAsync) and once blocked (a lease renewal), and a wake that goes to the async wait of a
   * blocked thread reaches no one until the blocked wait times out.
   */
  private release(): void {
    Atomics.compareExchange(this.word, 0, this.me, FREE);
    Atomics.notify(this.word, 0);
  }
}
