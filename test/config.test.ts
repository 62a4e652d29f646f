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

test('HOOKD_PUBLIC_URL is an http(s) URL without query, fragment or credentials, kept without a trailing slash', () => {
  const base = { HOOKD_SQLITE_PATH: '/tmp/hookd-config-test.db' };
  assert.equal(loadConfig(base).publicUrl, null, 'unset: each request names its own host');
  assert.equal(loadConfig({ ...base, HOOKD_PUBLIC_URL: 'https://hooks.example.com/' }).publicUrl, 'https://hooks.example.com');
  assert.equal(loadConfig({ ...base, HOOKD_PUBLIC_URL: 'http://example.com:8080/hookd//' }).publicUrl, 'http://example.com:8080/hookd');
  for (const bad of ['hooks.example.com', 'ftp://example.com', 'https://example.com/?a=1', 'https://example.com/#x', 'https://user:pw@example.com']) {
    assert.throws(() => loadConfig({ ...base, HOOKD_PUBLIC_URL: bad }), (error: unknown) => error instanceof ConfigError && /^HOOKD_PUBLIC_URL=/.test((error as Error).message), bad);
  }
});

test('every bad configuration value is refused at start-up with one line naming the variable and the fix', () => {
  const base = { HOOKD_SQLITE_PATH: '/tmp/hookd-config-test.db' };
  const refused = (env: Record<string, string>, message: RegExp): void => {
    assert.throws(() => loadConfig({ ...base, ...env }), (error: unknown) => error instanceof ConfigError && message.test((error as Error).message) && !(error as Error).message.includes('\n'), JSON.stringify(env));
  };
  refused({ HOOKD_REQUEST_TIMEOUT: '15' }, /^HOOKD_REQUEST_TIMEOUT=15 has no unit; did you mean 15s\?/);
  refused({ HOOKD_LEASE: '30' }, /HOOKD_LEASE=30 has no unit; did you mean 30s\?/);
  refused({ HOOKD_DB_TIMEOUT: '5' }, /HOOKD_DB_TIMEOUT=5 has no unit/);
  refused({ HOOKD_REQUEST_TIMEOUT: '15ms' }, /HOOKD_REQUEST_TIMEOUT=15ms is under 100ms/);
  refused({ HOOKD_POLL_INTERVAL: '0ms' }, /HOOKD_POLL_INTERVAL=0ms is under 10ms/);
  refused({ HOOKD_REQUEST_TIMEOUT: 'soon' }, /HOOKD_REQUEST_TIMEOUT: invalid duration "soon"/);
  refused({ HOOKD_RETRY_SCHEDULE: '' }, /HOOKD_RETRY_SCHEDULE is empty: .* or none for a single attempt/);
  refused({ HOOKD_RETRY_SCHEDULE: '5s,,1m' }, /HOOKD_RETRY_SCHEDULE=5s,,1m: .* empty entry/);
  refused({ HOOKD_RETRY_SCHEDULE: '5,10' }, /HOOKD_RETRY_SCHEDULE=5,10: 5 has no unit; did you mean 5s\?/);
  refused({ HOOKD_LOG_LEVEL: 'verbose' }, /HOOKD_LOG_LEVEL=verbose is not a log level \(one of fatal, error, warn, info, debug, trace, silent\)/);
  refused({ HOOKD_HOST: 'my host' }, /HOOKD_HOST=my host is neither an IP address nor a host name/);
  refused({ HOOKD_PORT: 'eighty' }, /HOOKD_PORT must be an integer/);
  refused({ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must be a postgres:\/\/ URL/);
  refused({ HOOKD_SQLITE_MAX_SIZE: '-1' }, /HOOKD_SQLITE_MAX_SIZE must be an integer/);

  const config = loadConfig({ ...base, HOOKD_RETRY_SCHEDULE: 'none', HOOKD_LOG_LEVEL: 'WARN', HOOKD_HOST: 'my-host', HOOKD_ENDPOINT_DISABLE_AFTER: '0', HOOKD_REQUEST_TIMEOUT: '' });
  assert.deepEqual(config.delivery.retryScheduleMs, [], 'none: a single attempt');
  assert.equal(config.logLevel, 'warn');
  assert.equal(config.host, 'my-host', 'a host name is resolved when hookd listens');
  assert.equal(config.operations.endpointDisableAfterMs, 0, '0 needs no unit');
  assert.equal(config.delivery.requestTimeoutMs, 15_000, 'empty means the default');
});
