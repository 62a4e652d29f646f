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
 * A TCP proxy to the test server whose current connections can be made silent: bytes stop flowing both ways while
 * the sockets stay open, as when the server's host vanishes in a failover or a partition. New connections flow.
 */
async function silenceableProxy(target: URL): Promise<{ port: number; silence: () => void; close: () => Promise<void> }> {
  const pairs: [Socket, Socket][] = [];
  const everySocket = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    pairs.push([client, upstream]);
    for (const socket of [client, upstream]) {
      everySocket.add(socket);
      socket.on('close', () => everySocket.delete(socket));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    silence: () => {
      for (const [client, upstream] of pairs.splice(0)) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    close: async () => {
      for (const socket of everySocket) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

test('a LISTEN connection that went silent is found by its heartbeat and replaced: notifications wake again', async () => {
  const target = new URL(url);
  const proxy = await silenceableProxy(target);
  const viaProxy = new URL(url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  const listener = new DeliveriesDueListener({ connectionString: viaProxy.toString() }, 300);
  const notifier = new pg.Client({ connectionString: url });
  let wakes = 0;
  try {
    await notifier.connect();
    await listener.subscribe(() => wakes++);
    const notified = async (what: string): Promise<void> => {
      const before = wakes;
      const deadline = Date.now() + 5000;
      while (wakes === before && Date.now() < deadline) {
        await notifier.query(`NOTIFY ${DELIVERIES_CHANNEL}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(wakes > before, what);
    };
    await notified('a notification wakes the subscriber');
    proxy.silence();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await notified('after the connection went silent, a new one listens (heartbeat 300 ms, reconnect after 1 s)');
  } finally {
    await listener.close();
    await notifier.end();
    await proxy.close();
  }
});
