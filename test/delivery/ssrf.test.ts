import assert from 'node:assert/strict';
import type { LookupAddress, lookup as dnsLookup } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { HttpSender } from '../../src/delivery/http-sender.js';
import { DestinationPolicy } from '../../src/delivery/ssrf.js';
import { eventually, startTestHookd, testEnv, type TestHookd } from '../helpers/hookd.js';
import { Receiver } from '../helpers/receiver.js';

describe('SSRF guard: which addresses are refused', () => {
  const policy = new DestinationPolicy();
  const refused = [
    ['127.0.0.1', '127.0.0.0/8'],
    ['127.255.0.9', '127.0.0.0/8'],
    ['10.1.2.3', '10.0.0.0/8'],
    ['172.16.0.1', '172.16.0.0/12'],
    ['172.31.255.255', '172.16.0.0/12'],
    ['192.168.1.1', '192.168.0.0/16'],
    ['169.254.169.254', '169.254.0.0/16'],
    ['100.64.0.1', '100.64.0.0/10'],
    ['100.127.255.254', '100.64.0.0/10'],
    ['0.0.0.0', '0.0.0.0/8'],
    ['224.0.0.1', '224.0.0.0/4'],
    ['255.255.255.255', '240.0.0.0/4'],
    ['::1', '::1/128'],
    ['::', '::/96'],
    ['fd00::1', 'fc00::/7'],
    ['fc12:3456::1', 'fc00::/7'],
    ['fe80::1', 'fe80::/10'],
    ['ff02::1', 'ff00::/8'],
    // IPv4 inside IPv6: judged by the IPv4 address it carries.
    ['::ffff:127.0.0.1', '127.0.0.0/8'],
    ['::ffff:7f00:1', '127.0.0.0/8'],
    ['::ffff:a9fe:a9fe', '169.254.0.0/16'],
    ['64:ff9b::a9fe:a9fe', '169.254.0.0/16'],
  ] as const;
  for (const [address, range] of refused) {
    test(`${address} is refused as ${range}`, () => {
      const reason = policy.refusal(address);
      assert.ok(reason, `${address} should be refused`);
      assert.ok(reason.includes(range), reason);
      assert.match(reason, /HOOKD_SSRF_ALLOW/);
    });
  }

  test('public addresses are permitted, including the neighbours of blocked ranges', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '172.15.255.255', '100.128.0.1', '11.0.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808']) {
      assert.equal(policy.refusal(address), null, address);
    }
  });

  test('an allow-list re-enables exactly the listed ranges', () => {
    const allowing = new DestinationPolicy(['10.0.0.0/8', '::1/128', '192.168.1.7']);
    assert.equal(allowing.refusal('10.9.8.7'), null);
    assert.equal(allowing.refusal('::1'), null);
    assert.equal(allowing.refusal('192.168.1.7'), null);
    assert.equal(allowing.refusal('::ffff:10.0.0.1'), null, 'mapped IPv4 is matched against IPv4 entries');
    assert.ok(allowing.refusal('192.168.1.8'));
    assert.ok(allowing.refusal('127.0.0.1'));
    assert.ok(allowing.refusal('169.254.169.254'));
  });

  test('HOOKD_SSRF_ALLOW is validated at start-up', () => {
    assert.deepEqual(loadConfig(testEnv('/tmp/x.db', { HOOKD_SSRF_ALLOW: ' 10.0.0.0/8 , ::1/128,' })).delivery.ssrfAllow, ['10.0.0.0/8', '::1/128']);
    assert.deepEqual(loadConfig({ HOOKD_SQLITE_PATH: '/tmp/x.db' }).delivery.ssrfAllow, [], 'nothing allowed by default');
    for (const bad of ['10.0.0.0/33', 'localhost', '10.0.0.0/8/1', '::1/129', '10.0.0.0/-1', '10.0.0/8']) {
      assert.throws(() => loadConfig(testEnv('/tmp/x.db', { HOOKD_SSRF_ALLOW: bad })), (error: unknown) => error instanceof ConfigError && /HOOKD_SSRF_ALLOW/.test((error as Error).message), bad);
    }
  });
});

