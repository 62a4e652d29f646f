import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Receiver } from '../helpers/receiver.js';
import { startTestHookd } from '../helpers/hookd.js';

test('a delivery queued behind a slow receiver longer than its lease is not sent twice', async () => {
  // 100 deliveries, 16 connections, 1 s each: the last wave starts ~6 s after the claim, twice the 3 s lease.
  // The worker renews the leases of what it holds, so nothing is claimed again while it waits.
  const receiver = await Receiver.start((_request, response) => {
    setTimeout(() => {
      response.writeHead(200);
      response.end();
    }, 1000);
  });
  const hookd = await startTestHookd({ env: { HOOKD_REQUEST_TIMEOUT: '2s', HOOKD_LEASE: '3s', HOOKD_POLL_INTERVAL: '200ms' } });
  try {
    const app = (await hookd.api.post('/api/v1/app', { name: 'slow receiver' })).body.id;
    await hookd.api.post(`/api/v1/app/${app}/endpoint`, { url: `${receiver.url}/hook` });
    await Promise.all(Array.from({ length: 100 }, (_, i) => hookd.api.post(`/api/v1/app/${app}/msg`, { eventType: 'slow.one', payload: { i } })));
    await receiver.waitFor((r) => r.length >= 100, 30_000, '100 deliveries');
    await new Promise((r) => setTimeout(r, 1500));
    const ids = receiver.requests.map((r) => r.headers['webhook-id']);
    assert.equal(ids.length, 100, `${ids.length - new Set(ids).size} duplicate sends`);
    assert.equal(new Set(ids).size, 100);
  } finally {
    await hookd.cleanup();
    await receiver.close();
  }
});
