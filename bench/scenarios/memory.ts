import { drainBacklog, drainNotes } from '../lib/drain.js';
import { effectiveConfig } from '../lib/hookd.js';
import { ReceiverProcess } from '../lib/receiver.js';
import { MB } from '../lib/rss.js';
import type { ResultRow } from '../lib/report.js';
import { perMode, withDatabase, type ScenarioContext } from '../lib/scenario.js';
import { durabilityOf } from './conditions.js';

/**
 * Memory while draining a large backlog (default 1M deliveries = 100k messages x 10 endpoints on 10 receiver
 * ports), SQLite, `hookd start`: VmRSS of the hookd process every second, and the drain rate per tenth of the
 * backlog, to show both stay flat as the backlog shrinks. The figure is the peak RSS.
 */
export async function memory(ctx: ScenarioContext): Promise<ResultRow[]> {
  return perMode(ctx, ['sqlite'], () => row, () => withDatabase(ctx, 'sqlite', 'memory', (database) => measure(ctx, database)));
}

const row = { id: 'memory.sqlite', label: 'hookd RSS draining backlog, sqlite', unit: 'MB peak' };

async function measure(ctx: ScenarioContext, database: Parameters<typeof effectiveConfig>[0]): Promise<ResultRow> {
  const { memoryBacklog, memoryEndpoints, payloadBytes } = ctx.options;
  const receiver = await ReceiverProcess.start(memoryEndpoints);
  try {
    const drain = await drainBacklog({
      database,
      role: 'start',
      receiver,
      endpointUrls: receiver.urls,
      messages: Math.ceil(memoryBacklog / memoryEndpoints),
      log: ctx.log,
      profileDir: ctx.profileDir('memory-sqlite'),
    });
    // Tenth k spans from the time the (k-1)th tenth was reached (hookd's spawn for the first) to the kth.
    const tenths: { tenth: number; dlvPerS: number; rssMaxMb: number | null; rssMeanMb: number | null }[] = [];
    let from = drain.spawnedAt;
    let fromCount = 0;
    for (const [count, at] of drain.received.marks) {
      const samples = drain.rss.between(from, at).map((s) => s.rssBytes / MB);
      tenths.push({
        tenth: tenths.length + 1,
        dlvPerS: (count - fromCount) / ((at - from) / 1000),
        rssMaxMb: samples.length > 0 ? Math.max(...samples) : null,
        rssMeanMb: samples.length > 0 ? samples.reduce((a, b) => a + b, 0) / samples.length : null,
      });
      from = at;
      fromCount = count;
    }
    const fmt = (v: number | null, digits = 0): string => (v === null ? '-' : v.toFixed(digits));
    const notes = [
      `per tenth of the backlog (1st includes start-up):  ${tenths.map((t) => `${t.tenth}: ${fmt(t.dlvPerS)}/s ${fmt(t.rssMaxMb)}MB`).join(' | ')}`,
      ...drainNotes(drain),
    ];
    const first = tenths[1] ?? tenths[0];
    const last = tenths.at(-1);
    const config = effectiveConfig(database).delivery;
    return {
      ...row,
      value: drain.rss.peakBytes() / MB,
      conditions: {
        hookd: 'start',
        durability: await durabilityOf('sqlite', ctx),
        backlog: drain.expected,
        messages: drain.preload.messages,
        endpoints: memoryEndpoints,
        payload_bytes: payloadBytes,
        delivered: drain.received.distinct,
        drain_dlv_s: Math.round(drain.rateFromSpawn),
        rss_sampled_every_s: 1,
        rss_max_mb_tenth2_vs_last: `${fmt(first?.rssMaxMb ?? null)} -> ${fmt(last?.rssMaxMb ?? null)}`,
        rate_tenth2_vs_last: `${fmt(first?.dlvPerS ?? null)} -> ${fmt(last?.dlvPerS ?? null)}`,
        worker_concurrency: config.concurrency,
        connections_per_origin: config.connectionsPerOrigin,
      },
      details: {
        tenths,
        preloadMs: drain.preload.elapsedMs,
        receiver: drain.received,
        databaseCounts: drain.databaseCounts,
        rssSamples: drain.rss.samples.map((s) => ({ tS: Number(((s.at - drain.spawnedAt) / 1000).toFixed(1)), mb: Number((s.rssBytes / MB).toFixed(1)) })),
      },
      notes,
    };
  } finally {
    await receiver.stop();
  }
}