describe('SSRF guard: checked on the address each connection uses', () => {
  // Two real servers on two loopback addresses; a name's resolution is chosen per test.
  let allowedServer: Server;
  let internalServer: Server;
  const hits = { allowed: 0, internal: 0 };
  let port: number;
  const senders: HttpSender[] = [];

  async function serve(host: string, onHit: () => void, portWanted = 0): Promise<Server> {
    const server = createServer((_req, res) => {
      onHit();
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(portWanted, host, resolve));
    return server;
  }

  before(async () => {
    allowedServer = await serve('127.0.0.1', () => hits.allowed++);
    port = (allowedServer.address() as AddressInfo).port;
    internalServer = await serve('127.0.0.2', () => hits.internal++, port);
  });
  after(async () => {
    for (const sender of senders) await sender.close();
    allowedServer.closeAllConnections();
    internalServer.closeAllConnections();
    await new Promise((r) => allowedServer.close(r));
    await new Promise((r) => internalServer.close(r));
  });

  /** A resolver answering `answers[n]` on its n-th call (the last one from then on), counting calls. */
  function resolver(answers: string[][]): { lookup: typeof dnsLookup; calls: () => number } {
    let calls = 0;
    const lookup = ((_hostname: string, options: { all?: boolean }, callback: (error: Error | null, addresses: LookupAddress[] | string, family?: number) => void) => {
      const answer = answers[Math.min(calls, answers.length - 1)]!.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      calls++;
      setImmediate(() => (options.all ? callback(null, answer) : callback(null, answer[0]!.address, answer[0]!.family)));
    }) as unknown as typeof dnsLookup;
    return { lookup, calls: () => calls };
  }

  function sender(allow: string[], lookup: typeof dnsLookup): HttpSender {
    const created = new HttpSender({ timeoutMs: 2000, responseBodyLimitBytes: 1024, connectionsPerOrigin: 4, destinations: new DestinationPolicy(allow), lookup });
    senders.push(created);
    return created;
  }

  const post = (target: HttpSender, host: string) => target.send({ url: `http://${host}:${port}/hook`, headers: { 'content-type': 'application/json' }, body: '{}' });

  test('a name that resolves to a blocked address is refused before any byte is sent', async () => {
    const before = hits.internal;
    const result = await post(sender(['127.0.0.1/32'], resolver([['127.0.0.2']]).lookup), 'internal.example');
    assert.equal(result?.statusCode, 0);
    assert.match(result!.error!, /HOOKD_SSRF_BLOCKED: internal\.example: destination 127\.0\.0\.2 is in a blocked range \(127\.0\.0\.0\/8, loopback\)/);
    assert.equal(hits.internal, before, 'the internal server saw nothing');
  });

  test('DNS rebinding: the second resolution points inside, and the new connection is refused', async () => {
    // The first connection resolves to an allowed address; once it is closed, the name "moves" to a blocked one.
    const dns = resolver([['127.0.0.1'], ['127.0.0.2']]);
    const target = sender(['127.0.0.1/32'], dns.lookup);
    const first = await post(target, 'rebind.example');
    assert.equal(first?.statusCode, 200);
    allowedServer.closeAllConnections(); // drop the keep-alive socket so the next request connects afresh
    const internalBefore = hits.internal;
    const second = await eventually(async () => {
      const result = await post(target, 'rebind.example');
      return result?.error && /HOOKD_SSRF_BLOCKED/.test(result.error) ? result : null;
    }, 5000, 'a refused second connection');
    assert.match(second.error!, /127\.0\.0\.2/);
    assert.ok(dns.calls() >= 2, 'resolved again for the new connection');
    assert.equal(hits.internal, internalBefore);
  });

  test('when a name resolves to both, only the permitted address is connected to', async () => {
    const allowedBefore = hits.allowed;
    const internalBefore = hits.internal;
    const result = await post(sender(['127.0.0.1/32'], resolver([['127.0.0.2', '127.0.0.1']]).lookup), 'mixed.example');
    assert.equal(result?.statusCode, 200);
    assert.equal(hits.allowed, allowedBefore + 1);
    assert.equal(hits.internal, internalBefore);
  });

  test('positive control: with the range allowed, the same name reaches the internal server', async () => {
    const internalBefore = hits.internal;
    const result = await post(sender(['127.0.0.0/8'], resolver([['127.0.0.2']]).lookup), 'internal.example');
    assert.equal(result?.statusCode, 200);
    assert.equal(hits.internal, internalBefore + 1);
  });

  test('IP-literal URLs are checked too, in every spelling the URL parser accepts', async () => {
    const dns = resolver([['8.8.8.8']]);
    const target = sender([], dns.lookup);
    for (const host of ['127.0.0.1', '2130706433', '0x7f.1', '127.1', '[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '169.254.169.254', '10.0.0.1', '0.0.0.0']) {
      const started = Date.now();
      const result = await post(target, host);
      assert.equal(result?.statusCode, 0, host);
      assert.match(result!.error!, /HOOKD_SSRF_BLOCKED/, `${host}: ${result!.error}`);
      assert.ok(Date.now() - started < 1000, `${host} refused at once, not after a connect timeout`);
    }
    assert.equal(dns.calls(), 0, 'literals never reach the resolver');
  });
});

describe('SSRF guard in a running hookd (default policy)', () => {
  let hookd: TestHookd & { cleanup: () => Promise<void> };
  let receiver: Receiver;
  let appId: string;

  before(async () => {
    // The default: nothing allowed (the test helpers normally allow loopback for their receivers).
    hookd = await startTestHookd({ env: { HOOKD_SSRF_ALLOW: '', HOOKD_RETRY_SCHEDULE: '50ms,50ms' } });
    receiver = await Receiver.start();
    appId = (await hookd.api.post('/api/v1/app', { name: 'ssrf' })).body.id;
  });
  after(async () => {
    await hookd.cleanup();
    await receiver.close();
  });

  test('deliveries to loopback, by address or by name, fail as attempts with a clear error and reach nothing', async () => {
    const port = new URL(receiver.url).port;
    const urls = [`http://127.0.0.1:${port}/a`, `http://localhost:${port}/b`, `http://[::1]:${port}/c`, `http://169.254.169.254/latest/meta-data/`];
    const endpoints: string[] = [];
    for (const url of urls) endpoints.push((await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url })).body.id);
    const msg = (await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'ssrf.probe', payload: { n: 1 } })).body.id as string;
    for (const [i, endpointId] of endpoints.entries()) {
      const attempts = await eventually(async () => {
        const list = (await hookd.api.get(`/api/v1/app/${appId}/attempt/msg/${msg}?endpoint_id=${endpointId}`)).body.data as any[];
        return list.length === 3 ? list : null;
      }, 10_000, `three attempts for ${urls[i]}`);
      for (const attempt of attempts) {
        assert.equal(attempt.status, 2, 'failed');
        assert.equal(attempt.responseStatusCode, 0);
        assert.match(attempt.error, /HOOKD_SSRF_BLOCKED: .*blocked range/, `${urls[i]}: ${attempt.error}`);
      }
    }
    const destinations = (await hookd.api.get(`/api/v1/app/${appId}/msg/${msg}/endpoint`)).body.data as any[];
    assert.deepEqual(destinations.map((d) => d.status).sort(), [2, 2, 2, 2], 'every delivery ends failed (dead letter), so it can be resent once allowed');
    assert.equal(receiver.requests.length, 0);
    assert.equal((await fetch(`${hookd.url}/health`)).status, 200, 'still up');
  });
});
