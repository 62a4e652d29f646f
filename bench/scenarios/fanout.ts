import { now } from '../lib/clock.js';
import { startDeployment } from '../lib/deployment.js';
import { effectiveConfig, HookdApi, ingestRequest } from '../lib/hookd.js';
import { LoadGenerator } from '../lib/load.js';
import type { Mode } from '../lib/options.js';
import { messageBody } from '../lib/payload.js';
import { cpuMsOfAll } from '../lib/processes.js';
import { ReceiverProcess } from '../lib/receiver.js';
import type { ResultRow } from '../lib/report.js';
import { perMode, withDatabase, type ScenarioContext } from '../lib/scenario.js';
import { durabilityOf } from './conditions.js';

/**
 * Fan-out: an app with 10 endpoints (10 receiver ports = 10 origins), N messages ingested through the API by the
 * closed-loop generator, each becoming 10 deliveries. Deliveries/s from the first ingest request until the
 * receiver has counted all of them; ingest and delivery run at the same time, in the same hookd.
 */
export async function fanout(ctx: ScenarioContext): Promise<ResultRow[]> {
  return perMode(ctx, ['sqlite', 'postgres'], rowOf, (mode) => withDatabase(ctx, mode, 'fanout', (database) => measure(ctx, mode, database)));
}

const rowOf = (mode: Mode): { id: string; label: string; unit: string } => ({ id: `fanout.${mode}`, label: `hookd fan-out 1 -> 10, ${mode}`, unit: 'dlv/s' });

async function measure(ctx: ScenarioContext, mode: Mode, database: Parameters<typeof effectiveConfig>[0]): Promise<ResultRow> {
  const { fanoutMessages, fanoutEndpoints, concurrency, payloadBytes } = ctx.options;
  const receiver = await ReceiverProcess.start(fanoutEndpoints);
  try {
    const hookd = await startDeployment(mode, database, ctx.profileDir(`fanout-${mode}`));
    try {
      const api = new HookdApi(hookd.api.url!, hookd.api.token);
      await api.createApp('bench-fanout');
      for (const url of receiver.urls) await api.createEndpoint('bench-fanout', url);
      await receiver.reset();
      const load = new LoadGenerator(hookd.api.url!, concurrency);
      const cpuBefore = await cpuMsOfAll(hookd.processes);
      const started = now();
      const ingested = await load.closedLoop(
        { ...ingestRequest('bench-fanout', hookd.api.token), body: (seq, t) => messageBody(seq, t, payloadBytes), okStatus: [202] },
        { concurrency, total: fanoutMessages },
      );
      const ingestEnded = now();
      await load.close();
      const expected = ingested.ok * fanoutEndpoints;
      const received = await receiver.waitForDistinct(expected, {
        timeoutMs: Math.max(600_000, (expected / 200) * 1000),
        stallMs: 60_000,
        progressMs: 15_000,
        progress: (s) => ctx.log(`    ${s.distinct} / ${expected} delivered`),
      });
      const end = received.lastAt ?? now();
      const cpuMs = (await cpuMsOfAll(hookd.processes)) - cpuBefore;
      const config = effectiveConfig(database);
      const notes: string[] = [];
      if (!received.complete) notes.push(`INCOMPLETE: ${received.distinct} of ${expected} delivered (${received.reason})`);
      if (received.duplicates > 0) notes.push(`${received.duplicates} duplicate deliveries`);
      if (ingested.failed > 0) notes.push(`${ingested.failed} ingest requests failed: ${JSON.stringify({ ...ingested.statuses, ...ingested.errors })}`);
      return {
        ...rowOf(mode),
        value: received.distinct / ((end - started) / 1000),
        conditions: {
          hookd: hookd.description,
          durability: await durabilityOf(mode, ctx),
          messages: ingested.ok,
          endpoints: fanoutEndpoints,
          deliveries: received.distinct,
          ingest_concurrency: concurrency,
          payload_bytes: payloadBytes,
          timed_from: 'first ingest request',
          ingest_msg_s_meanwhile: Math.round(ingested.throughput),
          drain_after_ingest_s: Number(((end - ingestEnded) / 1000).toFixed(1)),
          hookd_cpu_us_per_delivery: Math.round((cpuMs * 1000) / Math.max(1, received.distinct)),
          worker_concurrency: config.delivery.concurrency,
          connections_per_origin: config.delivery.connectionsPerOrigin,
        },
        details: { ingestLatency: ingested.latency, receiver: received },
        notes,
      };
    } finally {
      await hookd.stop();
    }
  } finally {
    await receiver.stop();
  }
}
