// Lists on a PostgreSQL database whose collation is not C: ids still sort in creation order.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { newEndpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import type { Message } from '../../src/domain/types.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';

const url = process.env.HOOKD_TEST_DATABASE_URL;
if (!url) throw new Error('HOOKD_TEST_DATABASE_URL is not set: run the tests through `npm test`, which starts PostgreSQL');

test("on a database with an ICU en-US collation ('a' < 'B'), messages, endpoints and applications list newest first, and a walk by iterator sees each once in order", async () => {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const database = `hookd_icu_${randomBytes(4).toString('hex')}`;
  // The collation of the official image and managed services (en_US.UTF-8) orders letters the same way.
  await admin.query(`CREATE DATABASE ${database} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`);
  const databaseUrl = new URL(url);
  databaseUrl.pathname = `/${database}`;
  const store = new PostgresStore({ url: databaseUrl.toString(), poolSize: 2 });
  try {
    await store.migrate();
    const check = new pg.Client({ connectionString: databaseUrl.toString() });
    await check.connect();
    assert.equal((await check.query("SELECT 'a' < 'B' AS icu")).rows[0].icu, true, 'the premise: this collation interleaves cases');
    await check.end();
    // One second apart, the ids' fifth and sixth characters run through digits, upper and lower case letters.
    const T0 = Date.UTC(2026, 5, 1);
    const apps = Array.from({ length: 40 }, (_, i) => ({ id: newId('app', T0 + i * 1000), uid: null, name: `a${i}`, metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: T0 + i * 1000, updatedAt: T0 + i * 1000 }));
    for (const app of apps) await store.createApp(app);
    const appId = apps[0]!.id;
    const endpoints = Array.from({ length: 40 }, (_, i) => newEndpoint({ appId, url: `https://receiver.example/${i}` }, T0 + i * 1000));
    for (const endpoint of endpoints) await store.createEndpoint(endpoint);
    const messages: Message[] = Array.from({ length: 120 }, (_, i) => ({ id: newId('msg', T0 + i * 1000), appId, eventId: null, eventType: 'e', payload: '{}', channels: null, tags: null, createdAt: T0 + i * 1000 }));
    await store.insertMessages(messages);

    const newestFirst = (ids: string[]): string[] => [...ids].reverse();
    assert.deepEqual((await store.listMessages(appId, {}, { limit: 250 })).data.map((m) => m.id), newestFirst(messages.map((m) => m.id)), 'messages newest first');
    assert.deepEqual((await store.listApps({ limit: 250, order: 'ascending' })).data.map((a) => a.id), apps.map((a) => a.id), 'applications in creation order');
    assert.deepEqual((await store.listEndpoints(appId, { limit: 250, order: 'ascending' })).data.map((e) => e.id), endpoints.map((e) => e.id), 'endpoints in creation order');
    const walked: string[] = [];
    let iterator: string | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = await store.listMessages(appId, {}, { limit: 7, iterator });
      walked.push(...page.data.map((m) => m.id));
      if (page.done) break;
      iterator = page.iterator ?? undefined;
    }
    assert.deepEqual(walked, newestFirst(messages.map((m) => m.id)), 'pages of 7: every message once, newest first');
  } finally {
    await store.close();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
});
