import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { WriteLock, freeWriteLocksOf, sharedWriteLocks } from '../../src/store/sqlite/write-lock.js';
import { tempDir } from '../helpers/hookd.js';

/** The write lock the threads of one hookd process queue on before SQLite's own (store/sqlite/write-lock.ts). */

const temp = tempDir('hookd-write-lock-');
after(() => temp.cleanup());

/**
 * A thread that takes the lock on `path` with the real WriteLock (through tsx, as the delivery thread runs from
 * src/): `hold` blocks for it and then keeps it `holdMs`; it posts 'waiting' before it asks and then the ms it waited.
 */
function lockThread(path: string, holdMs: number): Worker {
  const code = `
    import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};
    register();
    const { parentPort, workerData } = await import('node:worker_threads');
    const { WriteLock, adoptWriteLocks } = await import(${JSON.stringify(new URL('../../src/store/sqlite/write-lock.ts', import.meta.url).href)});
    adoptWriteLocks(workerData.locks);
    const lock = new WriteLock(workerData.path, 10000);
    parentPort.postMessage('waiting');
    const asked = performance.now();
    lock.hold(() => {
      parentPort.postMessage(performance.now() - asked);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
    });`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData: { path, holdMs, locks: sharedWriteLocks() } });
}

/**
 * The thread's messages in order. A listener attached per message could miss one: a port delivers the messages that
 * queued up together in one go, before the continuation that would listen for the second runs (under load, a thread
 * that posts 'waiting' and then gets the lock at once posts both together).
 */
const inboxes = new WeakMap<Worker, { queued: unknown[]; waiting: ((message: unknown) => void)[] }>();
function next(worker: Worker): Promise<unknown> {
  let inbox = inboxes.get(worker);
  if (!inbox) {
    const created = { queued: [] as unknown[], waiting: [] as ((message: unknown) => void)[] };
    worker.on('message', (message: unknown) => {
      const waiter = created.waiting.shift();
      if (waiter) waiter(message);
      else created.queued.push(message);
    });
    inboxes.set(worker, created);
    inbox = created;
  }
  const box = inbox;
  return box.queued.length > 0 ? Promise.resolve(box.queued.shift()) : new Promise((resolve) => box.waiting.push(resolve));
}

test('a release wakes every waiter: a thread blocked in hold() and this thread waiting in its event loop both get the lock at once', async () => {
  const path = join(temp.dir, 'wake.db');
  const lock = new WriteLock(path, 10_000); // creates the word the threads adopt
  const holder = lockThread(path, 1000);
  // Listened for from the start: a thread that exits before a later `once(thread, 'exit')` would be waited for forever.
  const holderExited = once(holder, 'exit');
  assert.equal(await next(holder), 'waiting');
  assert.ok((await next(holder)) as number < 1000, 'the holder took the free lock');
  const blocked = lockThread(path, 0);
  const blockedExited = once(blocked, 'exit');
  assert.equal(await next(blocked), 'waiting');
  const started = performance.now();
  const here = lock.holdWhenFree(() => performance.now() - started);
  const [blockedWaited, hereWaited] = await Promise.all([next(blocked) as Promise<number>, here]);
  // The holder lets go about 1 s in; with a single wake one of the two would sleep until its 10 s timeout.
  assert.ok(blockedWaited < 5000, `the blocked thread got it after ${blockedWaited.toFixed(0)} ms`);
  assert.ok(hereWaited < 5000, `this thread got it after ${hereWaited.toFixed(0)} ms`);
  await Promise.all([holderExited, blockedExited]);
  assert.equal(Atomics.load(new Int32Array(sharedWriteLocks()[path]!), 0), 0, 'free afterwards');
});

test('the write lock: a holder that ended is freed, and a waiter is woken at once, not after its timeout', async () => {
  const path = join(temp.dir, 'lock.db');
  const lock = new WriteLock(path, 10_000);
  const word = new Int32Array(sharedWriteLocks()[path]!);
  const otherThread = 41;
  Atomics.store(word, 0, otherThread + 1); // as another thread's hold leaves it
  const started = performance.now();
  const waited = lock.holdWhenFree(() => performance.now() - started);
  setTimeout(() => freeWriteLocksOf(otherThread), 50);
  const ms = await waited;
  assert.ok(ms >= 40 && ms < 2000, `woken when freed (${ms.toFixed(0)} ms), not after the 10 s timeout`);
  assert.equal(Atomics.load(word, 0), 0, 'released after the work');

  // A wait that runs out goes ahead (SQLite's own lock decides) instead of failing, blocking or async, once.
  const short = new WriteLock(path, 100);
  Atomics.store(word, 0, otherThread + 1);
  assert.equal(short.hold(() => 'ran'), 'ran');
  const asyncStarted = performance.now();
  assert.equal(await short.holdWhenFree(() => 'ran too'), 'ran too');
  assert.ok(performance.now() - asyncStarted < 180, 'an async wait that runs out does not then block for another timeout');
  assert.equal(Atomics.load(word, 0), otherThread + 1, 'a lock it never took is not released by it');
  freeWriteLocksOf(otherThread);
});
