/**
 * The webhook receiver every delivery scenario (and the delivery ceiling) sends to: plain node:http on
 * BENCH_RECEIVER_PORTS ports of 127.0.0.1 (several ports = several origins, as fan-out to distinct endpoints
 * would be), answering 200 "ok" to everything after reading the body. It counts requests and distinct
 * deliveries ((webhook-id, port) pairs) and, in latency mode, the time from the payload's scheduled send time
 * to arrival. The parent drives it over IPC (see ipc.ts).
 *
 * BENCH_RECEIVER_BEHAVIOUR makes it a broken receiver for the isolation scenario: `slow` answers after 2 s, `hang`
 * reads the request and never answers (deliveries are still counted on arrival).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { now } from '../lib/clock.js';
import { readSeqAndTime } from '../lib/payload.js';
import type { ReceiverCommand, ReceiverReply } from './ipc.js';

const portCount = Number(process.env.BENCH_RECEIVER_PORTS ?? '1');
const behaviour = process.env.BENCH_RECEIVER_BEHAVIOUR ?? 'ok';
const SLOW_MS = 2000;

let seen = new Set<string>();
let total = 0;
let anonymous = 0;
let firstAt: number | null = null;
let lastAt: number | null = null;
let latencyMode = false;
let latencies = new Map<number, number>();
let pendingMarks: number[] = [];
let reachedMarks: [number, number][] = [];

function record(portIndex: number, id: string | undefined, body: string): void {
  const at = now();
  total++;
  firstAt ??= at;
  if (id === undefined) {
    anonymous++;
    return;
  }
  const key = `${id}|${portIndex}`;
  if (seen.has(key)) return;
  seen.add(key);
  lastAt = at;
  if (latencyMode) {
    const head = readSeqAndTime(body);
    if (head && !latencies.has(head.seq)) latencies.set(head.seq, at - head.t);
  }
  while (pendingMarks.length > 0 && seen.size >= pendingMarks[0]!) reachedMarks.push([pendingMarks.shift()!, at]);
}

function handler(portIndex: number) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const id = req.headers['webhook-id'];
      record(portIndex, Array.isArray(id) ? id[0] : id, latencyMode ? Buffer.concat(chunks).toString('utf8') : '');
      if (behaviour === 'hang') return;
      const answer = (): void => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
        res.end('ok');
      };
      if (behaviour === 'slow') setTimeout(answer, SLOW_MS);
      else answer();
    });
  };
}

function reply(message: ReceiverReply): void {
  process.send?.(message);
}

process.on('message', (raw) => {
  const command = raw as ReceiverCommand;
  switch (command.type) {
    case 'reset':
      seen = new Set();
      total = 0;
      anonymous = 0;
      firstAt = null;
      lastAt = null;
      latencyMode = command.latency;
      latencies = new Map();
      pendingMarks = [...command.marks].sort((a, b) => a - b);
      reachedMarks = [];
      reply({ type: 'reset', id: command.id });
      break;
    case 'stats':
      reply({ type: 'stats', id: command.id, total, distinct: seen.size, duplicates: total - anonymous - seen.size, anonymous, firstAt, lastAt, marks: reachedMarks });
      break;
    case 'latencies':
      reply({ type: 'latencies', id: command.id, entries: [...latencies] });
      break;
  }
});
process.on('disconnect', () => process.exit(0));

const ports: number[] = [];
for (let i = 0; i < portCount; i++) {
  const server = createServer({ keepAliveTimeout: 60_000 }, handler(i));
  server.headersTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ports.push((server.address() as AddressInfo).port);
}
process.send?.({ type: 'ready', ports });
