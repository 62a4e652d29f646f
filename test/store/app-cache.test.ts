import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newId } from '../../src/domain/ids.js';
import type { App, Message } from '../../src/domain/types.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { freshPostgresSchema } from '../helpers/store-adapters.js';

const postgresUrl = process.env.HOOKD_TEST_DATABASE_URL;
if (!postgresUrl && process.env.CI) throw new Error('HOOKD_TEST_DATABASE_URL is not set: run the tests through `npm test`, which starts PostgreSQL');

const app = (uid: string, now: number): App => ({ id: newId('app', now), uid, name: uid, metadata: {}, rateLimit: null, createdAt: now, updatedAt: now });
const message = (appId: string, now: number): Message => ({ id: newId('msg', now), appId, eventId: null, eventType: 't', payload: '{}', channels: null, tags: null, createdAt: now });

test(
  'postgres: an application changed by another process is seen here within a second (at once when read fresh); an ingest for one deleted there is refused alone',
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
      const neighbour = app('neighbour', now);
      for (const a of [changed, deleted, neighbour]) await there.createApp(a);
      assert.equal((await here.getApp('changed'))?.rateLimit, null);
      assert.equal((await here.getApp('deleted'))?.id, deleted.id);

      await there.updateApp({ ...changed, rateLimit: 7, updatedAt: now + 1 });
      await there.deleteApp(deleted.id);
      // A read-modify-write (the API's PUT and PATCH of an application) reads it fresh: it never writes back what
      // the other process just changed.
      assert.equal((await here.getApp('changed', { fresh: true }))?.rateLimit, 7);
      // Until this process reads again, a request may still find the application as it was...
      const looked = await here.getApp('deleted');
      // ...but its message is not stored, and the batch it shares with another application's is.
      const results = await here.insertMessages([message(looked!.id, now), message(neighbour.id, now)]);
      assert.deepEqual(
        results.map((r) => r.kind),
        ['no-app', 'inserted'],
      );

      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal((await here.getApp('changed'))?.rateLimit, 7, "the other process's change is seen after a second");
      assert.equal(await here.getApp('deleted'), null);
    } finally {
      await here.close();
      await there.close();
      await drop();
    }
  },
);
