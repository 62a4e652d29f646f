import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startDeliveryThread } from '../../src/delivery/thread.js';
import { HookdMetrics } from '../../src/observability/metrics.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { threadModule } from '../../src/thread-module.js';
import { eventually, startTestHookd, tempDir, testEnv, unhandledRejectionsDuring } from '../helpers/hookd.js';
import { Receiver } from '../helpers/receiver.js';

/** A log destination that keeps every JSON line written to it. */
function logLines(): { lines: Record<string, unknown>[]; destination: Writable } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, destination };
}

/**
 * `hookd start` delivers on a thread of its own by default, or on the API's event loop (HOOKD_DELIVERY_THREAD=false):
 * both deliver everything, feed the one /metrics registry and write to the one log destination, and stop cleanly.
 */
for (const thread of [true, false]) {
  describe(`hookd start with HOOKD_DELIVERY_THREAD=${thread}`, () => {
    test('delivers, counts in /metrics, logs through the main logger, stops', async () => {
      const { lines, destination } = logLines();
      const receiver = await Receiver.start((request, response) => void response.writeHead(request.path === '/fail' ? 500 : 200).end());
      const hookd = await startTestHookd({ env: { HOOKD_DELIVERY_THREAD: String(thread), HOOKD_RETRY_SCHEDULE: 'none' }, logger: pino({ level: 'debug' }, destination) });
      try {
        const appId = (await hookd.api.post('/api/v1/app', { name: 'thread' })).body.id as string;
        await hookd.api.createEventTypes('ok', 'fail');
        await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/ok`, filterTypes: ['ok'] });
        await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/fail`, filterTypes: ['fail'] });
        for (let i = 0; i < 20; i++) assert.equal((await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'ok', payload: { i } })).status, 202);
        assert.equal((await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'fail', payload: {} })).status, 202);

        await eventually(() => receiver.requests.filter((r) => r.path === '/ok').length === 20 && receiver.requests.some((r) => r.path === '/fail'));
        await eventually(async () => {
          const text = await (await fetch(`${hookd.url}/metrics`)).text();
          return /hookd_deliveries_total\{outcome="succeeded",[^}]*\} 20\b/.test(text) && /hookd_deliveries_total\{outcome="failed",[^}]*\} 1\b/.test(text);
        });
        const failed = await eventually(() => lines.find((line) => line.msg === 'delivery attempt failed'));
        assert.equal(failed.thread, thread ? 'delivery' : undefined, 'the worker logs through the main logger, marked with its thread');
      } finally {
        await hookd.cleanup();
        await receiver.close();
      }
      assert.equal(receiver.requests.filter((r) => r.path === '/ok').length, 20, 'each message delivered once');
    });

    test(`the WAL is checkpointed in the background (${thread ? "on the main connection, between its commits" : 'on a checkpointer thread'}): ingested pages reach the database file`, async () => {
      const hookd = await startTestHookd({ env: { HOOKD_DELIVERY_THREAD: String(thread) } });
      try {
        const appId = (await hookd.api.post('/api/v1/app', { name: 'wal' })).body.id as string;
        const before = statSync(hookd.dbPath).size;
        // About 2.5 MB of messages: far below each writer's own automatic checkpoint (BACKSTOP_PAGES, 16 MB), so only
        // a background checkpoint copies them into the file.
        const payload = { pad: 'x'.repeat(4000) };
        for (let round = 0; round < 30; round++) {
          const statuses = await Promise.all(Array.from({ length: 20 }, () => hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'wal', payload }).then((r) => r.status)));
          assert.ok(statuses.every((status) => status === 202));
        }
        await eventually(() => statSync(hookd.dbPath).size - before > 2_000_000, 5000, 'the database file to receive the WAL pages');
      } finally {
        await hookd.cleanup();
      }
    });
  });
}

test('a delivery thread that fails with an uncaught exception is started again, counted in the metrics, and the process lives on', async () => {
  const { lines, destination } = logLines();
  const temp = tempDir();
  const stores: SqliteStore[] = [];
  try {
    // An uncaught exception in the thread reaches the main thread as an 'error' event; until it was handled, it also
    // rejected a promise nobody awaited, and the process died of it.
    const rejections = await unhandledRejectionsDuring(async () => {
      const store = new SqliteStore({ path: `${temp.dir}/metrics.db` });
      await store.migrate();
      stores.push(store);
      const metrics = new HookdMetrics({ store, maxLabels: 10, logger: pino({ level: 'silent' }) });
      const delivery = await startDeliveryThread({
        config: loadConfig(testEnv(`${temp.dir}/hookd.db`)),
        logger: pino({ level: 'info' }, destination),
        onRecorded: () => undefined,
        onDied: () => metrics.deliveryThreadDied(),
        entry: threadModule('../helpers/failing-delivery-thread', import.meta.url),
      });
      metrics.watchDelivery(() => delivery.running());
      const sample = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec((await metrics.render()).body)?.[1]);
      // Failed, started again (after 1 s), failed again: the supervisor keeps going.
      await eventually(() => lines.filter((line) => line.msg === 'the delivery thread stopped unexpectedly; starting it again').length >= 1, 10_000);
      // Dead until its restart a second later: the metrics say so.
      assert.equal(await sample('hookd_delivery_running'), 0);
      await eventually(() => lines.filter((line) => line.msg === 'the delivery thread stopped unexpectedly; starting it again').length >= 2, 10_000);
      assert.ok((await sample('hookd_delivery_thread_restarts_total')) >= 2);
      assert.ok(lines.some((line) => line.msg === 'the delivery thread failed' && /failed on purpose/.test(String((line.err as { message?: string })?.message))));
      await delivery.stop(1000);
    });
    assert.deepEqual(rejections, [], 'no unhandled rejection');
  } finally {
    for (const store of stores) await store.close();
    temp.cleanup();
  }
});

test('a stop that meets a restart under way stops the thread being started too: nothing delivers after the stop', async () => {
  const { lines, destination } = logLines();
  const temp = tempDir();
  try {
    const delivery = await startDeliveryThread({
      config: loadConfig(testEnv(`${temp.dir}/hookd.db`)),
      logger: pino({ level: 'info' }, destination),
      onRecorded: () => undefined,
      entry: threadModule('../helpers/slow-restart-delivery-thread', import.meta.url),
    });
    await eventually(() => lines.some((line) => line.msg === 'the delivery thread stopped unexpectedly; starting it again'), 5000, 'the first thread failing');
    // The restart begins 1 s later and takes 1 s to be ready: stop in the middle of it.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(lines.some((line) => line.msg === 'restarted thread running'), false, 'stopping while the restart is under way');
    await delivery.stop(1000);
    assert.ok(lines.some((line) => line.msg === 'restarted thread stopped'), 'the thread that was starting was told to stop');
    const seen = lines.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(lines.slice(seen).filter((line) => line.msg === 'restarted thread running'), [], 'no thread runs after the stop');
  } finally {
    temp.cleanup();
  }
});
