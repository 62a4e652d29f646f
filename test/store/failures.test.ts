import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refusedData, StoreUnavailableError, storeFailureOf } from '../../src/store/failures.js';

test('database failures are told apart from bugs: away or slow is "unavailable", out of space is "full"', () => {
  const err = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });
  assert.equal(storeFailureOf(err('SQLITE_FULL')), 'full');
  assert.equal(storeFailureOf(err('53100')), 'full', 'PostgreSQL disk_full');
  for (const code of ['SQLITE_BUSY', 'SQLITE_IOERR_WRITE', 'SQLITE_READONLY_DBMOVED', '57P01', '57P03', '08006', '57014', '40P01', '25006', 'ECONNREFUSED', 'ECONNRESET']) {
    assert.equal(storeFailureOf(err(code)), 'unavailable', code);
  }
  assert.equal(storeFailureOf(new Error('Connection terminated unexpectedly')), 'unavailable');
  assert.equal(storeFailureOf(new Error('timeout exceeded when trying to connect')), 'unavailable');
  assert.equal(storeFailureOf(new StoreUnavailableError('queue full')), 'unavailable');
  for (const code of ['SQLITE_CONSTRAINT_UNIQUE', '23505', '42P01', 'SQLITE_CORRUPT']) assert.equal(storeFailureOf(err(code)), null, code);
  assert.equal(storeFailureOf(new TypeError('x is undefined')), null);
});

test('a refusal of what a statement carried (a value, a constraint, a trigger) is told apart from a fault of the statement or the database', () => {
  const err = (code: string): Error => Object.assign(new Error('x'), { code });
  for (const code of ['22P02', '22021', '23505', '23514', 'P0001', 'SQLITE_CONSTRAINT_TRIGGER', 'SQLITE_CONSTRAINT_CHECK', 'SQLITE_TOOBIG', 'SQLITE_MISMATCH']) {
    assert.equal(refusedData(err(code)), true, code);
  }
  // A schema or code fault fails every part as well; the database away or full is retried as it is.
  for (const code of ['42703', '42P01', '42501', '08006', '57P01', '53100', 'SQLITE_BUSY', 'SQLITE_FULL', 'SQLITE_CORRUPT', 'SQLITE_ERROR']) {
    assert.equal(refusedData(err(code)), false, code);
  }
  assert.equal(refusedData(new TypeError('x is undefined')), false);
  assert.equal(refusedData(null), false);
});
