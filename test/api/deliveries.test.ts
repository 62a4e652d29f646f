import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Svix } from 'svix';
import { TEST_TOKEN, eventually, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { Receiver } from '../helpers/receiver.js';

/**
 * The delivery status routes against a real hookd delivering to a real receiver: the dead-letter list
 * (GET .../delivery), messages with their status (GET .../msg-status), Svix's endpoint stats (through the
 * unmodified svix SDK) and the attempt series behind the dashboard's chart.
 */

let hookd: TestHookd & { cleanup: () => Promise<void> };
let receiver: Receiver;
let appId: string;
let endpointId: string;
let failing = false;

/** The receiver answers 500 while `failing`, else 200. */
const respond = (_: unknown, response: import('node:http').ServerResponse) => {
  response.writeHead(failing ? 500 : 200, { 'content-type': 'text/plain' });
  response.end(failing ? 'receiver is down' : 'ok');
};

before(async () => {
  receiver = await Receiver.start(respond);
  // Three attempts 100 ms and 200 ms apart: a failing delivery is dead-lettered within a second.
  hookd = await startTestHookd();
  const app = await hookd.api.post('/api/v1/app', { name: 'deliveries', uid: 'deliveries' });
  appId = app.body.id;
  const endpoint = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/hook`, uid: 'main' });
  endpointId = endpoint.body.id;
});

after(async () => {
  await hookd?.cleanup();
  await receiver?.close();
});

const publish = async (eventType = 'invoice.paid') => {
  const response = await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType, payload: { n: Math.random() } });
  assert.equal(response.status, 202, JSON.stringify(response.body));
  return response.body.id as string;
};

const statusOf = async (msgId: string) =>
  (await hookd.api.get(`/api/v1/app/${appId}/msg-status?limit=250`)).body.data.find((m: { id: string }) => m.id === msgId)?.statusText;

describe('delivery status routes', () => {
  test('a failed delivery is listed as a dead letter with its last status and error, and leaves the list once resent and delivered', async () => {
    const ok = await publish('user.signup');
    await eventually(async () => (await statusOf(ok)) === 'success', 10_000, 'the first message delivered');
    failing = true;
    const dead = await publish();
    await eventually(async () => (await statusOf(dead)) === 'fail', 10_000, 'the message failed for good');

    const list = await hookd.api.get(`/api/v1/app/${appId}/delivery?status=2`);
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.equal(list.body.data.length, 1);
    const [item] = list.body.data;
    assert.equal(item.msgId, dead);
    assert.equal(item.endpointId, endpointId);
    assert.equal(item.eventType, 'invoice.paid');
    assert.equal(item.status, 2);
    assert.equal(item.statusText, 'fail');
    assert.equal(item.attempts, 3);
    assert.equal(item.lastStatusCode, 500);
    assert.match(item.lastError, /500/);
    assert.equal(item.nextAttempt, undefined);
    assert.equal((await hookd.api.get(`/api/v1/app/${appId}/delivery?status=2&endpoint_id=main`)).body.data.length, 1, 'endpoint by uid');
    assert.equal((await hookd.api.get(`/api/v1/app/${appId}/delivery?status=2&event_types=user.signup`)).body.data.length, 0);
    assert.equal((await hookd.api.get(`/api/v1/app/${appId}/delivery`)).body.data.length, 2, 'every delivery without a status filter');

    const failedMessages = await hookd.api.get(`/api/v1/app/${appId}/msg-status?status=2`);
    assert.deepEqual(failedMessages.body.data.map((m: { id: string }) => m.id), [dead]);
    assert.deepEqual(failedMessages.body.data[0].deliveries, { success: 0, pending: 0, sending: 0, fail: 1 });
    assert.deepEqual(failedMessages.body.data[0].payload, {}, 'no payload unless with_content=true');
    assert.ok((await hookd.api.get(`/api/v1/app/${appId}/msg-status?with_content=true`)).body.data[0].payload.n !== undefined);

    failing = false;
    assert.equal((await hookd.api.post(`/api/v1/app/${appId}/msg/${dead}/endpoint/${endpointId}/resend`)).status, 202);
    await eventually(async () => (await statusOf(dead)) === 'success', 10_000, 'the resent message delivered');
    assert.deepEqual((await hookd.api.get(`/api/v1/app/${appId}/delivery?status=2`)).body.data, []);
    const delivered = await hookd.api.get(`/api/v1/app/${appId}/msg-status?status=0`);
    assert.deepEqual(delivered.body.data.map((m: { id: string }) => m.id).sort(), [ok, dead].sort());
  });

  test('svix endpoint.getStats counts the endpoint deliveries by status, within since/until', async () => {
    const svix = new Svix(TEST_TOKEN, { serverUrl: hookd.url });
    const stats = await svix.endpoint.getStats(appId, endpointId);
    assert.deepEqual(stats, { success: 2, pending: 0, sending: 0, fail: 0, canceled: 0 });
    const future = await svix.endpoint.getStats('deliveries', 'main', { since: new Date(Date.now() + 60_000) });
    assert.deepEqual(future, { success: 0, pending: 0, sending: 0, fail: 0, canceled: 0 });
    const bad = await hookd.api.get(`/api/v1/app/${appId}/endpoint/${endpointId}/stats?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z`);
    assert.equal(bad.status, 422);
  });

  test('the attempt series counts succeeded and failed attempts per minute over the last hour', async () => {
    const series = await hookd.api.get(`/api/v1/app/${appId}/stats/attempt`);
    assert.equal(series.status, 200, JSON.stringify(series.body));
    assert.equal(series.body.data.length, 60);
    assert.equal(series.body.intervalSeconds, 60);
    const totals = series.body.data.reduce((t: { success: number; fail: number }, b: { success: number; fail: number }) => ({ success: t.success + b.success, fail: t.fail + b.fail }), { success: 0, fail: 0 });
    assert.deepEqual(totals, { success: 2, fail: 3 });
    assert.equal(new Date(series.body.data[1].start).getTime() - new Date(series.body.data[0].start).getTime(), 60_000);
    assert.equal(new Date(series.body.data[0].start).getTime() % 60_000, 0, 'buckets on minute boundaries');
    const tooMany = await hookd.api.get(`/api/v1/app/${appId}/stats/attempt?interval=1&since=${new Date(Date.now() - 86_400_000).toISOString()}`);
    assert.equal(tooMany.status, 422);
    const other = await hookd.api.get(`/api/v1/app/${appId}/stats/attempt?endpoint_id=ep_2zzzzzzzzzzzzzzzzzzzzzzzzzz`);
    assert.ok(other.body.data.every((b: { success: number; fail: number }) => b.success + b.fail === 0));
  });
});

test("an endpoint's stats count the 28 days before until (or now) unless since says otherwise, as Svix's do", async () => {
  let offset = -40 * 86_400_000;
  const hookd = await startTestHookd({ clock: () => Date.now() + offset });
  try {
    const app = (await hookd.api.post('/api/v1/app', { name: 'stats window' })).body.id as string;
    const endpoint = (await hookd.api.post(`/api/v1/app/${app}/endpoint`, { url: 'http://127.0.0.1:9/hook' })).body.id as string;
    assert.equal((await hookd.api.post(`/api/v1/app/${app}/msg`, { eventType: 'old', payload: {} })).status, 202, '40 days ago');
    offset = 0;
    assert.equal((await hookd.api.post(`/api/v1/app/${app}/msg`, { eventType: 'new', payload: {} })).status, 202, 'now');
    const total = (stats: Record<string, number>): number => ['success', 'pending', 'sending', 'fail', 'canceled'].reduce((sum, status) => sum + stats[status]!, 0);
    const recent = await hookd.api.get(`/api/v1/app/${app}/endpoint/${endpoint}/stats`);
    assert.equal(recent.status, 200);
    assert.equal(total(recent.body), 1, JSON.stringify(recent.body));
    const all = await hookd.api.get(`/api/v1/app/${app}/endpoint/${endpoint}/stats?since=${new Date(Date.now() - 60 * 86_400_000).toISOString()}`);
    assert.equal(total(all.body), 2, JSON.stringify(all.body));
    const before = await hookd.api.get(`/api/v1/app/${app}/endpoint/${endpoint}/stats?until=${new Date(Date.now() - 35 * 86_400_000).toISOString()}`);
    assert.equal(before.status, 200, 'until alone: the 28 days before it');
    assert.equal(total(before.body), 1, JSON.stringify(before.body));
  } finally {
    await hookd.cleanup();
  }
});
