import { Pool } from 'undici';
import { now, sleep } from './clock.js';
import { Samples, summarize, type LatencySummary } from './stats.js';

/**
 * The one load generator of the bench, used alike for the ceilings, hookd and the naive baseline: an undici Pool
 * of `connections` keep-alive connections to one origin, driven either closed-loop (N workers, each sending its
 * next request when the previous answered: throughput) or open-loop (requests at fixed scheduled times, whatever
 * the answers: latency without coordinated omission, since each latency counts from the scheduled time).
 */

export interface RequestSpec {
  path: string;
  headers: Record<string, string>;
  /** Body for request `seq` scheduled at `scheduledAt` (epoch ms). */
  body: (seq: number, scheduledAt: number) => string;
  /** Also send the seq as this header (the delivery ceiling sends `webhook-id` like hookd does). */
  seqHeader?: string;
  /** Statuses that count as success (e.g. [202]). */
  okStatus: number[];
}

export interface LoadResult {
  /** Requests sent during the measured window. */
  sent: number;
  ok: number;
  failed: number;
  /** Successful requests per second over the measured window. */
  throughput: number;
  elapsedMs: number;
  /** Latency of successful requests (ms); from the scheduled time in open-loop runs. */
  latency: LatencySummary | null;
  statuses: Record<string, number>;
  errors: Record<string, number>;
}

export interface OpenLoopResult extends LoadResult {
  /** Seqs whose request succeeded (e.g. 202: accepted by hookd). */
  acceptedSeqs: number[];
  /** Seqs whose request failed or got another status. */
  rejectedSeqs: number[];
  /** How late (ms) the generator itself issued requests behind schedule: p99 and max. */
  sendLagP99: number;
  sendLagMax: number;
  firstScheduledAt: number;
  lastScheduledAt: number;
}

export class LoadGenerator {
  readonly pool: Pool;
  private seq = 0;

  constructor(
    readonly origin: string,
    readonly connections: number,
  ) {
    this.pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
  }

  /** Next free seq (unique across all runs of this generator, warm-ups included). */
  nextSeq(): number {
    return this.seq++;
  }

  private async send(spec: RequestSpec, seq: number, scheduledAt: number): Promise<{ status: number } | { error: string }> {
    const headers = spec.seqHeader ? { ...spec.headers, [spec.seqHeader]: String(seq) } : spec.headers;
    try {
      const response = await this.pool.request({ method: 'POST', path: spec.path, headers, body: spec.body(seq, scheduledAt) });
      await response.body.dump();
      return { status: response.statusCode };
    } catch (error) {
      return { error: (error as { code?: string }).code ?? (error as Error).name };
    }
  }

  /**
   * `concurrency` workers in a closed loop for `durationMs` or until `total` requests were sent (whichever
   * comes first; give one). Workers beyond `connections` wait in the pool's queue, as a real client's would.
   */
  async closedLoop(spec: RequestSpec, options: { concurrency: number; durationMs?: number; total?: number }): Promise<LoadResult> {
    const latencies = new Samples();
    const statuses: Record<string, number> = {};
    const errors: Record<string, number> = {};
    let sent = 0;
    let ok = 0;
    const started = now();
    const deadline = options.durationMs === undefined ? Infinity : started + options.durationMs;
    const total = options.total ?? Infinity;
    const worker = async (): Promise<void> => {
      while (sent < total && now() < deadline) {
        sent++;
        const seq = this.nextSeq();
        const t0 = now();
        const result = await this.send(spec, seq, t0);
        if ('error' in result) {
          errors[result.error] = (errors[result.error] ?? 0) + 1;
          await sleep(5); // a refused connection must not spin the loop
          continue;
        }
        statuses[result.status] = (statuses[result.status] ?? 0) + 1;
        if (spec.okStatus.includes(result.status)) {
          ok++;
          latencies.push(now() - t0);
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const elapsedMs = now() - started;
    return { sent, ok, failed: sent - ok, throughput: (ok / elapsedMs) * 1000, elapsedMs, latency: summarize(latencies.values()), statuses, errors };
  }

  /**
   * Open model: request i is scheduled at start + i / rate and sent then, whether or not earlier ones have been
   * answered; latency is measured from the scheduled time, so a stall shows up in full.
   */
  async openLoop(spec: RequestSpec, options: { rate: number; durationMs: number }): Promise<OpenLoopResult> {
    const count = Math.max(1, Math.round((options.rate * options.durationMs) / 1000));
    const interval = 1000 / options.rate;
    const latencies = new Samples();
    const lags = new Samples();
    const statuses: Record<string, number> = {};
    const errors: Record<string, number> = {};
    const acceptedSeqs: number[] = [];
    const rejectedSeqs: number[] = [];
    const inFlight: Promise<void>[] = [];
    const start = now() + 20;
    for (let i = 0; i < count; i++) {
      const scheduledAt = start + i * interval;
      const wait = scheduledAt - now();
      if (wait > 0) await sleep(wait);
      lags.push(Math.max(0, now() - scheduledAt));
      const seq = this.nextSeq();
      inFlight.push(
        this.send(spec, seq, scheduledAt).then((result) => {
          if ('error' in result) {
            errors[result.error] = (errors[result.error] ?? 0) + 1;
            rejectedSeqs.push(seq);
            return;
          }
          statuses[result.status] = (statuses[result.status] ?? 0) + 1;
          if (spec.okStatus.includes(result.status)) {
            acceptedSeqs.push(seq);
            latencies.push(now() - scheduledAt);
          } else rejectedSeqs.push(seq);
        }),
      );
    }
    await Promise.all(inFlight);
    const elapsedMs = now() - start;
    const lag = summarize(lags.values());
    return {
      sent: count,
      ok: acceptedSeqs.length,
      failed: rejectedSeqs.length,
      throughput: (acceptedSeqs.length / elapsedMs) * 1000,
      elapsedMs,
      latency: summarize(latencies.values()),
      statuses,
      errors,
      acceptedSeqs,
      rejectedSeqs,
      sendLagP99: lag?.p99 ?? 0,
      sendLagMax: lag?.max ?? 0,
      firstScheduledAt: start,
      lastScheduledAt: start + (count - 1) * interval,
    };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** A warm-up run (discarded: JIT, connections) then the measured closed-loop run. */
export async function measureThroughput(
  load: LoadGenerator,
  spec: RequestSpec,
  options: { concurrency: number; warmupMs: number; durationMs: number },
): Promise<LoadResult & { warmupOk: number }> {
  const warmup = options.warmupMs > 0 ? await load.closedLoop(spec, { concurrency: options.concurrency, durationMs: options.warmupMs }) : null;
  const result = await load.closedLoop(spec, { concurrency: options.concurrency, durationMs: options.durationMs });
  return { ...result, warmupOk: warmup?.ok ?? 0 };
}

/** Describes a load result's failures for a row's details (empty objects when all went well). */
export function failures(result: LoadResult): { statuses: Record<string, number>; errors: Record<string, number> } {
  return { statuses: result.statuses, errors: result.errors };
}
