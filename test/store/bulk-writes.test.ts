// Deleting an application with a large history or an endpoint with a large backlog, and recovering an endpoint's
// dead letters, on SQLite: bounded transactions, and the event loop (every other tenant's requests, on the same
// thread) gets its turns meanwhile.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { newEndpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import type { Message } from '../../src/domain/types.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/hookd.js';
import { watchEventLoop } from '../helpers/event-loop.js';

test('deleting an application of 60,000 deliveries never holds the event loop for the whole deletion, and another application stays', async () => {
  await withApps(async (store, [appId, otherId], at, message) => {
    for (let i = 0; i < 200; i++) await store.createEndpoint(newEndpoint({ appId, url: `https://receiver.example/${i}` }, at));
    await store.createEndpoint(newEndpoint({ appId: otherId, url: 'https://other.example/hook' }, at));
    for (let batch = 0; batch < 3; batch++) await store.insertMessages(Array.from({ length: 100 }, () => message(appId)));
    const kept = message(otherId);
    await store.insertMessages([kept]);

    await assertEventLoopTurns('the application', () => store.deleteApp(appId));
    assert.equal(await store.getApp(appId), null);
    assert.equal((await store.listMessages(appId, {}, { limit: 10 })).data.length, 0);
    assert.equal((await store.queueStats(Date.now())).pending, 1, "only the other application's delivery is left");
    assert.ok(await store.getMessage(otherId, kept.id), "the other application's message is untouched");
  });
});

test("deleting an endpoint fails its 30,000 pending deliveries without holding the event loop, and another endpoint's stay", async () => {
  await withApps(async (store, [appId], at, message) => {
    const doomed = newEndpoint({ appId: appId, url: 'https://doomed.example/hook', filterTypes: ['doomed'] }, at);
    const kept = newEndpoint({ appId: appId, url: 'https://kept.example/hook', filterTypes: ['kept'] }, at);
    for (const endpoint of [doomed, kept]) await store.createEndpoint(endpoint);
    for (let batch = 0; batch < 60; batch++) await store.insertMessages(Array.from({ length: 500 }, () => message(appId, 'doomed')));
    await store.insertMessages([message(appId, 'kept')]);

    await assertEventLoopTurns('the endpoint', () => store.deleteEndpoint(appId, doomed.id, Date.now()));
    assert.equal((await store.queueStats(Date.now())).pending, 1, "only the other endpoint's delivery is pending");
    const claimed = await store.claimDeliveries({ owner: 'w', limit: 10, leaseMs: 30_000, nowMs: Date.now() });
    assert.deepEqual(claimed.map((c) => c.endpoint.id), [kept.id]);
  });
});

test("recovering an endpoint's 30,000 dead letters never holds the event loop for the whole recovery, and another endpoint's stay failed", async () => {
  await withApps(async (store, [appId], at, message, path) => {
    const dead = newEndpoint({ appId, url: 'https://dead.example/hook', filterTypes: ['dead'] }, at);
    const kept = newEndpoint({ appId, url: 'https://kept.example/hook', filterTypes: ['kept'] }, at);
    for (const endpoint of [dead, kept]) await store.createEndpoint(endpoint);
    for (let batch = 0; batch < 60; batch++) await store.insertMessages(Array.from({ length: 500 }, () => message(appId, 'dead')));
    await store.insertMessages([message(appId, 'kept')]);
    // Every delivery a dead letter, written on the real file by a connection of its own (30,000 failed attempts
    // through the worker would take the test's whole budget).
    const raw = new Database(path);
    raw.prepare("UPDATE delivery SET status = 'failed', last_error = 'HTTP 500'").run();
    raw.close();

    let recovered = 0;
    await assertEventLoopTurns('the dead letters', async () => {
      recovered = await store.recoverFailed(dead.id, at, at + 1, Date.now());
    });
    assert.equal(recovered, 30_000);
    assert.equal((await store.queueStats(Date.now())).pending, 30_000, "the other endpoint's dead letter is not recovered");
  });
});

/** A fresh SQLite store on a temp file with two applications, and a maker of their messages (due now). */
async function withApps(
  run: (store: SqliteStore, appIds: [string, string], at: number, message: (appId: string, eventType?: string) => Message, path: string) => Promise<void>,
): Promise<void> {
  const temp = tempDir();
  const path = join(temp.dir, 'bulk.db');
  const store = new SqliteStore({ path });
  try {
    await store.migrate();
    const at = Date.now();
    const appIds: [string, string] = [newId('app', at), newId('app', at)];
    for (const id of appIds) await store.createApp({ id, uid: null, name: id, metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: at, updatedAt: at });
    const message = (appId: string, eventType = 'e'): Message => ({ id: newId('msg', at), appId, eventId: null, eventType, payload: '{"a":1}', channels: null, tags: null, createdAt: at });
    await run(store, appIds, at, message, path);
  } finally {
    await store.close();
    temp.cleanup();
  }
}

/**
 * Runs `work` and checks that a 1 ms timer had turns meanwhile, one between every two of its transactions or so: no one
 * transaction held the event loop throughout (as before 2026-12, when the timer had none).
 */
async function assertEventLoopTurns(what: string, work: () => Promise<void>): Promise<void> {
  const { turns, longestMs, tookMs } = await watchEventLoop(work);
  const summary = `${what} done in ${tookMs.toFixed(0)} ms; a 1 ms timer had ${turns} turns meanwhile, the longest wait ${longestMs.toFixed(1)} ms`;
  console.log(summary);
  assert.ok(turns >= 10, `the event loop had its turns between the transactions (${summary})`);
}
