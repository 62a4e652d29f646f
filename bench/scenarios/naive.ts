import { join } from 'node:path';
import Database from 'better-sqlite3';
import { now } from '../lib/clock.js';
import { newToken } from '../lib/hookd.js';
import { LoadGenerator, measureThroughput } from '../lib/load.js';
import { EVENT_TYPE, messageBody, payloadJson } from '../lib/payload.js';
import { removeTempDir, spawnBenchServer, tempDir, waitMessage } from '../lib/processes.js';
import { ReceiverProcess } from '../lib/receiver.js';
import type { ResultRow } from '../lib/report.js';
import { guarded, type ScenarioContext } from '../lib/scenario.js';
import type { Ready } from '../servers/ipc.js';
import { NAIVE_INSERT, openNaiveDb } from '../servers/naive-db.js';

const DURABILITY = 'SQLite WAL, synchronous=FULL';

/**
 * The naive baseline, same machine, same durability, same load generator:
 * - ingest: node:http, one INSERT per request in its own transaction, 202 after it (servers/naive-ingest.ts);
 * - delivery: one loop, select one due row, one fetch(), update one row (servers/naive-worker.ts).
 */
export async function naive(ctx: ScenarioContext): Promise<ResultRow[]> {
  return [
    await guarded(ctx, { id: 'naive.ingest', label: 'naive ingest (1 INSERT + fsync per request)', unit: 'msg/s' }, () => naiveIngest(ctx)),
    await guarded(ctx, { id: 'naive.delivery', label: 'naive delivery (1 row, 1 fetch, 1 UPDATE at a time)', unit: 'dlv/s' }, () => naiveDelivery(ctx)),
  ];
}

async function naiveIngest(ctx: ScenarioContext): Promise<ResultRow> {
  const { concurrency, warmupMs, durationMs, payloadBytes } = ctx.options;
  const dir = tempDir('naive-ingest');
  const dbPath = join(dir, 'naive.db');
  const token = newToken();
  const server = spawnBenchServer('naive-ingest', 'naive-ingest.ts', { BENCH_DB_PATH: dbPath, BENCH_TARGET_URL: 'http://127.0.0.1:9/', BENCH_TOKEN: token });
  try {
    const ready = await waitMessage<Ready>(server, 'ready');
    const load = new LoadGenerator(`http://127.0.0.1:${ready.ports[0]}`, concurrency);
    const result = await measureThroughput(
      load,
      {
        path: '/api/v1/app/bench/msg',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: (seq, t) => messageBody(seq, t, payloadBytes),
        okStatus: [202],
      },
      { concurrency, warmupMs, durationMs },
    );
    await load.close();
    await server.stop('SIGTERM', 5000);
    const db = new Database(dbPath, { readonly: true });
    const rows = db.prepare('SELECT count(*) FROM outbox').pluck().get() as number;
    db.close();
    return {
      id: 'naive.ingest',
      label: 'naive ingest (1 INSERT + fsync per request)',
      unit: 'msg/s',
      value: result.throughput,
      latency: result.latency,
      conditions: { durability: DURABILITY, concurrency, connections: concurrency, payload_bytes: payloadBytes, duration_s: durationMs / 1000, accepted: result.ok },
      details: { statuses: result.statuses, errors: result.errors, rowsInDatabase: rows, acceptedIncludingWarmup: result.ok + result.warmupOk },
      notes: rows >= result.ok + result.warmupOk ? [] : [`LEDGER: ${result.ok + result.warmupOk} accepted but ${rows} rows stored`],
    };
  } finally {
    await server.stop('SIGTERM', 5000);
    removeTempDir(dir);
  }
}

async function naiveDelivery(ctx: ScenarioContext): Promise<ResultRow> {
  const { durationMs, payloadBytes, naiveBacklog } = ctx.options;
  const capMs = durationMs + 5000;
  const dir = tempDir('naive-delivery');
  const dbPath = join(dir, 'naive.db');
  const receiver = await ReceiverProcess.start(1);
  try {
    const db = openNaiveDb(dbPath);
    const insert = db.prepare(NAIVE_INSERT);
    const insertBatch = db.transaction((from: number, to: number) => {
      const at = Date.now();
      for (let seq = from; seq < to; seq++) insert.run(`msg_naive_${seq}`, receiver.urls[0]!, EVENT_TYPE, payloadJson(seq, 0, payloadBytes), at, at);
    });
    for (let from = 0; from < naiveBacklog; from += 500) insertBatch(from, Math.min(naiveBacklog, from + 500));
    db.close();
    await receiver.reset();
    const spawnedAt = now();
    const worker = spawnBenchServer('naive-worker', 'naive-worker.ts', { BENCH_DB_PATH: dbPath });
    let waited;
    try {
      waited = await receiver.waitForDistinct(naiveBacklog, { timeoutMs: capMs, stallMs: 15_000 });
    } finally {
      await worker.stop('SIGTERM', 5000);
    }
    const end = waited.lastAt ?? now();
    const value = waited.distinct / ((end - spawnedAt) / 1000);
    return {
      id: 'naive.delivery',
      label: 'naive delivery (1 row, 1 fetch, 1 UPDATE at a time)',
      unit: 'dlv/s',
      value,
      conditions: {
        durability: DURABILITY,
        backlog: naiveBacklog,
        delivered: waited.distinct,
        cap_s: capMs / 1000,
        in_flight: 1,
        payload_bytes: payloadBytes,
        timed_from: 'process spawn',
      },
      details: {
        complete: waited.complete,
        stop: waited.reason,
        duplicates: waited.duplicates,
        startupMs: waited.firstAt === null ? null : waited.firstAt - spawnedAt,
        steadyRate: waited.firstAt !== null && waited.lastAt !== null && waited.lastAt > waited.firstAt ? (waited.distinct - 1) / ((waited.lastAt - waited.firstAt) / 1000) : null,
      },
    };
  } finally {
    await receiver.stop();
    removeTempDir(dir);
  }
}
