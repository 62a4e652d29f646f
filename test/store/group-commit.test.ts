import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { newId } from '../../src/domain/ids.js';
import type { Message } from '../../src/domain/types.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/hookd.js';

test('messages submitted together are committed in one transaction, and each submit resolves after its commit', async () => {
  const temp = tempDir();
  const store = new SqliteStore({ path: join(temp.dir, 'gc.db') });
  try {
    await store.migrate();
    const now = Date.now();
    await store.createApp({ id: 'app_gc', uid: null, name: 'gc', metadata: {}, rateLimit: null, createdAt: now, updatedAt: now });
    const batches: number[] = [];
    const committer = new GroupCommitter({
      // The real store, observed: every call is one transaction.
      store: { insertMessages: (messages: Message[]) => (batches.push(messages.length), store.insertMessages(messages)) },
      maxBatch: 100,
    });
    const messages = Array.from({ length: 250 }, (): Message => ({ id: newId('msg'), appId: 'app_gc', eventId: null, eventType: 't', payload: '{}', channels: null, tags: null, createdAt: now }));
    const results = await Promise.all(messages.map(async (m) => {
      const result = await committer.submit(m);
      // Resolved means committed: the row is readable now.
      assert.ok(await store.getMessage('app_gc', m.id));
      return result;
    }));
    assert.equal(results.length, 250);
    assert.deepEqual(batches, [100, 100, 50]);
  } finally {
    await store.close();
    temp.cleanup();
  }
});

test('a commit queue that does not move refuses new messages at its limit and after the wait timeout, and stores none of them', async () => {
  const temp = tempDir();
  const store = new SqliteStore({ path: join(temp.dir, 'gc-slow.db') });
  try {
    await store.migrate();
    const now = Date.now();
    await store.createApp({ id: 'app_slow', uid: null, name: 'slow', metadata: {}, rateLimit: null, createdAt: now, updatedAt: now });
    // The real store behind a gate: the first commit hangs until released, as a stopped database would.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let first = true;
    const committer = new GroupCommitter({
      store: {
        insertMessages: async (messages: Message[]) => {
          if (first) {
            first = false;
            await gate;
          }
          return store.insertMessages(messages);
        },
      },
      maxBatch: 10,
      maxPending: 20,
      waitTimeoutMs: 300,
    });
    const message = (): Message => ({ id: newId('msg'), appId: 'app_slow', eventId: null, eventType: 't', payload: '{}', channels: null, tags: null, createdAt: now });
    const hanging = committer.submit(message()); // taken into the hanging commit
    await new Promise((r) => setImmediate(r));
    const waiting = Array.from({ length: 20 }, () => message());
    const outcomes = waiting.map((m) => committer.submit(m).then(() => 'stored', (e: Error) => e.name));
    const started = Date.now();
    await assert.rejects(committer.submit(message()), (e: Error) => e.name === 'StoreUnavailableError' && /already waiting/.test(e.message), 'over the limit: refused at once');
    assert.deepEqual(new Set(await Promise.all(outcomes)), new Set(['StoreUnavailableError']), 'the waiting ones are refused after the timeout');
    const waited = Date.now() - started;
    assert.ok(waited >= 250 && waited < 1500, `refused after ${waited} ms (timeout 300 ms)`);
    release();
    assert.equal((await hanging).kind, 'inserted', 'the commit that was under way completes');
    for (const m of waiting) assert.equal(await store.getMessage('app_slow', m.id), null, 'a refused message was never stored');
    const after = message();
    assert.equal((await committer.submit(after)).kind, 'inserted', 'the queue works again');
  } finally {
    await store.close();
    temp.cleanup();
  }
});
