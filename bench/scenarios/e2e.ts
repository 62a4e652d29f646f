import { sleep } from '../lib/clock.js';
import { startDeployment, type Deployment } from '../lib/deployment.js';
import { HookdApi, ingestRequest, type Database } from '../lib/hookd.js';
import { LoadGenerator } from '../lib/load.js';
import type { Mode } from '../lib/options.js';
import { messageBody } from '../lib/payload.js';
import { ReceiverProcess } from '../lib/receiver.js';
import type { ResultRow } from '../lib/report.js';
import { perMode, withDatabase, type ScenarioContext } from '../lib/scenario.js';
import { summarize } from '../lib/stats.js';
import { durabilityOf } from './conditions.js';

/**
 * End-to-end latency, ingest -> receiver, at a fixed open-model arrival rate: message i is scheduled at
 * start + i / rate and carries that scheduled time in its payload; the receiver records arrival - scheduled time,
 * so a stall anywhere (generator included) counts in full (no coordinated omission). Ledger: every accepted (202)
 * message must arrive; missing and duplicate deliveries are counted. Run at `rate` and at the idle rate.
 */
export async function e2e(ctx: ScenarioContext): Promise<ResultRow[]> {
  const { rate, idleRate } = ctx.options;
  return [
    ...(await perMode(ctx, ['sqlite', 'postgres'], (mode) => rowOf('e2e', rate, mode), (mode) => withDatabase(ctx, mode, 'e2e', (db) => measure(ctx, mode, db, 'e2e', rate)))),
    ...(await perMode(ctx, ['sqlite', 'postgres'], (mode) => rowOf('e2e-idle', idleRate, mode), (mode) => withDatabase(ctx, mode, 'e2e_idle', (db) => measure(ctx, mode, db, 'e2e-idle', idleRate)))),
  ];
}

function rowOf(kind: 'e2e' | 'e2e-idle', rate: number, mode: Mode): { id: string; label: string; unit: string } {
  return { id: `${kind}.${mode}`, label: `e2e latency${kind === 'e2e-idle' ? ' (idle)' : ''} @ ${rate} msg/s, ${mode}`, unit: 'ms p50' };
}

async function measure(ctx: ScenarioContext, mode: Mode, database: Database, kind: 'e2e' | 'e2e-idle', rate: number): Promise<ResultRow> {
  const { durationMs, payloadBytes } = ctx.options;
  const receiver = await ReceiverProcess.start(1);
  try {
    const hookd = await startDeployment(mode, database, ctx.profileDir(`${kind}-${mode}`));
    try {
      const api = new HookdApi(hookd.api.url!, hookd.api.token);
      await api.createApp('bench-e2e');
      await api.createEndpoint('bench-e2e', receiver.urls[0]!);
      const stream = await measureStream(ctx, hookd, receiver, 'bench-e2e', rate);
      return {
        ...rowOf(kind, rate, mode),
        value: stream.latency?.p50 ?? null,
        latency: stream.latency,
        conditions: {
          hookd: hookd.description,
          durability: await durabilityOf(mode, ctx),
          rate_msg_s: rate,
          duration_s: durationMs / 1000,
          model: 'open (latency from scheduled send time)',
          endpoints: 1,
          payload_bytes: payloadBytes,
          published: stream.ledger.published,
          missing: stream.ledger.missing,
          duplicates: stream.ledger.duplicates,
        },
        details: stream.details,
        notes: stream.notes,
      };
    } finally {
      await hookd.stop();
    }
  } finally {
    await receiver.stop();
  }
}

/**
 * One open-model stream to an app whose endpoint is `receiver`: 1 s of warm-up (not counted), then `rate` msg/s for
 * the run's duration; the latency of every accepted message from its scheduled send time to its arrival, and the
 * ledger (published = delivered + missing; duplicates, rejected).
 */
export async function measureStream(ctx: ScenarioContext, hookd: Deployment, receiver: ReceiverProcess, appUid: string, rate: number) {
  const { durationMs, payloadBytes } = ctx.options;
  const load = new LoadGenerator(hookd.api.url!, 64);
  const spec = { ...ingestRequest(appUid, hookd.api.token), body: (seq: number, t: number) => messageBody(seq, t, payloadBytes), okStatus: [202] };
  // Warm-up (JIT, connections), not counted: 1 s at the idle rate, then let it drain.
  const warm = await load.openLoop(spec, { rate: Math.min(rate, ctx.options.idleRate), durationMs: 1000 });
  await receiver.waitForDistinct(warm.acceptedSeqs.length, { timeoutMs: 15_000 });
  await sleep(200);
  await receiver.reset({ latency: true });
  const sent = await load.openLoop(spec, { rate, durationMs });
  await load.close();
  const received = await receiver.waitForDistinct(sent.acceptedSeqs.length, { timeoutMs: 60_000, stallMs: 15_000 });
  const arrivals = await receiver.latencies();
  const accepted = new Set(sent.acceptedSeqs);
  const { latencies, missing } = arrivalsOf(sent.acceptedSeqs, arrivals);
  let deliveredNotAccepted = 0;
  for (const seq of arrivals.keys()) if (!accepted.has(seq)) deliveredNotAccepted++;
  const ledger = {
    published: sent.acceptedSeqs.length,
    delivered: latencies.length,
    missing,
    duplicates: received.duplicates,
    rejected: sent.rejectedSeqs.length,
    deliveredButNotAccepted: deliveredNotAccepted,
  };
  const notes = [
    `ledger: published ${ledger.published} = delivered ${ledger.delivered} + missing ${ledger.missing} ${ledger.published === ledger.delivered + ledger.missing ? '(ok)' : '(MISMATCH)'}; duplicates ${ledger.duplicates}; rejected ${ledger.rejected}`,
    `ingest (202) latency from scheduled send: p50 ${sent.latency?.p50.toFixed(2)} ms, p99 ${sent.latency?.p99.toFixed(2)} ms, max ${sent.latency?.max.toFixed(1)} ms; generator send lag p99 ${sent.sendLagP99.toFixed(2)} ms, max ${sent.sendLagMax.toFixed(1)} ms`,
  ];
  if (missing > 0) notes.push(`MISSING: ${missing} accepted messages never arrived (${received.reason})`);
  return {
    latency: summarize(latencies),
    ledger,
    notes,
    details: { ledger, ingestLatency: sent.latency, sendLagP99: sent.sendLagP99, sendLagMax: sent.sendLagMax, statuses: sent.statuses, errors: sent.errors },
  };
}

/** The e2e latency of each accepted message that arrived, and how many accepted messages never did. */
export function arrivalsOf(acceptedSeqs: readonly number[], arrivals: ReadonlyMap<number, number>): { latencies: number[]; missing: number } {
  const latencies: number[] = [];
  let missing = 0;
  for (const seq of acceptedSeqs) {
    const latency = arrivals.get(seq);
    if (latency === undefined) missing++;
    else latencies.push(latency);
  }
  return { latencies, missing };
}
