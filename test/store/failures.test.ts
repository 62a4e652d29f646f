import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreUnavailableError, storeFailureOf } from '../../src/store/failures.js';

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
