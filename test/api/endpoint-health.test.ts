import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ApiClient, eventually, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { Receiver, type ReceivedRequest } from '../helpers/receiver.js';

/**
 * GET .../endpoint-health: an application's endpoints with their delivery counts, circuit, why they were
 * disabled and their latest attempt, in one request (the dashboard's endpoint list), against a real hookd
 * delivering to a real receiver.
 */

let hookd: TestHookd & { cleanup: () => Promise<void> };
let receiver: Receiver;
let appId: string;
let okId: string;
let goneId: string;

const respond = (request: ReceivedRequest, response: ServerResponse) => {
  const status = request.path === '/gone' ? 410 : request.path === '/fail' ? 500 : 200;
  response.writeHead(status, { 'content-type': 'text/plain' });
  response.end(status === 200 ? 'ok' : 'gone');
};

before(async () => {
  receiver = await Receiver.start(respond);
  hookd = await startTestHookd();
  appId = (await hookd.api.post('/api/v1/app', { name: 'health', uid: 'health' })).body.id;
  okId = (await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/ok`, uid: 'ok' })).body.id;
  goneId = (await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/gone` })).body.id;
  for (let i = 0; i < 2; i++) assert.equal((await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'invoice.paid', payload: { i } })).status, 202);
  await eventually(async () => (await hookd.api.get(`/api/v1/app/${appId}/endpoint/${okId}/stats`)).body.success === 2, 10_000, 'both delivered');
  await eventually(async () => (await hookd.api.get(`/api/v1/app/${appId}/endpoint/${goneId}`)).body.disabled, 10_000, 'the 410 endpoint disabled');
});

after(async () => {
  await hookd?.cleanup();
  await receiver?.close();
});

describe('endpoint health', () => {
  test('lists every endpoint with its counts, circuit, last attempt and why it was disabled', async () => {
    const list = await hookd.api.get(`/api/v1/app/${appId}/endpoint-health`);
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.equal(list.body.done, true);
    const byId = new Map(list.body.data.map((h: { endpoint: { id: string } }) => [h.endpoint.id, h]));
    const ok = byId.get(okId) as any;
    const gone = byId.get(goneId) as any;
    assert.equal(ok.endpoint.url, `${receiver.url}/ok`);
    assert.equal(ok.endpoint.disabled, false);
    assert.equal(ok.disabledReason, undefined);
    assert.deepEqual([ok.stats.success, ok.stats.pending, ok.stats.fail], [2, 0, 0]);
    assert.equal(ok.stats.circuit.state, 'closed');
    assert.equal(ok.lastAttempt.responseStatusCode, 200);
    assert.equal(ok.lastAttempt.statusText, 'success');
    assert.match(ok.lastAttempt.msgId, /^msg_/);

    assert.equal(gone.endpoint.disabled, true);
    assert.equal(gone.disabledReason, 'endpoint answered 410 Gone');
    assert.equal(gone.lastAttempt.responseStatusCode, 410);
    assert.ok(gone.stats.fail >= 1, JSON.stringify(gone.stats));

    // The same figures as the per-endpoint stats route.
    const stats = (await hookd.api.get(`/api/v1/app/${appId}/endpoint/${okId}/stats?since=${new Date(Date.now() - 86_400_000).toISOString()}`)).body;
    assert.deepEqual(ok.stats, { ...stats, concurrency: ok.stats.concurrency });
  });

  test('one endpoint by id or uid; since bounds the counts; pages like the endpoint list', async () => {
    const one = await hookd.api.get(`/api/v1/app/health/endpoint-health/ok`);
    assert.equal(one.status, 200, JSON.stringify(one.body));
    assert.equal(one.body.endpoint.id, okId);
    assert.equal(one.body.stats.success, 2);
    const later = await hookd.api.get(`/api/v1/app/${appId}/endpoint-health/${okId}?since=${new Date(Date.now() + 60_000).toISOString()}`);
    assert.equal(later.body.stats.success, 0);

    const first = await hookd.api.get(`/api/v1/app/${appId}/endpoint-health?limit=1`);
    assert.equal(first.body.data.length, 1);
    assert.equal(first.body.done, false);
    const second = await hookd.api.get(`/api/v1/app/${appId}/endpoint-health?limit=1&iterator=${first.body.iterator}`);
    assert.equal(second.body.data.length, 1);
    assert.notEqual(second.body.data[0].endpoint.id, first.body.data[0].endpoint.id);

    assert.equal((await hookd.api.get(`/api/v1/app/${appId}/endpoint-health/ep_missing`)).status, 404);
    assert.equal((await hookd.api.get(`/api/v1/app/${appId}/endpoint-health?since=yesterday`)).status, 422);
  });

  test("a key scoped to another application gets 404, one scoped to this application sees it", async () => {
    const other = (await hookd.api.post('/api/v1/app', { name: 'other' })).body.id;
    const foreign = new ApiClient(hookd.url, (await hookd.api.post('/api/v1/api-key', { name: 'other', appId: other })).body.token);
    assert.equal((await foreign.get(`/api/v1/app/${appId}/endpoint-health`)).status, 404);
    assert.equal((await foreign.get(`/api/v1/app/${appId}/endpoint-health/${okId}`)).status, 404);
    const own = new ApiClient(hookd.url, (await hookd.api.post('/api/v1/api-key', { name: 'own', appId })).body.token);
    assert.equal((await own.get(`/api/v1/app/${appId}/endpoint-health`)).body.data.length, 2);
  });

  test("a new URL starts without the old one's failure streak", async () => {
    const other = (await hookd.api.post('/api/v1/app', { name: 'moving' })).body.id as string;
    const endpoint = (await hookd.api.post(`/api/v1/app/${other}/endpoint`, { url: `${receiver.url}/fail` })).body.id as string;
    assert.equal((await hookd.api.post(`/api/v1/app/${other}/msg`, { eventType: 'invoice.paid', payload: {} })).status, 202);
    const health = async () => (await hookd.api.get(`/api/v1/app/${other}/endpoint-health/${endpoint}`)).body;
    await eventually(async () => (await health()).failingSince, 10_000, 'failing');
    assert.equal((await hookd.api.patch(`/api/v1/app/${other}/endpoint/${endpoint}`, { url: `${receiver.url}/moved` })).status, 200);
    assert.equal((await health()).failingSince, undefined);
  });
});
