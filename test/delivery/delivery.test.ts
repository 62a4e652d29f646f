import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Receiver, type Responder } from '../helpers/receiver.js';
import { eventually, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { parsePrometheusText, sampleValue, type Sample } from '../observability/prometheus-text.js';

describe('delivery over real HTTP', () => {
  let hookd: TestHookd & { cleanup: () => Promise<void> };
  let appId: string;
  const receivers: Receiver[] = [];

  before(async () => {
    hookd = await startTestHookd({ env: { HOOKD_RETRY_SCHEDULE: '100ms,200ms', HOOKD_REQUEST_TIMEOUT: '700ms' } });
    appId = (await hookd.api.post('/api/v1/app', { name: 'delivery tests' })).body.id;
    // The event types the endpoints below filter on: a filter may only name types in the catalog.
    await hookd.api.createEventTypes('first.attempt', 'always.fails', 'rate.limited', 'rate.limited.big', 'gone.away', 'too.slow', 'nobody.home', 'queued.up', 'big.response', 'redirected', 'cut.short', 'never.ends', 'big.head', 'token.rotated', 'rate.held', 'rate.held.last', 'url.moved', 'url.gone');
  });
  after(async () => {
    await hookd.cleanup();
    for (const r of receivers) await r.close();
  });

  async function receiverWithEndpoint(responder?: Responder, extra: Record<string, unknown> = {}) {
    const receiver = await Receiver.start(responder);
    receivers.push(receiver);
    const endpoint = (await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/hook`, ...extra })).body;
    const secret = (await hookd.api.get(`/api/v1/app/${appId}/endpoint/${endpoint.id}/secret`)).body.key as string;
    return { receiver, endpoint, secret };
  }

  async function send(eventType: string, payload: Record<string, unknown> = { n: 1 }) {
    const response = await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType, payload });
    assert.equal(response.status, 202);
    return response.body.id as string;
  }

  const attemptsOf = async (msgId: string, endpointId: string) =>
    (await hookd.api.get(`/api/v1/app/${appId}/attempt/msg/${msgId}?endpoint_id=${endpointId}`)).body.data as any[];

  test('the first attempt is immediate, signed per Standard Webhooks, and recorded with status, duration, response and both sides\' headers', async () => {
    const answer: Responder = (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain', 'x-receiver': 'r1', 'set-cookie': ['a=1', 'b=2'] });
      response.end('ok');
    };
    const { receiver, endpoint, secret } = await receiverWithEndpoint(answer, { filterTypes: ['first.attempt'], headers: { 'x-tenant': 'acme', authorization: 'Bearer s3cret' } });
    const sentAt = Date.now();
    const msgId = await send('first.attempt', { hello: 'world' });
    const [request] = await receiver.waitFor((r) => r.length === 1);
    assert.ok(request!.at - sentAt < 2000, 'delivered promptly, not after a poll');
    assert.equal(request!.headers['webhook-id'], msgId);
    assert.equal(request!.headers['svix-id'], msgId);
    assert.equal(request!.headers['content-type'], 'application/json');
    assert.equal(request!.headers['x-tenant'], 'acme');
    assert.match(String(request!.headers['user-agent']), /^hookd\//);
    assert.deepEqual(new StandardWebhook(secret).verify(request!.body, request!.headers as Record<string, string>), { hello: 'world' });
    const attempts = await eventually(async () => {
      const list = await attemptsOf(msgId, endpoint.id);
      return list.length === 1 ? list : null;
    });
    assert.equal(attempts[0].status, 0);
    assert.equal(attempts[0].statusText, 'success');
    assert.equal(attempts[0].responseStatusCode, 200);
    assert.equal(attempts[0].response, 'ok');
    assert.equal(attempts[0].triggerType, 0);
    assert.ok(attempts[0].responseDurationMs >= 0);
    // The request as sent (the signature headers included), the sensitive custom header's value redacted.
    const sent = attempts[0].requestHeaders;
    assert.equal(request!.headers.authorization, 'Bearer s3cret', 'the receiver gets the real value');
    assert.equal(sent.authorization, '[redacted]');
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type', 'user-agent', 'x-tenant']) {
      assert.equal(sent[name], request!.headers[name], name);
    }
    const got = attempts[0].responseHeaders;
    assert.equal(got['x-receiver'], 'r1');
    assert.equal(got['set-cookie'], 'a=1, b=2');
    assert.equal(got['content-type'], 'text/plain');
  });

  test('a failing endpoint is retried on the configured schedule, then the delivery fails (dead letter)', async () => {
    const { receiver, endpoint } = await receiverWithEndpoint((_q, res) => {
      res.writeHead(500);
      res.end('boom');
    }, { filterTypes: ['always.fails'] });
    const msgId = await send('always.fails');
    const requests = await receiver.waitFor((r) => r.length === 3);
    const gaps = [requests[1]!.at - requests[0]!.at, requests[2]!.at - requests[1]!.at];
    assert.ok(gaps[0]! >= 75, `first retry after ~100ms, was ${gaps[0]}`);
    assert.ok(gaps[1]! >= 155, `second retry after ~200ms, was ${gaps[1]}`);
    const destinations = await eventually(async () => {
      const list = (await hookd.api.get(`/api/v1/app/${appId}/msg/${msgId}/endpoint`)).body.data as any[];
      return list[0]?.statusText === 'fail' ? list : null;
    });
    assert.equal(destinations[0].id, endpoint.id);
    const attempts = await attemptsOf(msgId, endpoint.id);
    assert.equal(attempts.length, 3);
    assert.ok(attempts.every((a) => a.status === 2 && a.responseStatusCode === 500 && a.response === 'boom'));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(receiver.requests.length, 3, 'no attempt after exhaustion');

    // A resend is sent at once and, failing, retried on the whole schedule again (svix-server tries a manual attempt
    // once: a deliberate difference, docs/delivery.md "Delivery semantics").
    assert.equal((await hookd.api.post(`/api/v1/app/${appId}/msg/${msgId}/endpoint/${endpoint.id}/resend`, {})).status, 202);
    const again = await receiver.waitFor((r) => r.length === 6, 5000, 'the resend and its two retries');
    assert.ok(again[4]!.at - again[3]!.at >= 75 && again[5]!.at - again[4]!.at >= 155, 'on the schedule');
    const manual = await eventually(async () => {
      const list = await attemptsOf(msgId, endpoint.id);
      return list.length === 6 ? list : null;
    });
    assert.deepEqual(manual.slice(0, 3).map((a) => a.triggerType), [0, 0, 1], 'newest first: the two retries are scheduled, the resend manual');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(receiver.requests.length, 6, 'and no more after that');
  });

  test('Retry-After on 429 postpones the next attempt beyond the schedule', async () => {
    let calls = 0;
    const { receiver } = await receiverWithEndpoint((_q, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(429, { 'retry-after': '1' });
        res.end();
      } else {
        res.writeHead(200);
        res.end();
      }
    }, { filterTypes: ['rate.limited'] });
    await send('rate.limited');
    const requests = await receiver.waitFor((r) => r.length === 2, 5000);
    assert.ok(requests[1]!.at - requests[0]!.at >= 950, `waited ${requests[1]!.at - requests[0]!.at} ms`);
  });

  test("Retry-After on 429 holds the whole endpoint: messages sent meanwhile wait for it and spend no attempt on it", async () => {
    let calls = 0;
    const { receiver, endpoint } = await receiverWithEndpoint((_q, res) => {
      calls++;
      res.writeHead(calls === 1 ? 429 : 200, calls === 1 ? { 'retry-after': '2' } : {});
      res.end();
    }, { filterTypes: ['rate.held'] });
    const first = await send('rate.held');
    const [limited] = await receiver.waitFor((r) => r.length === 1, 5000);
    // The 429's ack is recorded before the others are sent (the hold is in the endpoint's state from then on).
    await eventually(async () => (await attemptsOf(first, endpoint.id)).length === 1, 5000, "the 429's attempt");
    const others = [await send('rate.held'), await send('rate.held'), await send('rate.held')];
    const all = await receiver.waitFor((r) => r.length === 5, 8000);
    for (const request of all.slice(1)) {
      assert.ok(request.at - limited!.at >= 1950, `a request ${request.at - limited!.at} ms after the 429 asked for 2 s`);
    }
    for (const id of others) {
      const attempts = await eventually(async () => {
        const listed = await attemptsOf(id, endpoint.id);
        return listed.length > 0 ? listed : null;
      }, 5000, 'its attempt');
      assert.deepEqual(attempts.map((a) => a.responseStatusCode), [200], 'one attempt, after the hold: none spent on a 429');
    }
  });

  test("a 429 with Retry-After on a delivery's last attempt still holds the endpoint: it fails, the next message waits", async () => {
    let calls = 0;
    const { receiver, endpoint } = await receiverWithEndpoint((_q, res) => {
      calls++;
      res.writeHead(calls <= 3 ? 429 : 200, calls <= 3 ? { 'retry-after': '1' } : {});
      res.end();
    }, { filterTypes: ['rate.held.last'] });
    const first = await send('rate.held.last');
    // HOOKD_RETRY_SCHEDULE 100ms,200ms: three attempts, each 429, the last one dead-letters the delivery.
    await eventually(async () => (await attemptsOf(first, endpoint.id)).length === 3, 8000, 'three attempts');
    const requests = await receiver.waitFor((r) => r.length === 3, 1000);
    const next = await send('rate.held.last');
    const [arrived] = (await receiver.waitFor((r) => r.length === 4, 5000)).slice(3);
    assert.ok(arrived!.at - requests[2]!.at >= 950, `the next message came ${arrived!.at - requests[2]!.at} ms after the last 429, which asked for 1 s`);
    const recorded = await eventually(async () => {
      const listed = await attemptsOf(next, endpoint.id);
      return listed.length > 0 ? listed : null;
    }, 5000, 'its attempt');
    assert.deepEqual(recorded.map((a) => a.responseStatusCode), [200]);
  });

  test("a 429 from an endpoint's former URL, answered after the URL changed, does not hold the new URL", async () => {
    const moved = await Receiver.start();
    receivers.push(moved);
    const { receiver, endpoint } = await receiverWithEndpoint((_q, res) => {
      // Answers only once the URL has changed: the request was on the wire meanwhile.
      setTimeout(() => {
        res.writeHead(429, { 'retry-after': '30' });
        res.end();
      }, 400);
    }, { filterTypes: ['url.moved'] });
    const first = await send('url.moved');
    await receiver.waitFor((r) => r.length === 1, 5000);
    assert.equal((await hookd.api.patch(`/api/v1/app/${appId}/endpoint/${endpoint.id}`, { url: `${moved.url}/hook` })).status, 200);
    await eventually(async () => (await attemptsOf(first, endpoint.id)).length === 1, 5000, "the old URL's 429");
    const sentAt = Date.now();
    await send('url.moved');
    const [arrived] = await moved.waitFor((r) => r.length === 1, 5000, 'the next message at the new URL');
    assert.ok(arrived!.at - sentAt < 2000, `it arrived ${arrived!.at - sentAt} ms after it was sent: the old receiver's 30 s hold is not the new one's`);
  });

  test("a 410 from an endpoint's former URL is counted as retrying in hookd_deliveries_total, and the delivery succeeds at the new URL", async () => {
    const moved = await Receiver.start();
    receivers.push(moved);
    const { receiver, endpoint } = await receiverWithEndpoint((_q, res) => {
      // Gone, but only once the URL has changed: the request was on the wire meanwhile.
      setTimeout(() => res.writeHead(410).end(), 400);
    }, { filterTypes: ['url.gone'] });
    const msgId = await send('url.gone');
    await receiver.waitFor((r) => r.length === 1, 5000);
    assert.equal((await hookd.api.patch(`/api/v1/app/${appId}/endpoint/${endpoint.id}`, { url: `${moved.url}/hook` })).status, 200);
    await moved.waitFor((r) => r.length === 1, 5000, 'the message again, at the new URL');
    const counted = (samples: Sample[], outcome: string) => sampleValue(samples, 'hookd_deliveries_total', { outcome, endpoint: endpoint.id }) ?? 0;
    const samples = await eventually(async () => {
      const scraped = parsePrometheusText(await (await fetch(`${hookd.url}/metrics`)).text()).samples;
      return counted(scraped, 'succeeded') === 1 ? scraped : null;
    }, 5000, 'the success counted');
    assert.deepEqual([counted(samples, 'retrying'), counted(samples, 'failed')], [1, 0], "the old URL's 410 left the delivery pending: retrying, not failed");
    const attempts = await attemptsOf(msgId, endpoint.id);
    assert.deepEqual(attempts.map((a) => a.responseStatusCode).sort(), [200, 410]);
  });

  test('Retry-After counts after more response headers than an attempt keeps (8 KB); the kept ones stop at the limit', async () => {
    let calls = 0;
    const { receiver, endpoint } = await receiverWithEndpoint((_q, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(429, { 'x-big': 'b'.repeat(9000), 'retry-after': '1' });
        res.end();
      } else {
        res.writeHead(200);
        res.end();
      }
    }, { filterTypes: ['rate.limited.big'] });
    const msgId = await send('rate.limited.big');
    const requests = await receiver.waitFor((r) => r.length === 2, 5000);
    assert.ok(requests[1]!.at - requests[0]!.at >= 950, `waited ${requests[1]!.at - requests[0]!.at} ms`);
    const attempts = await eventually(async () => {
      const list = await attemptsOf(msgId, endpoint.id);
      return list.length === 2 ? list : null;
    });
    const limited = attempts.find((a: { responseStatusCode: number }) => a.responseStatusCode === 429);
    assert.equal(limited.responseHeaders['x-big'], undefined, 'beyond the 8 KB kept');
    assert.equal(limited.responseHeaders['retry-after'], undefined, 'after it, so not kept either');
  });

  test('410 Gone disables the endpoint and stops retrying', async () => {
    const { receiver, endpoint } = await receiverWithEndpoint((_q, res) => {
      res.writeHead(410);
      res.end();
    }, { filterTypes: ['gone.away'] });
    await send('gone.away');
    await receiver.waitFor((r) => r.length === 1);
    const disabled = await eventually(async () => (await hookd.api.get(`/api/v1/app/${appId}/endpoint/${endpoint.id}`)).body.disabled === true);
    assert.equal(disabled, true);
    await send('gone.away');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(receiver.requests.length, 1, 'a disabled endpoint receives nothing');
  });

  test('a receiver that never answers times out: responseStatusCode 0 with the error recorded', async () => {
    const { receiver, endpoint } = await receiverWithEndpoint(() => undefined, { filterTypes: ['too.slow'] });
    const msgId = await send('too.slow');
    const attempts = await eventually(async () => {
      const list = await attemptsOf(msgId, endpoint.id);
      return list.length >= 1 ? list : null;
    }, 5000);
    assert.equal(attempts[0].responseStatusCode, 0);
    assert.equal(attempts[0].status, 2);
    assert.equal(attempts[0].error, 'timeout');
    assert.ok(attempts[0].responseDurationMs >= 600);
    assert.equal(attempts[0].responseHeaders, undefined, 'no response, no response headers');
    assert.equal(attempts[0].requestHeaders['webhook-id'], msgId);
    assert.ok(receiver.requests.length >= 1);
  });

  test('a 2xx is a success even when its body is cut off, never ends, or its headers are large: sent once, recorded with what was read', async () => {
    const cases: [string, Responder, RegExp | null][] = [
      [
        'cut.short',
        (_request, response) => {
          response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
          response.write('partial');
          setTimeout(() => response.socket?.destroy(), 20);
        },
        /^the response body was not read in full: /,
      ],
      [
        'never.ends',
        (_request, response) => {
          response.writeHead(200, { 'content-type': 'text/plain' });
          response.write('partial');
        },
        /^the response body was not read in full: timeout$/,
      ],
      [
        'big.head',
        (_request, response) => {
          response.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': `session=${'c'.repeat(17_000)}` });
          response.end('ok');
        },
        null,
      ],
    ];
    for (const [eventType, responder, error] of cases) {
      const { receiver, endpoint } = await receiverWithEndpoint(responder, { filterTypes: [eventType] });
      const msgId = await send(eventType);
      const attempts = await eventually(async () => {
        const list = await attemptsOf(msgId, endpoint.id);
        return list.length >= 1 ? list : null;
      }, 5000);
      // The retry schedule is 100 ms, 200 ms: a failure would have been sent again well within this.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal(receiver.requests.length, 1, `${eventType}: sent once`);
      assert.equal((await attemptsOf(msgId, endpoint.id)).length, 1, `${eventType}: one attempt`);
      assert.deepEqual([attempts[0].status, attempts[0].responseStatusCode], [0, 200], eventType);
      if (error) {
        assert.match(attempts[0].error, error, eventType);
        assert.equal(attempts[0].response, 'partial', `${eventType}: the body read is kept`);
      } else assert.equal(attempts[0].response, 'ok');
      const delivered = (await hookd.api.get(`/api/v1/app/${appId}/msg/${msgId}/endpoint`)).body.data as { id: string; status: number }[];
      assert.equal(delivered.find((d) => d.id === endpoint.id)?.status, 0, `${eventType}: delivered`);
    }
  });

  test('custom header names are case-insensitive: a PATCH in another case replaces the header the receiver gets, null removes it', async () => {
    const { receiver, endpoint } = await receiverWithEndpoint(undefined, { filterTypes: ['token.rotated'], headers: { Authorization: 'Bearer old', 'X-Team': 'a' } });
    const path = `/api/v1/app/${appId}/endpoint/${endpoint.id}/headers`;
    assert.equal((await hookd.api.patch(path, { headers: { authorization: 'Bearer new', 'x-team': null } })).status, 204);
    assert.deepEqual((await hookd.api.get(path)).body, { headers: {}, sensitive: ['authorization'] });
    await send('token.rotated');
    await eventually(() => receiver.requests.length === 1, 5000, 'the delivery');
    assert.equal(receiver.requests[0]!.headers.authorization, 'Bearer new');
    assert.equal(receiver.requests[0]!.headers['x-team'], undefined);
    // One body naming a header twice, in two cases, is refused.
    const twice = await hookd.api.put(path, { headers: { 'X-A': '1', 'x-a': '2' } });
    assert.equal(twice.status, 422);
    assert.deepEqual(twice.body.detail[0].loc, ['body', 'headers', 'x-a']);
  });

  test('connection refused is a failed attempt with status code 0, not a crash', async () => {
    const closed = await Receiver.start();
    const url = `${closed.url}/hook`;
    await closed.close();
    const endpoint = (await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url, filterTypes: ['nobody.home'] })).body;
    const msgId = await send('nobody.home');
    const attempts = await eventually(async () => {
      const list = await attemptsOf(msgId, endpoint.id);
      return list.length >= 1 ? list : null;
    });
    assert.equal(attempts[0].responseStatusCode, 0);
    assert.match(attempts[0].error, /ECONNREFUSED/);
  });

  test('time queued behind other deliveries to the same receiver does not count against its timeout', async () => {
    // 40 deliveries, 16 connections per origin, 400 ms each: the last wave starts ~800 ms after the first,
    // beyond the 700 ms request timeout. Only time on the wire counts, so every first attempt succeeds.
    const { receiver, endpoint } = await receiverWithEndpoint((_q, res) => {
      setTimeout(() => {
        res.writeHead(200);
        res.end('ok');
      }, 400);
    }, { filterTypes: ['queued.up'] });
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => send('queued.up', { i })));
    await receiver.waitFor((r) => r.length >= 40, 10_000);
    for (const id of ids) {
      const attempts = await eventually(async () => {
        const list = await attemptsOf(id, endpoint.id);
        return list.length ? list : null;
      });
      assert.deepEqual(attempts.map((a) => a.statusText), ['success'], `message ${id}: ${JSON.stringify(attempts.map((a) => a.error))}`);
    }
    assert.equal(receiver.requests.length, 40, 'no retries, so no duplicates');
  });

  test('responses are stored up to 20 KB and redirects are not followed', async () => {
    const target = await Receiver.start();
    receivers.push(target);
    const big = await receiverWithEndpoint((_q, res) => {
      res.writeHead(200);
      res.end('x'.repeat(100_000));
    }, { filterTypes: ['big.response'] });
    const redirect = await receiverWithEndpoint((_q, res) => {
      res.writeHead(302, { location: `${target.url}/elsewhere` });
      res.end();
    }, { filterTypes: ['redirected'] });
    const bigMsg = await send('big.response');
    const redirectMsg = await send('redirected');
    const [bigAttempt] = await eventually(async () => {
      const list = await attemptsOf(bigMsg, big.endpoint.id);
      return list.length ? list : null;
    });
    assert.equal(bigAttempt.response.length, 20 * 1024);
    assert.equal(bigAttempt.status, 0);
    const [redirectAttempt] = await eventually(async () => {
      const list = await attemptsOf(redirectMsg, redirect.endpoint.id);
      return list.length ? list : null;
    });
    assert.equal(redirectAttempt.responseStatusCode, 302);
    assert.equal(redirectAttempt.status, 2);
    assert.equal(target.requests.length, 0, 'the redirect target was never called');
  });
});

describe('claims under a steady stream', () => {
  test('a wake that waits for the ack under way (SQLite claims inside it) never strands a delivery: each arrives well within the poll interval', async () => {
    // Polling every 60 s: only wakes move the worker, so a wake lost while an ack was gathering or under way would
    // hold its delivery for a minute.
    const hookd = await startTestHookd({ env: { HOOKD_POLL_INTERVAL: '60s' } });
    const receiver = await Receiver.start((_request, response) => {
      setTimeout(() => response.end('ok'), 2);
    });
    try {
      const appId = (await hookd.api.post('/api/v1/app', { name: 'stream' })).body.id as string;
      await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/hook` });
      const acceptedAt = new Map<string, number>();
      // 16 senders, 50 messages each: results gather while messages keep coming, which is when wakes wait for acks.
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let i = 0; i < 50; i++) {
            const response = await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'stream.tick', payload: { i } });
            assert.equal(response.status, 202);
            acceptedAt.set(response.body.id, Date.now());
          }
        }),
      );
      const requests = await receiver.waitFor((r) => new Set(r.map((q) => q.headers['webhook-id'])).size === 800, 20_000);
      const lateness = requests.map((q) => q.at - acceptedAt.get(String(q.headers['webhook-id']))!);
      const worst = Math.max(...lateness);
      assert.ok(worst < 5000, `every delivery arrived within 5 s of its 202 (poll interval 60 s); the latest took ${worst} ms`);
    } finally {
      await hookd.cleanup();
      await receiver.close();
    }
  });
});
