import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteDb, refuseReplannedLimit } from '../../src/store/sqlite/db.js';
import { tempDir } from '../helpers/hookd.js';

/**
 * Two rules the SQLite connection enforces on every statement it prepares, so that code breaking them fails in every
 * test that runs it, not only in a profile or a power cut (store/sqlite/db.ts):
 * - no bare LIMIT parameter: SQLite re-plans such a statement each time it is bound, which better-sqlite3 does at every
 *   run; the store writes `LIMIT +?`;
 * - no write outside committed(): the connection runs synchronous=NORMAL, and committed() is what fsyncs a full commit.
 */

test('a bare LIMIT parameter is refused, named or not, in parentheses or not; LIMIT +? and a literal limit are not', () => {
  for (const sql of ['SELECT 1 LIMIT ?', 'SELECT 1 limit  ?', 'SELECT 1 LIMIT\n?', 'SELECT 1 LIMIT (?)', 'SELECT 1 LIMIT ( ?)', 'SELECT 1 LIMIT :n', 'SELECT 1 LIMIT @n', 'SELECT 1 LIMIT $n']) {
    assert.throws(() => refuseReplannedLimit(sql), /write LIMIT \+\? instead/, sql);
  }
  for (const sql of ['SELECT 1 LIMIT +?', 'SELECT 1 LIMIT 1', "SELECT 'LIMIT' AS word WHERE ? > 0"]) assert.equal(refuseReplannedLimit(sql), sql);
});

test('the SQLite connection refuses a bare LIMIT parameter, cached or not, and runs LIMIT +? with the bound limit', async () => {
  const temp = tempDir('hookd-sqlite-statements-');
  const db = new SqliteDb({ path: join(temp.dir, 'hookd.db'), checkpoint: false });
  try {
    await db.migrate();
    assert.throws(() => db.stmt('SELECT id FROM app ORDER BY id LIMIT ?'), /write LIMIT \+\? instead/);
    assert.throws(() => db.prepare('SELECT id FROM app ORDER BY id LIMIT ?'), /write LIMIT \+\? instead/);
    const numbers = db.stmt('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) SELECT i FROM n ORDER BY i LIMIT +?').pluck();
    assert.deepEqual(numbers.all(3), [1, 2, 3]);
    assert.deepEqual(numbers.all(5), [1, 2, 3, 4, 5], 'each run takes the limit bound to it');
  } finally {
    await db.close();
    temp.cleanup();
  }
});

test('a write runs only inside committed(); reads run anywhere, and a guarded statement chains like any other', async () => {
  const temp = tempDir('hookd-sqlite-statements-');
  const db = new SqliteDb({ path: join(temp.dir, 'hookd.db'), checkpoint: false });
  try {
    await db.migrate();
    const insert = db.stmt("INSERT INTO event_type (name, description, archived, created_at, updated_at) VALUES (?, '', 0, 1, 1)");
    assert.throws(() => insert.run('outside'), /a write outside SqliteDb.committed\(\) would not be fsynced/);
    assert.throws(() => db.prepare("DELETE FROM event_type WHERE name = 'x' RETURNING name").all(), /would not be fsynced/, 'a write that returns rows is a write');
    db.committed('full', () => insert.run('inside'));
    db.transaction(() => insert.run('in a transaction'), 'redoable');
    const names = db.stmt('SELECT name FROM event_type ORDER BY name').pluck().all();
    assert.deepEqual(names, ['in a transaction', 'inside'], 'the refused write wrote nothing');
    const deleted = db.committed('full', () => db.stmt("DELETE FROM event_type WHERE name = ? RETURNING name").pluck().all('inside'));
    assert.deepEqual(deleted, ['inside'], 'pluck() on a guarded write statement returns its values');
  } finally {
    await db.close();
    temp.cleanup();
  }
});
