import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { Receiver } from '../helpers/receiver.js';

/**
 * Svix's list semantics, against a real hookd and a real receiver: a list bounded by `after` alone starts there,
 * list-attempted-messages pages by message id, iterators are checked against the list's kind, the attempt lists
 * have no `order`, an unknown endpoint filter is a 404, and the event type list leaves schemas out when asked.
 */

type Hookd = TestHookd & { cleanup: () => Promise<void> };
interface Page<T = { id: string; timestamp: string }> {
  data: T[];
  iterator: string | null;
  prevIterator: string | null;
  done: boolean;
}

/** How long the receiver's /slow endpoint takes to answer. */
const SLOW_MS = 600;

let hookd: Hookd;
let receiver: Receiver;

before(async () => {
  receiver = await Receiver.start(async (request, response) => {
    if (request.path.startsWith('/slow')) await sleep(SLOW_MS);
    response.writeHead(request.path.startsWith('/failing') ? 500 : 200, { 'content-type': 'text/plain' });
    response.end('answer');
  });
  hookd = await startTestHookd();
});

after(async () => {
  await hookd?.cleanup();
  await receiver?.close();
});

let apps = 0;
async function newApp(): Promise<string> {
  const created = await hookd.api.post('/api/v1/app', { name: 'lists', uid: `lists-${++apps}` });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.id as string;
}

