import assert from 'node:assert/strict';
import { existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { newId } from '../../src/domain/ids.js';
import type { Message } from '../../src/domain/types.js';
import type { IngestThread } from '../../src/store/sqlite/ingest-thread.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/hookd.js';

/**
 * A full commit on SQLite appends to the WAL without an fsync under the write lock, then fsyncs the WAL file itself
 * (store/sqlite/db.ts committed()). That file must be the one SQLite writes: these commits fail if it cannot be
 * opened, so they prove the path is right.
 */

const message = (appId: string): Message => {
  const now = Date.now();
  return { id: newId('msg', now), appId, eventId: null, eventType: 'wal.sync', channels: null, tags: null, payload: '{"ok":true}', createdAt: now };
};

for (const ingestThread of [false, true]) {
  test(`a database reached through a symbolic link commits (${ingestThread ? 'ingest thread' : 'main connection'}): the WAL fsynced is the one beside the real file`, async () => {
    const temp = tempDir('hookd-wal-sync-');
    const realDir = join(temp.dir, 'real');
    const linkDir = join(temp.dir, 'link');
    mkdirSync(realDir);
    mkdirSync(linkDir);
    const real = join(realDir, 'hookd.db');
    writeFileSync(real, '');
    const link = join(linkDir, 'hookd.db');
    symlinkSync(real, link);
    const store = new SqliteStore({ path: link, ingestThread });
    try {
      await store.migrate();
      // The connection's own view: the WAL it fsyncs is the real file's, and (for the thread) the thread commits.
      const db = (store as unknown as { db: { walPath: string | null; ingestThread: IngestThread | null } }).db;
      assert.equal(db.walPath, `${realpathSync(real)}-wal`, 'full commits fsync the WAL beside the real file');
      assert.equal(db.ingestThread?.running ?? false, ingestThread, ingestThread ? 'the ingest thread commits' : 'no ingest thread');
      const appId = newId('app');
      await store.createApp({ id: appId, uid: null, name: 'wal', metadata: {}, rateLimit: null, createdAt: Date.now(), updatedAt: Date.now() });
      const sent = [message(appId), message(appId)];
      const results = await store.insertMessages(sent);
      assert.deepEqual(
        results.map((r) => r.kind),
        ['inserted', 'inserted'],
      );
      assert.ok(existsSync(`${real}-wal`), 'SQLite writes its WAL beside the real file');
      assert.ok(!existsSync(`${link}-wal`), 'not beside the link');
      for (const m of sent) assert.equal((await store.getMessage(appId, m.id))?.payload, '{"ok":true}');
    } finally {
      await store.close();
      temp.cleanup();
    }
  });
}
