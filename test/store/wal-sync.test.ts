import assert from 'node:assert/strict';
import { existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { newId } from '../../src/domain/ids.js';
import type { Message } from '../../src/domain/types.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/hookd.js';

/**
 * A full commit on SQLite appends to the WAL without an fsync under the write lock, then fsyncs the WAL file itself
 * (store/sqlite/db.ts committed(), and transactionDurable() for ingest, on libuv's thread pool). That file must be
 * the one SQLite writes: these commits fail if it cannot be opened, so they prove the path is right.
 */

const message = (appId: string): Message => {
  const now = Date.now();
  return { id: newId('msg', now), appId, eventId: null, eventType: 'wal.sync', channels: null, tags: null, payload: '{"ok":true}', createdAt: now };
};

test('a database reached through a symbolic link commits, both ways: the WAL fsynced is the one beside the real file', async () => {
  const temp = tempDir('hookd-wal-sync-');
  const realDir = join(temp.dir, 'real');
  const linkDir = join(temp.dir, 'link');
  mkdirSync(realDir);
  mkdirSync(linkDir);
  const real = join(realDir, 'hookd.db');
  writeFileSync(real, '');
  const link = join(linkDir, 'hookd.db');
  symlinkSync(real, link);
  const store = new SqliteStore({ path: link });
  try {
    await store.migrate();
    const db = (store as unknown as { db: { walPath: string | null } }).db;
    assert.equal(db.walPath, `${realpathSync(real)}-wal`, 'full commits fsync the WAL beside the real file');
    // An API write: fsynced on the event loop (committed()); ingest: on libuv's thread pool (transactionDurable()).
    const appId = newId('app');
    await store.createApp({ id: appId, uid: null, name: 'wal', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: Date.now(), updatedAt: Date.now() });
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

test('ingest commits made once a WAL fsync is under way share the next one (two fsyncs for 50 commits), and close waits for those under way', async () => {
  const temp = tempDir('hookd-wal-sync-');
  const path = join(temp.dir, 'hookd.db');
  // Checkpoints on the connection, as hookd start's: nothing else (a checkpointer thread's close) delays close().
  const store = new SqliteStore({ path, checkpoint: 'here' });
  const db = (store as unknown as { db: { walSyncs: number } }).db;
  try {
    await store.migrate();
    const appId = newId('app');
    await store.createApp({ id: appId, uid: null, name: 'wal', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: Date.now(), updatedAt: Date.now() });
    const before = db.walSyncs;
    // 50 batches sent in one turn: each commits at once; the first starts an fsync on the thread pool, the other 49
    // commit after it began and wait for the next one, which covers them all.
    const sent = Array.from({ length: 50 }, () => [message(appId)]);
    const results = await Promise.all(sent.map((batch) => store.insertMessages(batch)));
    assert.ok(results.every(([r]) => r!.kind === 'inserted'));
    assert.equal(db.walSyncs - before, 2, 'two fsyncs for 50 commits');
    // Closing while commits wait for their fsync: they are answered first (no fsync of a closed descriptor).
    const late = store.insertMessages([message(appId)]);
    await store.close();
    assert.equal((await late)[0]!.kind, 'inserted');
    const reopened = new Database(path, { readonly: true });
    try {
      assert.equal(reopened.prepare('SELECT count(*) FROM message').pluck().get(), 51, 'every answered commit is in the file');
    } finally {
      reopened.close();
    }
  } finally {
    await store.close();
    temp.cleanup();
  }
});
