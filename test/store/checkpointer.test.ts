import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { newId } from '../../src/domain/ids.js';
import type { Message } from '../../src/domain/types.js';
import { BACKSTOP_PAGES, Checkpointer } from '../../src/store/sqlite/checkpointer.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { eventually, tempDir, unhandledRejectionsDuring } from '../helpers/hookd.js';

/** Writes `batches` group-commit-sized transactions of 100 messages with 2 KB payloads each. */
async function write(store: SqliteStore, appId: string, batches: number, onBatch: () => void = () => undefined): Promise<void> {
  const payload = JSON.stringify({ pad: 'x'.repeat(2000) });
  for (let batch = 0; batch < batches; batch++) {
    const now = Date.now();
    const messages: Message[] = Array.from({ length: 100 }, () => ({ id: newId('msg', now), appId, eventId: null, eventType: 'wal.test', channels: null, tags: null, payload, createdAt: now }));
    await store.insertMessages(messages);
    onBatch();
    if (batch % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

for (const checkpoint of [true, 'here'] as const) {
  test(`WAL checkpoints run in the background (${checkpoint === true ? 'on a checkpointer thread' : "on the connection, between its commits, as hookd start's main connection's do"}): pages reach the database file without the writer's own checkpoint, and the WAL stays bounded`, async () => {
    const { dir, cleanup } = tempDir();
    const path = join(dir, 'hookd.db');
    const store = new SqliteStore({ path, checkpoint });
    try {
      await store.migrate();
      const appId = newId('app');
      await store.createApp({ id: appId, uid: null, name: 'wal', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: Date.now(), updatedAt: Date.now() });
      // About 1,200 pages: below the writer's own threshold, so only the background thread can copy them.
      const before = statSync(path).size;
      await write(store, appId, 20);
      assert.ok(statSync(`${path}-wal`).size > 4_000_000, 'the commits went to the WAL');
      await eventually(() => statSync(path).size - before > 4_000_000, 5000, 'the database file to receive the WAL pages');

      // Far beyond the threshold: the WAL restarts instead of growing.
      let largestWal = 0;
      await write(store, appId, 300, () => (largestWal = Math.max(largestWal, statSync(`${path}-wal`).size)));
      const bound = BACKSTOP_PAGES * 4096 * 2;
      assert.ok(largestWal < bound, `WAL peaked at ${(largestWal / 1e6).toFixed(1)} MB (bound ${(bound / 1e6).toFixed(1)} MB)`);
    } finally {
      await store.close();
    }
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.prepare('SELECT count(*) FROM message').pluck().get(), 32_000, 'every committed row is there after close');
    } finally {
      db.close();
      cleanup();
    }
  });
}

test('a checkpointer thread that fails is reported to its owner, and the process lives on', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const rejections = await unhandledRejectionsDuring(async () => {
      // A file the thread cannot open (as with no descriptor left): its connection throws, uncaught, as it starts.
      const failures: unknown[] = [];
      const checkpointer = new Checkpointer(join(dir, 'missing', 'hookd.db'), (error) => failures.push(error));
      await eventually(() => failures.length > 0, 5000, 'the failure to be reported');
      await checkpointer.close();
    });
    assert.deepEqual(rejections, [], 'no unhandled rejection');
  } finally {
    cleanup();
  }
});
