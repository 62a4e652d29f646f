/**
 * Naive delivery baseline, one loop, one delivery at a time:
 *   1. SELECT the oldest due pending row (LIMIT 1);            none due: sleep 100 ms, go to 1
 *   2. sign it (HMAC-SHA256, Standard Webhooks headers) and POST it with fetch(), read the response body;
 *   3. UPDATE that one row (succeeded, or pending with a 5 s retry; its own transaction, fsync'd);
 *   4. go to 1.
 * No batching and no concurrency: what a straightforward first implementation does.
 */
import { createHmac } from 'node:crypto';
import { openNaiveDb } from './naive-db.js';

const db = openNaiveDb(process.env.BENCH_DB_PATH!);
const key = Buffer.from('bench-naive-secret-0123456789abcdef');
const nextDue = db.prepare("SELECT id, msg_id, url, payload FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1");
const succeeded = db.prepare("UPDATE outbox SET status = 'succeeded', attempts = attempts + 1 WHERE id = ?");
const retryLater = db.prepare('UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?');

interface Row {
  id: number;
  msg_id: string;
  url: string;
  payload: string;
}

let running = true;
process.on('SIGTERM', () => (running = false));
process.on('disconnect', () => (running = false));

while (running) {
  const row = nextDue.get(Date.now()) as Row | undefined;
  if (!row) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    continue;
  }
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = `v1,${createHmac('sha256', key).update(`${row.msg_id}.${timestamp}.${row.payload}`).digest('base64')}`;
  let ok = false;
  try {
    const response = await fetch(row.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': row.msg_id, 'webhook-timestamp': timestamp, 'webhook-signature': signature },
      body: row.payload,
      signal: AbortSignal.timeout(15_000),
    });
    await response.text();
    ok = response.ok;
  } catch {
    ok = false;
  }
  if (ok) succeeded.run(row.id);
  else retryLater.run(Date.now() + 5000, row.id);
}
db.close();
