import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newId } from '../../src/domain/ids.js';
import type { App, Message } from '../../src/domain/types.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { freshPostgresSchema } from '../helpers/store-adapters.js';

const postgresUrl = process.env.HOOKD_TEST_DATABASE_URL;
if (!postgresUrl && process.env.CI) throw new Error('HOOKD_TEST_DATABASE_URL is not set: run the tests through `npm test`, which starts PostgreSQL');

const app = (uid: string, now: number): App => ({ id: newId('app', now), uid, name: uid, metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: now, updatedAt: now });
const message = (appId: string, now: number): Message => ({ id: newId('msg', now), appId, eventId: null, eventType: 't', payload: '{}', channels: null, tags: null, createdAt: now });

test(
  'postgres: ingest lookups (recent) see another process\'s change within a second, other lookups at once; an ingest for an application deleted or renamed there is refused alone',
  { skip: postgresUrl ? false : 'HOOKD_TEST_DATABASE_URL is not set (npm test sets it)' },
  async () => {
    const { schema, drop } = await freshPostgresSchema(postgresUrl!);
    // Two processes on one database: `here` serves the API, `there` is another API process.
    const here = new PostgresStore({ url: postgresUrl!, schema, poolSize: 2 });
    const there = new PostgresStore({ url: postgresUrl!, schema, poolSize: 2 });
    try {
      await here.migrate();
      const now = Date.now();
      const changed = app('changed', now);
      const deleted = app('deleted', now);
      const renamed = app('renamed', now);
      const neighbour = app('neighbour', now);
      for (const a of [changed, deleted, renamed, neighbour]) await there.createApp(a);
      for (const uid of ['changed', 'deleted', 'renamed']) assert.ok(await here.getApp(uid, { recent: true }));

      await there.updateApp({ ...changed, rateLimit: 7, updatedAt: now + 1 });
      await there.deleteApp(deleted.id);
      // The uid moves to a new application (a rename, then a create with the old uid).
      await there.updateApp({ ...renamed, uid: 'renamed-before', updatedAt: now + 1 });
      const successor = app('renamed', now);
      await there.createApp(successor);
      // Anything but ingest reads afresh: an update never writes back what the other process just changed.
      assert.equal((await here.getApp('changed'))?.rateLimit, 7);
      assert.equal(await here.getApp('deleted'), null);
      // Ingest may still find the applications as they were...
      const gone = await here.getApp('deleted', { recent: true });
      const before = await here.getApp('renamed', { recent: true });
      assert.equal(before?.id, renamed.id, 'the remembered lookup is the old application');
      // ...but the insert checks again: neither message is stored, and the batch they share with another
      // application's commits.
      const results = await here.insertMessages([message(gone!.id, now), { ...message(before!.id, now), addressedUid: 'renamed' }, message(neighbour.id, now)]);
      assert.deepEqual(
        results.map((r) => r.kind),
        ['no-app', 'no-app', 'inserted'],
      );
      assert.equal((await here.listMessages(renamed.id, {}, { limit: 10 })).data.length, 0, 'nothing reached the application that had the uid before');

      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal((await here.getApp('changed', { recent: true }))?.rateLimit, 7, "the other process's change is seen after a second");
      assert.equal(await here.getApp('deleted', { recent: true }), null);
      assert.equal((await here.getApp('renamed', { recent: true }))?.id, successor.id);
    } finally {
      await here.close();
      await there.close();
      await drop();
    }
  },
);
