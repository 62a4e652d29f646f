import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { newId } from '../../src/domain/ids.js';
import type { Message } from '../../src/domain/types.js';
import { storeFailureOf } from '../../src/store/failures.js';
import type { IngestThread } from '../../src/store/sqlite/ingest-thread.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/hookd.js';

/** hookd start commits ingest on a thread of its own (store/sqlite/ingest-thread.ts); these are its faults. */

const message = (appId: string, payload = '{}', eventId: string | null = null): Message => {
  const now = Date.now();
  return { id: newId('msg', now), appId, eventId, eventType: 'thread.test', channels: null, tags: null, payload, createdAt: now };
};

async function openStore(options: { maxSizeBytes?: number } = {}): Promise<{ store: SqliteStore; appId: string; thread: IngestThread; cleanup: () => Promise<void> }> {
  const temp = tempDir('hookd-ingest-thread-');
  const store = new SqliteStore({ path: join(temp.dir, 'hookd.db'), ingestThread: true, ...options });
  await store.migrate();
  const appId = newId('app');
  await store.createApp({ id: appId, uid: null, name: 'thread', metadata: {}, rateLimit: null, createdAt: Date.now(), updatedAt: Date.now() });
  // The store's connection and its thread are private; the faults below need to reach them.
  const thread = (store as unknown as { db: { ingestThread: IngestThread } }).db.ingestThread;
  return {
    store,
    appId,
    thread,
    cleanup: async () => {
      await store.close();
      temp.cleanup();
    },
  };
}

test('a full file is a `full` failure through the thread too (the API answers 507), and the thread goes on committing what fits', async () => {
  const { store, appId, thread, cleanup } = await openStore({ maxSizeBytes: 600 * 1024 });
  try {
    assert.ok(thread.running);
    const big = JSON.stringify({ pad: 'x'.repeat(50_000) });
    let failure: unknown = null;
    for (let i = 0; i < 40 && failure === null; i++) {
      try {
        await store.insertMessages([message(appId, big)]);
      } catch (error) {
        failure = error;
      }
    }
    assert.ok(failure, 'the cap was reached');
    assert.equal(storeFailureOf(failure), 'full');
    assert.ok(thread.running, 'the thread survives the failed commit');
    const [small] = await store.insertMessages([message(appId)]);
    assert.equal(small!.kind, 'inserted', 'a message that fits is committed');
  } finally {
    await cleanup();
  }
});

test('duplicates come back through the thread with the stored message', async () => {
  const { store, appId, cleanup } = await openStore();
  try {
    const first = message(appId, '{"n":1}', 'evt-1');
    const [inserted] = await store.insertMessages([first]);
    assert.equal(inserted!.kind, 'inserted');
    const [again] = await store.insertMessages([message(appId, '{"n":2}', 'evt-1')]);
    assert.equal(again!.kind, 'duplicate');
    assert.equal(again!.kind === 'duplicate' && again!.existing.id, first.id);
    assert.equal((await store.getMessage(appId, first.id))?.payload, '{"n":1}', 'visible to the main connection');
  } finally {
    await cleanup();
  }
});

test('if the thread dies, the batch it held is refused as unavailable and later batches commit on the main connection', async () => {
  const { store, appId, thread, cleanup } = await openStore();
  try {
    await store.insertMessages([message(appId)]);
    const worker = (thread as unknown as { thread: Worker }).thread;
    const held = store.insertMessages([message(appId)]);
    await worker.terminate();
    // Terminated before or after it committed: either way the caller hears, and a refusal is `unavailable` (503).
    await held.then(
      () => undefined,
      (error: unknown) => assert.equal(storeFailureOf(error), 'unavailable'),
    );
    assert.equal(thread.running, false);
    const after = message(appId);
    const started = performance.now();
    const [result] = await store.insertMessages([after]);
    assert.ok(performance.now() - started < 2000, 'the lock the thread may have held was freed with it');
    assert.equal(result!.kind, 'inserted');
    assert.ok(await store.getMessage(appId, after.id), 'committed on the main connection');
  } finally {
    await cleanup();
  }
});
