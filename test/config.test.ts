import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

test('HOOKD_ADMIN_TOKEN must be long enough to be unguessable (it is stored as a fast hash)', () => {
  const base = { HOOKD_SQLITE_PATH: '/tmp/hookd-config-test.db' };
  assert.equal(loadConfig({ ...base, HOOKD_ADMIN_TOKEN: 'a'.repeat(20) }).adminToken, 'a'.repeat(20));
  assert.equal(loadConfig({ ...base, HOOKD_ADMIN_TOKEN: '' }).adminToken, null, 'empty means not set');
  for (const weak of ['secret', 'a'.repeat(19), `${'a'.repeat(20)} b`]) {
    assert.throws(() => loadConfig({ ...base, HOOKD_ADMIN_TOKEN: weak }), (error: unknown) => error instanceof ConfigError && /HOOKD_ADMIN_TOKEN/.test((error as Error).message), weak);
  }
});
