import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { newId } from '../../src/domain/ids.js';
import type { Message } from '../../src/domain/types.js';
import { GroupCommitter, type GroupCommitOptions } from '../../src/store/group-commit.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/hookd.js';

/**
 * A GroupCommitter over a real SQLite store on a temp file with one application, `app_gc`, observed: every call of
 * insertMessages is one transaction, and `batches` lists their sizes. `gated`: the first commit hangs until `release`
 * is called, as a stopped database would.
 */
async function observedCommitter(
  options: Omit<GroupCommitOptions, 'store'> & { gated?: boolean },
  run: (scenario: { committer: GroupCommitter; store: SqliteStore; batches: number[]; message: (payload?: string) => Message; release: () => void }) => Promise<void>,
): Promise<void> {
  const temp = tempDir();
  const store = new SqliteStore({ path: join(temp.dir, 'gc.db') });
  let release: () => void = () => undefined;
  try {
    await store.migrate();
    const now = Date.now();
    await store.createApp({ id: 'app_gc', uid: null, name: 'gc', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: now, updatedAt: now });
    const batches: number[] = [];
    const gate = new Promise<void>((resolve) => (release = resolve));
    let first = options.gated === true;
    const committer = new GroupCommitter({
      store: {
        insertMessages: async (messages: Message[]) => {
          batches.push(messages.length);
          if (first) {
            first = false;
            await gate;
          }
          return store.insertMessages(messages);
        },
      },
      ...options,
    });
    const message = (payload = '{}'): Message => ({ id: newId('msg'), appId: 'app_gc', eventId: null, eventType: 't', payload, channels: null, tags: null, createdAt: now });
    await run({ committer, store, batches, message, release });
  } finally {
    release();
    await store.close();
    temp.cleanup();
  }
}

/** A JSON payload of exactly `chars` characters. */
const padded = (chars: number): string => JSON.stringify({ pad: 'x'.repeat(chars - 10) });

test('messages submitted together are committed in one transaction, and each submit resolves after its commit', async () => {
  await observedCommitter({ maxBatch: 100 }, async ({ committer, store, batches, message }) => {
    const messages = Array.from({ length: 250 }, () => message());
    const results = await Promise.all(messages.map(async (m) => {
      const result = await committer.submit(m);
      // Resolved means committed: the row is readable now.
      assert.ok(await store.getMessage('app_gc', m.id));
      return result;
    }));
    assert.equal(results.length, 250);
    assert.deepEqual(batches, [100, 100, 50]);
  });
});

test('a transaction takes at most maxBatchPayload of payloads (a larger message alone), so large messages cannot make one statement too big', async () => {
  await observedCommitter({ maxBatch: 100, maxBatchPayload: 10_000 }, async ({ committer, store, batches, message }) => {
    const messages = [3_000, 3_000, 3_000, 3_000, 25_000, 3_000, 100, 100].map((chars) => message(padded(chars)));
    const results = await Promise.all(messages.map((m) => committer.submit(m)));
    assert.ok(results.every((r) => r.kind === 'inserted'));
    assert.deepEqual(batches, [3, 1, 1, 3], '3 x 3,000 fit in 10,000; the fourth starts the next; 25,000 alone; then the rest');
    for (const m of messages) assert.equal((await store.getMessage('app_gc', m.id))?.payload, m.payload);
  });
});

test('a commit queue that does not move refuses new messages at its limit and after the wait timeout, and stores none of them', async () => {
  await observedCommitter({ maxBatch: 10, maxPending: 20, waitTimeoutMs: 300, gated: true }, async ({ committer, store, message, release }) => {
    const hanging = committer.submit(message()); // taken into the hanging commit
    await new Promise((r) => setImmediate(r));
    const waiting = Array.from({ length: 20 }, () => message());
    const outcomes = waiting.map((m) => committer.submit(m).then(() => 'stored', (e: Error) => e.name));
    const started = Date.now();
    await assert.rejects(committer.submit(message()), (e: Error) => e.name === 'StoreUnavailableError' && /already waiting/.test(e.message), 'over the limit: refused at once');
    assert.deepEqual(new Set(await Promise.all(outcomes)), new Set(['StoreUnavailableError']), 'the waiting ones are refused after the timeout');
    const waited = Date.now() - started;
    assert.ok(waited >= 250 && waited < 1500, `refused after ${waited} ms (timeout 300 ms)`);
    release();
    assert.equal((await hanging).kind, 'inserted', 'the commit that was under way completes');
    for (const m of waiting) assert.equal(await store.getMessage('app_gc', m.id), null, 'a refused message was never stored');
    assert.equal((await committer.submit(message())).kind, 'inserted', 'the queue works again');
  });
});

