// The LISTEN connection's heartbeat: a connection that died silently (no FIN, no error) is replaced, and wakes resume.
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { test } from 'node:test';
import pg from 'pg';
import { DELIVERIES_CHANNEL } from '../../src/store/postgres/db.js';
import { DeliveriesDueListener } from '../../src/store/postgres/queue.js';

const url = process.env.HOOKD_TEST_DATABASE_URL;
if (!url) throw new Error('HOOKD_TEST_DATABASE_URL is not set: run the tests through `npm test`, which starts PostgreSQL');

/**
 * A TCP proxy to the test server. Its current connections can be made silent: bytes stop flowing both ways while the
 * sockets stay open, as when the server's host vanishes in a failover or a partition. New connections flow, or (`mode`)
 * are refused, or flow until the client sends a LISTEN, which goes unanswered (a server gone silent just then).
 */
async function silenceableProxy(target: URL): Promise<{ port: number; silence: () => void; mode: (mode: 'flow' | 'refuse' | 'swallow-listen') => void; close: () => Promise<void> }> {
  let mode: 'flow' | 'refuse' | 'swallow-listen' = 'flow';
  const silenced = new Set<Socket>();
  const everySocket = new Set<Socket>();
  const server = createServer((client) => {
    if (mode === 'refuse') return void client.destroy();
    const swallowListen = mode === 'swallow-listen';
    const upstream = connect(Number(target.port || 5432), target.hostname);
    let swallowing = false;
    client.on('data', (chunk: Buffer) => {
      if (swallowListen && chunk.includes('LISTEN')) swallowing = true;
      if (!swallowing && !silenced.has(client)) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!swallowing && !silenced.has(client)) client.write(chunk);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    for (const socket of [client, upstream]) {
      everySocket.add(socket);
      socket.on('close', () => everySocket.delete(socket));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    silence: () => {
      for (const socket of everySocket) silenced.add(socket);
    },
    mode: (next) => {
      mode = next;
    },
    close: async () => {
      for (const socket of everySocket) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Sends NOTIFY until `wakes()` moves, for up to 5 s. */
async function notified(notifier: pg.Client, wakes: () => number, what: string): Promise<void> {
  const before = wakes();
  const deadline = Date.now() + 5000;
  while (wakes() === before && Date.now() < deadline) {
    await notifier.query(`NOTIFY ${DELIVERIES_CHANNEL}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(wakes() > before, what);
}

function proxied(port: number): string {
  const viaProxy = new URL(url!);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(port);
  return viaProxy.toString();
}

/** A listener (heartbeat 300 ms) through a fresh proxy, a NOTIFY sender on a connection of its own, and the wakes. */
async function withProxiedListener(
  run: (scenario: { proxy: Awaited<ReturnType<typeof silenceableProxy>>; listener: DeliveriesDueListener; notifier: pg.Client; wakes: () => number; woken: () => void }) => Promise<void>,
): Promise<void> {
  const proxy = await silenceableProxy(new URL(url!));
  const listener = new DeliveriesDueListener({ connectionString: proxied(proxy.port) }, 300);
  const notifier = new pg.Client({ connectionString: url });
  let wakes = 0;
  try {
    await notifier.connect();
    await run({ proxy, listener, notifier, wakes: () => wakes, woken: () => wakes++ });
  } finally {
    await listener.close();
    await notifier.end();
    await proxy.close();
  }
}

test('a LISTEN connection that went silent is found by its heartbeat and replaced: notifications wake again', async () => {
  await withProxiedListener(async ({ proxy, listener, notifier, wakes, woken }) => {
    await listener.subscribe(woken);
    await notified(notifier, wakes, 'a notification wakes the subscriber');
    proxy.silence();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await notified(notifier, wakes, 'after the connection went silent, a new one listens (heartbeat 300 ms, reconnect after 1 s)');
  });
});

test('subscribing while the server is away, or while it leaves LISTEN unanswered, returns at once; wakes come once it answers', async () => {
  await withProxiedListener(async ({ proxy, listener, notifier, wakes, woken }) => {
    proxy.mode('refuse');
    const started = Date.now();
    await listener.subscribe(woken);
    assert.ok(Date.now() - started < 1000, `subscribe returned in ${Date.now() - started} ms with the server away`);
    proxy.mode('swallow-listen');
    await new Promise((resolve) => setTimeout(resolve, 2500)); // a reconnect whose LISTEN goes unanswered, timed out
    proxy.mode('flow');
    await notified(notifier, wakes, 'once the server answers, a connection listens and notifications wake');
    const closing = Date.now();
    await listener.close();
    assert.ok(Date.now() - closing < 1000, 'close does not wait');
  });
});
