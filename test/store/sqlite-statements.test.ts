import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteDb, refuseReplannedLimit } from '../../src/store/sqlite/db.js';
import { tempDir } from '../helpers/hookd.js';

/**
 * SQLite re-plans a statement whose LIMIT is a bare parameter each time it is bound, which better-sqlite3 does at
 * every run (store/sqlite/db.ts refuseReplannedLimit). The SQLite store writes `LIMIT +?`; its connection refuses
 * the bare form, so a statement that brings it back fails in every test that runs it, not only in a profile.
 */

test('a bare LIMIT parameter is refused in every spelling; LIMIT +? and a literal limit are not', () => {
  for (const sql of ['SELECT 1 LIMIT ?', 'SELECT 1 limit  ?', 'SELECT 1 LIMIT\n?', 'SELECT 1 LIMIT :n', 'SELECT 1 LIMIT @n', 'SELECT 1 LIMIT $n']) {
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
