import { effectiveConfig, HookdApi, ingestRequest, startHookd } from '../lib/hookd.js';
import { LoadGenerator, measureThroughput } from '../lib/load.js';
import type { Mode } from '../lib/options.js';
import { messageBody } from '../lib/payload.js';
import { databaseCounts } from '../lib/preload.js';
import type { ResultRow } from '../lib/report.js';
import { perMode, withDatabase, type ScenarioContext } from '../lib/scenario.js';
import { durabilityOf } from './conditions.js';

/**
 * hookd ingest: accepted (202 = durably committed) messages/s of 1 KB at `concurrency` closed-loop workers,
 * POST /api/v1/app/{app}/msg with a bearer token. The app has no endpoints, so each message is one message row
 * and no delivery competes: on SQLite `hookd start` (its worker idles), on PostgreSQL `hookd serve` (no worker).
 * Afterwards the database is checked to hold at least every accepted message.
 */
export async function ingest(ctx: ScenarioContext): Promise<ResultRow[]> {
  return perMode(ctx, ['sqlite', 'postgres'], rowOf, (mode) => withDatabase(ctx, mode, 'ingest', (database) => measure(ctx, mode, database)));
}

const rowOf = (mode: Mode): { id: string; label: string; unit: string } => ({ id: `ingest.${mode}`, label: `hookd ingest, ${mode}`, unit: 'msg/s' });

async function measure(ctx: ScenarioContext, mode: Mode, database: Parameters<typeof effectiveConfig>[0]): Promise<ResultRow> {
  const { concurrency, warmupMs, durationMs, payloadBytes } = ctx.options;
  const role = mode === 'sqlite' ? 'start' : 'serve';
  const hookd = await startHookd({ role, database, profileDir: ctx.profileDir(`ingest-${mode}`) });
  let result;
  try {
    const api = new HookdApi(hookd.url!, hookd.token);
    await api.createApp('bench-ingest');
    const request = ingestRequest('bench-ingest', hookd.token);
    const load = new LoadGenerator(hookd.url!, concurrency);
    result = await measureThroughput(load, { ...request, body: (seq, t) => messageBody(seq, t, payloadBytes), okStatus: [202] }, { concurrency, warmupMs, durationMs });
    await load.close();
  } finally {
    await hookd.stop();
  }
  const counts = await databaseCounts(database);
  const accepted = result.ok + result.warmupOk;
  const config = effectiveConfig(database);
  return {
    ...rowOf(mode),
    value: result.throughput,
    latency: result.latency,
    conditions: {
      hookd: `${role} (${mode === 'sqlite' ? 'worker idle: app has no endpoints' : 'API only, no worker'})`,
      endpoints: 0,
      durability: await durabilityOf(mode, ctx),
      concurrency,
      connections: concurrency,
      payload_bytes: payloadBytes,
      duration_s: durationMs / 1000,
      warmup_s: warmupMs / 1000,
      accepted: result.ok,
      stored_incl_warmup: `${counts.messages ?? 0} of ${accepted} accepted`,
      ingest_max_batch: config.ingestMaxBatch,
      ...(config.database.kind === 'postgres' ? { pg_pool: config.database.poolSize } : {}),
    },
    details: { statuses: result.statuses, errors: result.errors, acceptedIncludingWarmup: accepted, databaseCounts: counts },
    notes: (counts.messages ?? 0) >= accepted ? [] : [`LEDGER: ${accepted} messages accepted (202) but ${counts.messages} stored`],
  };
}
