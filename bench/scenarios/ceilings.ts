import { effectiveConfig } from '../lib/hookd.js';
import { LoadGenerator, measureThroughput } from '../lib/load.js';
import { messageBody, payloadJson } from '../lib/payload.js';
import { spawnBenchServer, waitMessage } from '../lib/processes.js';
import { ReceiverProcess } from '../lib/receiver.js';
import type { ResultRow } from '../lib/report.js';
import { guarded, type ScenarioContext } from '../lib/scenario.js';
import type { Ready } from '../servers/ipc.js';

/**
 * The limits of this machine, measured with the same load generator as everything else:
 * - ingest ceiling: 1 KB POSTs to a bare node:http server that answers 202 (nothing parsed, nothing stored);
 * - delivery ceiling: an undici Pool posting 1 KB to the bare node:http receiver hookd delivers to, with hookd's
 *   per-origin connection count and in-flight count (HOOKD_CONNECTIONS_PER_ORIGIN, HOOKD_WORKER_CONCURRENCY).
 */
export async function ceilings(ctx: ScenarioContext): Promise<ResultRow[]> {
  return [
    await guarded(ctx, { id: 'ceiling.ingest', label: 'ingest ceiling (bare node:http 202)', unit: 'req/s' }, () => ingestCeiling(ctx)),
    await guarded(ctx, { id: 'ceiling.delivery', label: 'delivery ceiling (bare undici Pool -> node:http)', unit: 'req/s' }, () => deliveryCeiling(ctx)),
  ];
}

async function ingestCeiling(ctx: ScenarioContext): Promise<ResultRow> {
  const { concurrency, warmupMs, durationMs, payloadBytes } = ctx.options;
  const server = spawnBenchServer('ceiling-ingest', 'ceiling-ingest.ts');
  try {
    const ready = await waitMessage<Ready>(server, 'ready');
    const load = new LoadGenerator(`http://127.0.0.1:${ready.ports[0]}`, concurrency);
    const result = await measureThroughput(
      load,
      {
        path: '/api/v1/app/bench/msg',
        headers: { authorization: 'Bearer bench-ceiling-token-000000', 'content-type': 'application/json' },
        body: (seq, t) => messageBody(seq, t, payloadBytes),
        okStatus: [202],
      },
      { concurrency, warmupMs, durationMs },
    );
    await load.close();
    return {
      id: 'ceiling.ingest',
      label: 'ingest ceiling (bare node:http 202)',
      unit: 'req/s',
      value: result.throughput,
      latency: result.latency,
      conditions: { concurrency, connections: concurrency, payload_bytes: payloadBytes, duration_s: durationMs / 1000, warmup_s: warmupMs / 1000, requests: result.ok },
      details: { statuses: result.statuses, errors: result.errors },
    };
  } finally {
    await server.stop('SIGTERM', 5000);
  }
}

async function deliveryCeiling(ctx: ScenarioContext): Promise<ResultRow> {
  const { warmupMs, durationMs, payloadBytes } = ctx.options;
  const hookd = effectiveConfig({ kind: 'sqlite', path: '/tmp/unused.db' }).delivery;
  const receiver = await ReceiverProcess.start(1);
  try {
    const load = new LoadGenerator(receiver.urls[0]!, hookd.connectionsPerOrigin);
    const spec = {
      path: '/',
      headers: { 'content-type': 'application/json' },
      seqHeader: 'webhook-id',
      body: (seq: number, t: number) => payloadJson(seq, t, payloadBytes),
      okStatus: [200],
    };
    if (warmupMs > 0) await load.closedLoop(spec, { concurrency: hookd.concurrency, durationMs: warmupMs });
    await receiver.reset();
    const result = await load.closedLoop(spec, { concurrency: hookd.concurrency, durationMs });
    const counted = await receiver.stats();
    await load.close();
    return {
      id: 'ceiling.delivery',
      label: 'delivery ceiling (bare undici Pool -> node:http)',
      unit: 'req/s',
      value: result.throughput,
      latency: result.latency,
      conditions: {
        in_flight: hookd.concurrency,
        connections: hookd.connectionsPerOrigin,
        payload_bytes: payloadBytes,
        duration_s: durationMs / 1000,
        requests: result.ok,
        receiver_counted: counted.distinct,
      },
      details: { statuses: result.statuses, errors: result.errors },
    };
  } finally {
    await receiver.stop();
  }
}
