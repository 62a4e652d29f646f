import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { generateSecret } from '../../src/domain/signing.js';
import { eventually, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { freshDatabase, testDatabaseUrl } from '../helpers/process.js';
import { Receiver } from '../helpers/receiver.js';

/**
 * Endpoint auto-disable with real HTTP on both stores: an endpoint that keeps failing for longer than
 * HOOKD_ENDPOINT_DISABLE_AFTER (1 s here) is disabled by its next failed attempt, and the operator hears about it
 * through a signed endpoint.disabled operational webhook.
 */

const stores = [
  { name: 'sqlite', database: async () => ({ env: {}, drop: async () => undefined }) },
  {
    name: 'postgres',
    database: async () => {
      const db = await freshDatabase(testDatabaseUrl(), 'hookd_autodisable');
      return { env: { DATABASE_URL: db.url }, drop: db.drop };
    },
  },
];

for (const { name, database } of stores) {
  describe(`endpoint auto-disable (${name})`, () => {
    let hookd: TestHookd & { cleanup: () => Promise<void> };
    let drop: () => Promise<void>;
    let operator: Receiver;
    let failing: Receiver;
    const operatorSecret = generateSecret();

    before(async () => {
      operator = await Receiver.start();
      failing = await Receiver.start((_request, response) => {
        response.writeHead(503);
        response.end('down');
      });
      const db = await database();
      drop = db.drop;
      hookd = await startTestHookd({
        env: {
          ...db.env,
          HOOKD_ENDPOINT_DISABLE_AFTER: '1s',
          // Retries every 150 ms, far more attempts than fit in the disable period.
          HOOKD_RETRY_SCHEDULE: Array.from({ length: 30 }, () => '150ms').join(','),
          HOOKD_OPERATIONAL_WEBHOOK_URL: `${operator.url}/operational`,
          HOOKD_OPERATIONAL_WEBHOOK_SECRET: operatorSecret,
        },
      });
    });
    after(async () => {
      await hookd?.cleanup();
      await drop?.();
      await operator.close();
      await failing.close();
    });

    test('an endpoint failing longer than the disable period is disabled, stops receiving, and the operator gets a signed endpoint.disabled', async () => {
      const app = (await hookd.api.post('/api/v1/app', { name: 'flaky tenant', uid: 'flaky-tenant' })).body;
      const endpoint = (await hookd.api.post(`/api/v1/app/${app.id}/endpoint`, { url: `${failing.url}/hook`, uid: 'flaky-hook' })).body;
      const firstSentAt = Date.now();
      assert.equal((await hookd.api.post(`/api/v1/app/${app.id}/msg`, { eventType: 'order.created', payload: { n: 1 } })).status, 202);

      await eventually(async () => (await hookd.api.get(`/api/v1/app/${app.id}/endpoint/${endpoint.id}`)).body.disabled === true, 10_000, 'the endpoint to be disabled');
      const disabledAfter = Date.now() - firstSentAt;
      assert.ok(disabledAfter >= 1000, `disabled only after the period (${disabledAfter} ms)`);
      assert.ok(failing.requests.length >= 6, `it kept failing meanwhile (${failing.requests.length} attempts)`);

      const isDisabledEvent = (r: { body: string }) => JSON.parse(r.body).type === 'endpoint.disabled';
      const request = (await operator.waitFor((requests) => requests.some(isDisabledEvent), 10_000, 'endpoint.disabled')).find(isDisabledEvent)!;
      assert.equal(request.path, '/operational');
      const payload = new StandardWebhook(operatorSecret).verify(request.body, request.headers as Record<string, string>) as Record<string, any>;
      assert.equal(payload.type, 'endpoint.disabled');
      assert.equal(typeof payload.timestamp, 'string');
      const failSince = Date.parse(payload.data.failSince);
      assert.ok(Math.abs(failSince - firstSentAt) < 1000, 'the streak began with the first failed attempt');
      assert.deepEqual(payload.data, {
        appId: app.id,
        appUid: 'flaky-tenant',
        endpointId: endpoint.id,
        endpointUid: 'flaky-hook',
        failSince: payload.data.failSince,
        trigger: 'automatic',
        reason: `failing continuously since ${new Date(Math.floor(failSince / 1000) * 1000).toISOString().replace('.000Z', 'Z')}`,
      });
      assert.equal((await hookd.store.getEndpoint(app.id, endpoint.id))!.disabledReason, payload.data.reason);

      // Disabled: nothing more is sent to it, the pending delivery ends failed, new messages make no delivery.
      await new Promise((resolve) => setTimeout(resolve, 400));
      const sent = failing.requests.length;
      assert.equal((await hookd.api.post(`/api/v1/app/${app.id}/msg`, { eventType: 'order.created', payload: { n: 2 } })).status, 202);
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(failing.requests.length, sent, 'a disabled endpoint receives nothing');
      const dead = (await hookd.api.get(`/api/v1/app/${app.id}/delivery?status=2`)).body.data as { lastError?: string }[];
      assert.deepEqual(dead.map((d) => d.lastError), ['endpoint disabled'], 'the pending retry failed at claim; the new message made no delivery');
      assert.equal(operator.requests.filter(isDisabledEvent).length, 1, 'reported once');
    });
  });
}
