// Deleting an application with a large history on SQLite: bounded transactions, and the event loop (every other
// tenant's requests, on the same thread) gets its turns meanwhile.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { newEndpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import type { Message } from '../../src/domain/types.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/hookd.js';

test('deleting an application of 60,000 deliveries never holds the event loop for the whole deletion', async () => {
  const temp = tempDir();
  const store = new SqliteStore({ path: join(temp.dir, 'delete.db') });
  try {
    await store.migrate();
    const at = Date.now();
    const appId = newId('app', at);
    const otherId = newId('app', at);
    for (const id of [appId, otherId]) await store.createApp({ id, uid: null, name: id, metadata: {}, rateLimit: null, createdAt: at, updatedAt: at });
    for (let i = 0; i < 200; i++) await store.createEndpoint(newEndpoint({ appId, url: `https://receiver.example/${i}` }, at));
    await store.createEndpoint(newEndpoint({ appId: otherId, url: 'https://other.example/hook' }, at));
    const message = (app: string): Message => ({ id: newId('msg', at), appId: app, eventId: null, eventType: 'e', payload: '{"a":1}', channels: null, tags: null, createdAt: at });
    for (let batch = 0; batch < 3; batch++) await store.insertMessages(Array.from({ length: 100 }, () => message(appId)));
    const kept = message(otherId);
    await store.insertMessages([kept]);

    // The longest gap between two turns of a 1 ms timer while the deletion runs.
    let last = performance.now();
    let longest = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 1);
    const started = performance.now();
    try {
      last = performance.now();
      await store.deleteApp(appId);
      longest = Math.max(longest, performance.now() - last); // up to the end, had the timer never had a turn
    } finally {
      clearInterval(ticker);
    }
    const took = performance.now() - started;
    console.log(`deleted in ${took.toFixed(0)} ms; the event loop's longest wait ${longest.toFixed(1)} ms`);
    assert.ok(longest < took / 3, `the event loop had its turns: longest wait ${longest.toFixed(1)} ms of ${took.toFixed(0)} ms (one transaction held it throughout)`);
    assert.equal(await store.getApp(appId), null);
    assert.equal((await store.listMessages(appId, {}, { limit: 10 })).data.length, 0);
    assert.equal((await store.queueStats(Date.now())).pending, 1, "only the other application's delivery is left");
    assert.ok(await store.getMessage(otherId, kept.id), "the other application's message is untouched");
  } finally {
    await store.close();
    temp.cleanup();
  }
});
