import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { generateSecret } from '../../src/domain/signing.js';

const base = { HOOKD_SQLITE_PATH: '/tmp/hookd-operations-config-test.db' };
const rejects = (env: Record<string, string>, name: RegExp): void => {
  assert.throws(() => loadConfig({ ...base, ...env }), (error: unknown) => error instanceof ConfigError && name.test((error as Error).message), JSON.stringify(env));
};

test('operations settings default to a 5-day disable period, 30-day retention, 1-minute maintenance and no operational webhooks', () => {
  assert.deepEqual(loadConfig(base).operations, {
    endpointDisableAfterMs: 5 * 86_400_000,
    operationalWebhook: null,
    retentionMs: 30 * 86_400_000,
    maintenanceIntervalMs: 60_000,
    retentionBatch: 1000,
  });
  const secret = generateSecret();
  const custom = loadConfig({
    ...base,
    HOOKD_ENDPOINT_DISABLE_AFTER: '0',
    HOOKD_RETENTION: '7d',
    HOOKD_MAINTENANCE_INTERVAL: '5m',
    HOOKD_RETENTION_BATCH: '250',
    HOOKD_OPERATIONAL_WEBHOOK_URL: 'https://ops.example.com/hookd',
    HOOKD_OPERATIONAL_WEBHOOK_SECRET: secret,
  }).operations;
  assert.deepEqual(custom, { endpointDisableAfterMs: 0, operationalWebhook: { url: 'https://ops.example.com/hookd', secret }, retentionMs: 7 * 86_400_000, maintenanceIntervalMs: 300_000, retentionBatch: 250 });
});

test('an operational webhook URL needs a whsec_ secret, and a secret needs a URL', () => {
  rejects({ HOOKD_OPERATIONAL_WEBHOOK_URL: 'https://ops.example.com' }, /HOOKD_OPERATIONAL_WEBHOOK_SECRET/);
  rejects({ HOOKD_OPERATIONAL_WEBHOOK_URL: 'https://ops.example.com', HOOKD_OPERATIONAL_WEBHOOK_SECRET: 'not-a-secret' }, /HOOKD_OPERATIONAL_WEBHOOK_SECRET/);
  rejects({ HOOKD_OPERATIONAL_WEBHOOK_SECRET: generateSecret() }, /HOOKD_OPERATIONAL_WEBHOOK_URL/);
  rejects({ HOOKD_OPERATIONAL_WEBHOOK_URL: 'ftp://ops.example.com', HOOKD_OPERATIONAL_WEBHOOK_SECRET: generateSecret() }, /HOOKD_OPERATIONAL_WEBHOOK_URL/);
  rejects({ HOOKD_OPERATIONAL_WEBHOOK_URL: 'not a url', HOOKD_OPERATIONAL_WEBHOOK_SECRET: generateSecret() }, /HOOKD_OPERATIONAL_WEBHOOK_URL/);
  rejects({ HOOKD_RETENTION: 'a month' }, /HOOKD_RETENTION/);
  rejects({ HOOKD_RETENTION_BATCH: '0' }, /HOOKD_RETENTION_BATCH/);
  rejects({ HOOKD_MAINTENANCE_INTERVAL: '0' }, /HOOKD_MAINTENANCE_INTERVAL/);
});
