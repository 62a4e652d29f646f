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