test('waiting payload is bounded too: a submit that would pass maxPendingPayload is refused at once, a large message alone is taken', async () => {
  await observedCommitter({ maxBatch: 100, maxPending: 1_000, maxPendingPayload: 10_000, gated: true }, async ({ committer, store, message, release }) => {
    const hanging = committer.submit(message(padded(9_000))); // taken into the hanging commit: no longer waiting
    await new Promise((r) => setImmediate(r));
    const outcomes = [4_000, 4_000, 2_000].map((chars) => committer.submit(message(padded(chars))));
    const over = message(padded(100));
    await assert.rejects(committer.submit(over), (e: Error) => e.name === 'StoreUnavailableError' && /10000 payload characters are already waiting/.test(e.message), '10,000 waiting: 100 more is refused at once');
    release();
    assert.equal((await hanging).kind, 'inserted');
    for (const outcome of await Promise.all(outcomes)) assert.equal(outcome.kind, 'inserted');
    assert.equal(await store.getMessage('app_gc', over.id), null, 'the refused message was never stored');
    const large = message(padded(50_000));
    assert.equal((await committer.submit(large)).kind, 'inserted', 'into an empty queue a message larger than the bound is taken');
    assert.equal((await store.getMessage('app_gc', large.id))?.payload, large.payload);
  });
});

test("a message the database refuses fails its own submit only: the other messages of its commit (other tenants') are stored", async () => {
  const temp = tempDir();
  const path = join(temp.dir, 'gc-refused.db');
  const store = new SqliteStore({ path });
  try {
    await store.migrate();
    const now = Date.now();
    for (const id of ['app_bad', 'app_good']) await store.createApp({ id, uid: null, name: id, metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: now, updatedAt: now });
    // A trigger on the real database refuses one application's messages that say POISON.
    const raw = new Database(path);
    raw.exec(`CREATE TRIGGER refuse_message BEFORE INSERT ON message WHEN NEW.payload LIKE '%POISON%' BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END`);
    raw.close();
    const batches: number[] = [];
    const committer = new GroupCommitter({ store: { insertMessages: (messages: Message[]) => (batches.push(messages.length), store.insertMessages(messages)) }, maxBatch: 100 });
    const messages = Array.from({ length: 64 }, (_, i): Message => ({
      id: newId('msg'),
      appId: i === 17 ? 'app_bad' : 'app_good',
      eventId: null,
      eventType: 't',
      payload: i === 17 ? '{"say":"POISON"}' : `{"i":${i}}`,
      channels: null,
      tags: null,
      createdAt: now,
    }));
    const settled = await Promise.allSettled(messages.map((m) => committer.submit(m)));
    assert.equal(batches[0], 64, 'submitted together: one commit first');
    settled.forEach((outcome, i) => {
      if (i === 17) assert.equal(outcome.status, 'rejected', 'the refused message fails its submit');
      else assert.deepEqual(outcome, { status: 'fulfilled', value: { kind: 'inserted', deliveries: 0 } }, `message ${i} stored`);
    });
    for (const [i, m] of messages.entries()) assert.equal((await store.getMessage(m.appId, m.id)) !== null, i !== 17, `message ${i}`);
    assert.ok(batches.length <= 1 + 2 * Math.ceil(Math.log2(64)), `split in halves, not one by one (${batches.length} commits)`);

    // A refusal every part meets: the search stops within its budget of 4 log2(n) + 4 commits; every submit fails.
    batches.length = 0;
    const refused = messages.map((m) => ({ ...m, id: newId('msg'), payload: '{"say":"POISON"}' }));
    const all = await Promise.allSettled(refused.map((m) => committer.submit(m)));
    assert.ok(all.every((outcome) => outcome.status === 'rejected'), 'every submit refused');
    assert.ok(batches.length <= 4 * Math.log2(64) + 4, `within the budget (${batches.length} commits)`);
  } finally {
    await store.close();
    temp.cleanup();
  }
});
