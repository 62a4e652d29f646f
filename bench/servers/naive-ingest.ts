/**
 * Naive ingest baseline: node:http; per request it checks the bearer token, parses the JSON body, runs ONE
 * INSERT (autocommit: its own transaction, so its own WAL fsync under synchronous=FULL) and answers 202 after it.
 * No batching, no framework, no validation beyond "is JSON with eventType and payload".
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NAIVE_INSERT, openNaiveDb } from './naive-db.js';

const db = openNaiveDb(process.env.BENCH_DB_PATH!);
const targetUrl = process.env.BENCH_TARGET_URL!;
const expectedAuth = `Bearer ${process.env.BENCH_TOKEN!}`;
const insert = db.prepare(NAIVE_INSERT);

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const send = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
      res.end(text);
    };
    if (req.headers.authorization !== expectedAuth) return send(401, { code: 'authentication' });
    let body: { eventType?: unknown; payload?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return send(400, { code: 'invalid_json' });
    }
    if (typeof body.eventType !== 'string' || typeof body.payload !== 'object' || body.payload === null) return send(422, { code: 'validation' });
    const id = `msg_${randomUUID()}`;
    const at = Date.now();
    insert.run(id, targetUrl, body.eventType, JSON.stringify(body.payload), at, at);
    send(202, { id, eventType: body.eventType, timestamp: new Date(at).toISOString() });
  });
});
server.listen(0, '127.0.0.1', () => process.send?.({ type: 'ready', ports: [(server.address() as AddressInfo).port] }));
process.on('disconnect', () => process.exit(0));
