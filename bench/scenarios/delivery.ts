import { effectiveConfig } from '../lib/hookd.js';
import { drainBacklog, drainNotes } from '../lib/drain.js';
import type { Mode } from '../lib/options.js';
import { ReceiverProcess } from '../lib/receiver.js';
import { MB } from '../lib/rss.js';
import type { ResultRow } from '../lib/report.js';
import { perMode, withDatabase, type ScenarioContext } from '../lib/scenario.js';
import { durabilityOf } from './conditions.js';

/**
 * hookd delivery: a backlog of N due deliveries (1 KB, one endpoint) is pre-loaded with no hookd running, then
 * hookd starts (SQLite: `hookd start`; PostgreSQL: `hookd worker`) and is timed from its spawn until the receiver
 * (answering 200) has counted every delivery.
 */
export async function delivery(ctx: ScenarioContext): Promise<ResultRow[]> {
  return perMode(ctx, ['sqlite', 'postgres'], rowOf, (mode) => withDatabase(ctx, mode, 'delivery', (database) => measure(ctx, mode, database)));
}

const rowOf = (mode: Mode): { id: string; label: string; unit: string } => ({ id: `delivery.${mode}`, label: `hookd delivery from backlog, ${mode}`, unit: 'dlv/s' });

async function measure(ctx: ScenarioContext, mode: Mode, database: Parameters<typeof effectiveConfig>[0]): Promise<ResultRow> {
  const { deliveryBacklog, payloadBytes } = ctx.options;
  const role = mode === 'sqlite' ? 'start' : 'worker';
  const receiver = await ReceiverProcess.start(1);
  try {
    const drain = await drainBacklog({
      database,
      role,
      receiver,
      endpointUrls: receiver.urls.slice(0, 1),
      messages: deliveryBacklog,
      log: ctx.log,
      profileDir: ctx.profileDir(`delivery-${mode}`),
    });
    const config = effectiveConfig(database).delivery;
    return {
      ...rowOf(mode),
      value: drain.rateFromSpawn,
      conditions: {
        hookd: role,
        durability: await durabilityOf(mode, ctx),
        backlog: drain.expected,
        delivered: drain.received.distinct,
        endpoints: 1,
        payload_bytes: payloadBytes,
        timed_from: 'process spawn',
        worker_batch: config.batchSize,
        worker_concurrency: config.concurrency,
        connections_per_origin: config.connectionsPerOrigin,
        steady_dlv_s: Math.round(drain.steadyRate ?? 0),
        peak_rss_mb: Math.round(drain.rss.peakBytes() / MB),
      },
      details: {
        preloadMs: drain.preload.elapsedMs,
        startupMs: drain.received.firstAt === null ? null : drain.received.firstAt - drain.spawnedAt,
        receiver: drain.received,
        databaseCounts: drain.databaseCounts,
        rssSamplesMb: drain.rss.samples.map((s) => Math.round(s.rssBytes / MB)),
      },
      notes: drainNotes(drain),
    };
  } finally {
    await receiver.stop();
  }
}