async function newEndpoint(appId: string, path: string, uid?: string): Promise<string> {
  const created = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}${path}`, ...(uid ? { uid } : {}) });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.id as string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends `count` messages a few milliseconds apart (distinct timestamps), oldest first. */
async function sendMessages(appId: string, count: number, eventType = 'list.item'): Promise<{ id: string; timestamp: string }[]> {
  const sent = [];
  for (let i = 0; i < count; i++) {
    const response = await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType, payload: { i } });
    assert.equal(response.status, 202, JSON.stringify(response.body));
    sent.push(response.body as { id: string; timestamp: string });
    await sleep(5);
  }
  return sent;
}

async function page<T = { id: string; timestamp: string }>(path: string): Promise<Page<T>> {
  const response = await hookd.api.get(path);
  assert.equal(response.status, 200, `${path}: ${JSON.stringify(response.body)}`);
  return response.body as Page<T>;
}

const ids = (p: Page<{ id: string }>) => p.data.map((item) => item.id);

/** Follows prevIterator from `first` until done: every item, oldest first. */
async function walkForward(path: string, first: Page): Promise<string[]> {
  const seen = [...ids(first)].reverse();
  let current = first;
  while (!current.done) {
    current = await page(`${path}&iterator=${current.prevIterator}`);
    seen.push(...ids(current).reverse());
  }
  return seen;
}

describe('a list bounded by after alone starts there, as in Svix', () => {
  test('messages: the page is the oldest messages after `after`, newest first; prevIterator walks forward through all the rest, iterator back', async () => {
    const appId = await newApp();
    const [m0, m1, m2, m3, m4, m5] = await sendMessages(appId, 6);
    const path = `/api/v1/app/${appId}/msg?limit=2&after=${m0!.timestamp}`;
    const first = await page(path);
    assert.deepEqual(ids(first), [m2!.id, m1!.id], 'not the newest two');
    assert.deepEqual([first.iterator, first.prevIterator, first.done], [m1!.id, `-${m2!.id}`, false]);
    assert.deepEqual(await walkForward(path, first), [m1, m2, m3, m4, m5].map((m) => m!.id), 'nothing between `after` and the newest is skipped');
    const back = await page(`${path}&iterator=${first.iterator}`);
    assert.deepEqual([ids(back), back.done], [[], true], 'nothing older is after `after`');
    const bothBounds = await page(`${path}&before=${new Date(Date.now() + 60_000).toISOString()}`);
    assert.deepEqual(ids(bothBounds), [m5!.id, m4!.id], 'with `before` too, the newest first as before');
    const nothingAfter = await page(`/api/v1/app/${appId}/msg?after=${m5!.timestamp}`);
    assert.deepEqual(nothingAfter, { data: [], iterator: null, prevIterator: null, done: true });
  });

  test("an endpoint's attempts and messages, and a message's attempts, start at `after` too", async () => {
    const appId = await newApp();
    const endpointId = await newEndpoint(appId, '/ok');
    // One at a time: each message's attempt is made before the next message is sent.
    const sent = [];
    for (let i = 0; i < 5; i++) {
      const [message] = await sendMessages(appId, 1);
      sent.push(message!);
      await eventually(async () => (await page(`/api/v1/app/${appId}/attempt/msg/${message!.id}`)).data.length === 1, 10_000, `the attempt of message ${i}`);
    }
    const attempts = (await page(`/api/v1/app/${appId}/attempt/endpoint/${endpointId}?limit=250`)).data.reverse();
    assert.equal(attempts.length, 5);
    const attemptPath = `/api/v1/app/${appId}/attempt/endpoint/${endpointId}?limit=2&after=${attempts[0]!.timestamp}`;
    const firstAttempts = await page(attemptPath);
    assert.deepEqual(ids(firstAttempts), [attempts[2]!.id, attempts[1]!.id]);
    assert.deepEqual(await walkForward(attemptPath, firstAttempts), attempts.slice(1).map((a) => a.id));

    const routedPath = `/api/v1/app/${appId}/endpoint/${endpointId}/msg?limit=2&after=${sent[0]!.timestamp}`;
    const firstRouted = await page(routedPath);
    assert.deepEqual(ids(firstRouted), [sent[2]!.id, sent[1]!.id]);
    assert.deepEqual(await walkForward(routedPath, firstRouted), sent.slice(1).map((m) => m.id));

    // A message retried twice (HOOKD_RETRY_SCHEDULE 100ms,200ms): three attempts.
    const failingId = await newEndpoint(appId, '/failing');
    const [failed] = await sendMessages(appId, 1);
    const all = await eventually(async () => {
      const listed = await page(`/api/v1/app/${appId}/attempt/msg/${failed!.id}?endpoint_id=${failingId}`);
      return listed.data.length === 3 ? listed.data.reverse() : null;
    }, 10_000, 'three attempts');
    const byMessage = await page(`/api/v1/app/${appId}/attempt/msg/${failed!.id}?endpoint_id=${failingId}&limit=1&after=${all[0]!.timestamp}`);
    assert.deepEqual([ids(byMessage), byMessage.done], [[all[1]!.id], false]);
  });
});

describe('list-attempted-messages pages by message id, as in Svix', () => {
  test('a message resent to an endpoint it never went to keeps its place; iterators are message ids, and a message id pages on', async () => {
    const appId = await newApp();
    await newEndpoint(appId, '/first');
    const [older] = await sendMessages(appId, 1);
    // Created after `older` was sent: it gets `newer`, then `older` by a resend (its newest delivery).
    const late = await newEndpoint(appId, '/late');
    const [newer] = await sendMessages(appId, 1);
    const resent = await hookd.api.post(`/api/v1/app/${appId}/msg/${older!.id}/endpoint/${late}/resend`);
    assert.equal(resent.status, 202);
    const path = `/api/v1/app/${appId}/endpoint/${late}/msg`;
    assert.deepEqual(ids(await page(path)), [newer!.id, older!.id], 'newest message first, whenever it was routed');
    const first = await page(`${path}?limit=1`);
    assert.deepEqual([ids(first), first.iterator, first.prevIterator], [[newer!.id], newer!.id, `-${newer!.id}`]);
    const second = await page(`${path}?limit=1&iterator=${newer!.id}`);
    assert.deepEqual([ids(second), second.done], [[older!.id], true]);
  });
});

describe('iterators are checked against the list', () => {
  test("an iterator of another kind, or an empty one, is a 422 at ['query', 'iterator'] on every list; the list's own, forwards or back, pages", async () => {
    const appId = await newApp();
    const endpointId = await newEndpoint(appId, '/iterators');
    const [message] = await sendMessages(appId, 1);
    const own = (prefix: string) => `${prefix}_2ZZZZZZZZZZZZZZZZZZZZZZZZZZ`;
    const lists: [string, string][] = [
      [`/api/v1/app/${appId}/msg`, 'msg'],
      [`/api/v1/app/${appId}/attempt/endpoint/${endpointId}`, 'atmpt'],
      [`/api/v1/app/${appId}/attempt/msg/${message!.id}`, 'atmpt'],
      [`/api/v1/app/${appId}/endpoint/${endpointId}/msg`, 'msg'],
      [`/api/v1/app/${appId}/msg/${message!.id}/endpoint`, 'ep'],
      [`/api/v1/app/${appId}/delivery`, 'dlv'],
      [`/api/v1/app/${appId}/msg-status`, 'msg'],
      ['/api/v1/app', 'app'],
      [`/api/v1/app/${appId}/endpoint`, 'ep'],
      [`/api/v1/app/${appId}/endpoint-health`, 'ep'],
      [`/api/v1/app/${appId}/source`, 'src'],
    ];
    for (const [path, prefix] of lists) {
      for (const wrong of [prefix === 'ep' ? own('msg') : own('ep'), prefix === 'dlv' ? own('msg') : own('dlv'), '', '-', 'x']) {
        const refused = await hookd.api.get(`${path}?iterator=${encodeURIComponent(wrong)}`);
        assert.equal(refused.status, 422, `${path} iterator=${wrong}: ${JSON.stringify(refused.body)}`);
        assert.deepEqual([refused.body.code, refused.body.detail[0].loc], ['validation', ['query', 'iterator']], path);
      }
      for (const iterator of [own(prefix), `-${own(prefix)}`]) {
        assert.equal((await hookd.api.get(`${path}?iterator=${iterator}`)).status, 200, `${path} iterator=${iterator}`);
      }
    }
    for (const wrong of ['', '-', 'has space', 'a/b']) {
      const refused = await hookd.api.get(`/api/v1/event-type?iterator=${encodeURIComponent(wrong)}`);
      assert.deepEqual([refused.status, refused.body.detail?.[0]?.loc], [422, ['query', 'iterator']], `event types, iterator=${wrong}`);
    }
    for (const iterator of ['list.item', '-list.item', 'x']) assert.equal((await hookd.api.get(`/api/v1/event-type?iterator=${iterator}`)).status, 200, iterator);
  });
});

describe('the attempt lists', () => {
  test('take no `order`, as in Svix: it is not in their OpenAPI parameters and, like any unknown parameter, changes nothing', async () => {
    const document = (await (await fetch(`${hookd.url}/openapi.json`)).json()) as { paths: Record<string, { get?: { parameters?: { name: string; in: string }[] } }> };
    for (const path of ['/api/v1/app/{app_id}/attempt/endpoint/{endpoint_id}', '/api/v1/app/{app_id}/attempt/msg/{msg_id}']) {
      const query = (document.paths[path]?.get?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      assert.ok(query.includes('iterator'), `${path}: ${query.join(', ')}`);
      assert.equal(query.includes('order'), false, `${path}: ${query.join(', ')}`);
    }
    const appId = await newApp();
    const endpointId = await newEndpoint(appId, '/order');
    await sendMessages(appId, 2);
    const newestFirst = await eventually(async () => {
      const listed = await page(`/api/v1/app/${appId}/attempt/endpoint/${endpointId}`);
      return listed.data.length === 2 ? ids(listed) : null;
    }, 10_000, 'two attempts');
    for (const order of ['ascending', 'sideways']) {
      assert.deepEqual(ids(await page(`/api/v1/app/${appId}/attempt/endpoint/${endpointId}?order=${order}`)), newestFirst, order);
    }
  });

  test("a message's attempts filtered by an endpoint it does not have are a 404, by an empty endpoint_id a 422; by uid, that endpoint's", async () => {
    const appId = await newApp();
    const endpointId = await newEndpoint(appId, '/filtered', 'billing');
    await newEndpoint(appId, '/other');
    const [message] = await sendMessages(appId, 1);
    const path = `/api/v1/app/${appId}/attempt/msg/${message!.id}`;
    await eventually(async () => (await page(path)).data.length === 2, 10_000, 'both attempts');
    for (const unknown of ['ep_2ZZZZZZZZZZZZZZZZZZZZZZZZZZ', 'no-such-uid']) {
      const missing = await hookd.api.get(`${path}?endpoint_id=${unknown}`);
      assert.deepEqual([missing.status, missing.body.code], [404, 'not_found'], unknown);
    }
    const empty = await hookd.api.get(`${path}?endpoint_id=`);
    assert.deepEqual([empty.status, empty.body.detail?.[0]?.loc], [422, ['query', 'endpoint_id']]);
    const byUid = await page<{ id: string; endpointId: string }>(`${path}?endpoint_id=billing`);
    assert.deepEqual(byUid.data.map((a) => a.endpointId), [endpointId]);
  });
});

describe('the event type list', () => {
  test('with_content=false leaves the schemas out; absent or true, they are there (the dashboard reads them)', async () => {
    const schemas = { '1': { type: 'object', examples: [{ a: 1 }] } };
    const created = await hookd.api.post('/api/v1/event-type', { name: 'lists.with.schema', description: 'with a schema', schemas });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const listed = async (query: string) =>
      (await page<{ name: string; schemas?: unknown; description: string }>(`/api/v1/event-type?limit=250${query}`)).data.find((e) => e.name === 'lists.with.schema')!;
    assert.deepEqual((await listed('')).schemas, schemas);
    assert.deepEqual((await listed('&with_content=true')).schemas, schemas);
    const without = await listed('&with_content=false');
    assert.deepEqual([without.schemas, without.description], [undefined, 'with a schema']);
  });
});

describe('attempt timestamps', () => {
  test("an attempt's timestamp is when its request started, as in Svix (not when its answer came); the attempt lists' after and before go by it", async () => {
    const appId = await newApp();
    const endpointId = await newEndpoint(appId, '/slow');
    const [message] = await sendMessages(appId, 1);
    const list = `/api/v1/app/${appId}/attempt/endpoint/${endpointId}`;
    const attempt = await eventually(async () => (await hookd.api.get(list)).body.data[0] as { id: string; timestamp: string; responseDurationMs: number } | undefined, 10_000, 'the slow attempt');
    const arrived = receiver.requests.find((r) => r.path === '/slow' && r.headers['webhook-id'] === message!.id)!;
    const started = Date.parse(attempt.timestamp);
    assert.ok(attempt.responseDurationMs >= SLOW_MS, `took ${attempt.responseDurationMs} ms`);
    // When it was sent (same clock, loopback), not when its answer came, SLOW_MS later: the time its signature
    // carries, and no later than the receiver had it.
    assert.ok(started <= arrived.at, `stamped ${started - arrived.at} ms after the receiver had it`);
    assert.ok(arrived.at - started < SLOW_MS / 2, `stamped ${arrived.at - started} ms before the receiver had it`);
    assert.equal(Math.floor(started / 1000), Number(arrived.headers['webhook-timestamp']), "the second of the request's signature");
    const ids = async (query: string) => ((await hookd.api.get(`${list}?${query}`)).body as Page).data.map((a) => a.id);
    const at = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
    assert.deepEqual(await ids(`after=${at(started - 1)}`), [attempt.id]);
    assert.deepEqual(await ids(`after=${at(started + 1)}`), [], 'after its start, though before its answer');
    assert.deepEqual(await ids(`before=${at(started + 1)}`), [attempt.id], 'before: by its start too');
    assert.deepEqual(await ids(`before=${at(started - 1)}`), []);
  });
});
