import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { ConfigError, SETTINGS, loadConfig, unknownSettings } from '../src/config.js';

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
  refused({ HOOKD_REQUEST_TIMEOUT: '15' }, /^HOOKD_REQUEST_TIMEOUT=15 has no unit: write it with its unit, e\.g\. 15s, 15m, 15h or 15d/);
  refused({ HOOKD_LEASE: '30' }, /HOOKD_LEASE=30 has no unit: write it with its unit/);
  refused({ HOOKD_RETENTION: '30' }, /HOOKD_RETENTION=30 has no unit: write it with its unit, e\.g\. 30s, 30m, 30h or 30d/);
  refused({ HOOKD_LEASE: '5s' }, /^HOOKD_LEASE \(5000 ms\) must be longer than HOOKD_REQUEST_TIMEOUT \(15000 ms, its default\)$/);
  refused({ HOOKD_CIRCUIT_COOLDOWN: '10m' }, /^HOOKD_CIRCUIT_MAX_COOLDOWN \(300000 ms, its default\) must be at least HOOKD_CIRCUIT_COOLDOWN \(600000 ms\)$/);
  refused({ HOOKD_DB_TIMEOUT: '5' }, /HOOKD_DB_TIMEOUT=5 has no unit/);
  refused({ HOOKD_REQUEST_TIMEOUT: '15ms' }, /HOOKD_REQUEST_TIMEOUT=15ms is under 100ms/);
  refused({ HOOKD_API_REQUEST_TIMEOUT: '500ms' }, /HOOKD_API_REQUEST_TIMEOUT=500ms is under 1s/);
  refused({ HOOKD_API_REQUEST_TIMEOUT: '60' }, /HOOKD_API_REQUEST_TIMEOUT=60 has no unit/);
  refused({ HOOKD_POLL_INTERVAL: '0ms' }, /HOOKD_POLL_INTERVAL=0ms is under 10ms/);
  refused({ HOOKD_REQUEST_TIMEOUT: 'soon' }, /HOOKD_REQUEST_TIMEOUT: invalid duration "soon"/);
  refused({ HOOKD_RETRY_SCHEDULE: '' }, /HOOKD_RETRY_SCHEDULE is empty: .* or none for a single attempt/);
  refused({ HOOKD_RETRY_SCHEDULE: '5s,,1m' }, /HOOKD_RETRY_SCHEDULE=5s,,1m: .* empty entry/);
  refused({ HOOKD_RETRY_SCHEDULE: '5,10' }, /HOOKD_RETRY_SCHEDULE=5,10: 5 has no unit: write it with its unit/);
  refused({ HOOKD_LOG_LEVEL: 'verbose' }, /HOOKD_LOG_LEVEL=verbose is not a log level \(one of fatal, error, warn, info, debug, trace, silent\)/);
  refused({ HOOKD_HOST: 'my host' }, /HOOKD_HOST=my host is neither an IP address nor a host name/);
  refused({ HOOKD_PORT: 'eighty' }, /HOOKD_PORT must be an integer/);
  refused({ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must be a postgres:\/\/ URL/);
  refused({ HOOKD_SQLITE_MAX_SIZE: '-1' }, /HOOKD_SQLITE_MAX_SIZE must be an integer/);
  // Node fires a timer longer than 2^31 - 1 ms after 1 ms: a 30-day interval would run the maintenance loop nonstop.
  for (const name of ['HOOKD_MAINTENANCE_INTERVAL', 'HOOKD_POLL_INTERVAL', 'HOOKD_SHUTDOWN_TIMEOUT', 'HOOKD_LEASE', 'HOOKD_DB_TIMEOUT', 'HOOKD_CIRCUIT_MAX_COOLDOWN']) {
    refused({ [name]: '30d' }, new RegExp(`^${name}=30d is longer than 24 days, the longest wait Node's timers keep`));
  }
  refused({ HOOKD_REQUEST_TIMEOUT: '2h' }, /^HOOKD_REQUEST_TIMEOUT=2h is over 1h/);
  refused({ PORT: 'abc' }, /^PORT must be an integer/);
  refused({ HOOKD_PORT: '9000', HOOKD_METRICS_PORT: '9000' }, /^HOOKD_METRICS_PORT=9000 is the API's port/);
  refused({ PORT: '9100', HOOKD_METRICS_PORT: '9100' }, /^HOOKD_METRICS_PORT=9100 is the API's port/);
  refused({ HOOKD_WORKER_CONCURRENCY: '64', HOOKD_CONNECTIONS_PER_ORIGIN: '65' }, /^HOOKD_CONNECTIONS_PER_ORIGIN=65 is more than HOOKD_WORKER_CONCURRENCY=64/);

  const config = loadConfig({ ...base, HOOKD_RETRY_SCHEDULE: 'none', HOOKD_LOG_LEVEL: 'WARN', HOOKD_HOST: 'my-host', HOOKD_ENDPOINT_DISABLE_AFTER: '0', HOOKD_REQUEST_TIMEOUT: '' });
  assert.deepEqual(config.delivery.retryScheduleMs, [], 'none: a single attempt');
  assert.equal(config.logLevel, 'warn');
  assert.equal(config.host, 'my-host', 'a host name is resolved when hookd listens');
  assert.equal(config.operations.endpointDisableAfterMs, 0, '0 needs no unit');
  assert.equal(config.delivery.requestTimeoutMs, 15_000, 'empty means the default');
  // One origin may hold half the worker's slots by default, whatever the concurrency.
  assert.equal(loadConfig({ ...base, HOOKD_WORKER_CONCURRENCY: '64' }).delivery.connectionsPerOrigin, 32);
  assert.equal(loadConfig({ ...base, HOOKD_WORKER_CONCURRENCY: '1' }).delivery.connectionsPerOrigin, 1);
  assert.equal(config.delivery.connectionsPerOrigin, 256);
  assert.equal(loadConfig({ ...base, PORT: '9100' }).port, 9100, 'PORT when HOOKD_PORT is not set');
  assert.equal(loadConfig({ ...base, HOOKD_RETENTION: '90d' }).operations.retentionMs, 90 * 86_400_000, 'a duration that is no timer may be long');
});

test('SETTINGS names every HOOKD_ variable config.ts reads, and docs/configuration.md documents each', () => {
  const source = readFileSync(new URL('../src/config.ts', import.meta.url), 'utf8');
  const outsideList = source.replace(/\/\/ ---- settings-list start[\s\S]*?\/\/ ---- settings-list end/, '');
  const read = new Set(outsideList.match(/HOOKD_[A-Z0-9_]+/g));
  read.delete('HOOKD_TEST_'); // the tests' prefix, which unknownSettings passes over
  assert.deepEqual([...SETTINGS].sort(), [...read].sort());
  const docs = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
  assert.deepEqual([...SETTINGS].filter((name) => !docs.includes(`\`${name}\``)), [], 'undocumented settings');
});

test('a HOOKD_ variable hookd does not read is named, with the setting it most likely misspells', () => {
  const env = { HOOKD_RETRY: '1s', HOOKD_SSRF_ALLOWED: '127.0.0.0/8', HOOKD_CIRCIUT_FAILURES: '3', HOOKD_SOMETHING_ELSE: '1', HOOKD_PORT: '8080', HOOKD_TEST_DATABASE_URL: 'x', PATH: '/bin' };
  assert.deepEqual(unknownSettings(env), [
    'HOOKD_CIRCIUT_FAILURES (did you mean HOOKD_CIRCUIT_FAILURES?)',
    'HOOKD_RETRY (did you mean HOOKD_RETRY_SCHEDULE?)',
    'HOOKD_SOMETHING_ELSE',
    'HOOKD_SSRF_ALLOWED (did you mean HOOKD_SSRF_ALLOW?)',
  ]);
  assert.deepEqual(unknownSettings({ HOOKD_PORT: '1', HOOKD_DATABASE_URL: 'postgres://x' }), []);
});
