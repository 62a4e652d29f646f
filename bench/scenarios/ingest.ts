import { effectiveConfig, HookdApi, ingestRequest, startHookd } from '../lib/hookd.js';
import { LoadGenerator, measureThroughput } from '../lib/load.js';
import type { Mode } from '../lib/options.js';
import { messageBody } from '../lib/payload.js';
import { databaseCounts } from '../lib/preload.js';
import { sleep } from '../lib/clock.js';
import { rssOf } from '../lib/processes.js';
import { MB, RssSampler } from '../lib/rss.js';
import type { ResultRow } from '../lib/report.js';
import { perMode, withDatabase, type ScenarioContext } from '../lib/scenario.js';
import { durabilityOf } from './conditions.js';

/**
 * hookd ingest: accepted (202 = durably committed) messages/s of 1 KB at `concurrency` closed-loop workers,
 * POST /api/v1/app/{app}/msg with a bearer token. The app has no endpoints, so each message is one message row
 * and no delivery competes: on SQLite `hookd start` (its worker idles), on PostgreSQL `hookd serve` (no worker).
 * Afterwards the database is checked to hold at least every accepted message.
 *
 * Memory (issue 15), embedded hookd: the RSS of `hookd start` at rest (its own threads included, an empty database,
 * REST_MS after it answered; V8 gives the start-up's young generation back about 20 s in) and its peak during the
 * load, as rows of their own.
 */
export async function ingest(ctx: ScenarioContext): Promise<ResultRow[]> {
  const memory: ResultRow[] = [];
  const rows = await perMode(ctx, ['sqlite', 'postgres'], rowOf, (mode) => withDatabase(ctx, mode, 'ingest', (database) => measure(ctx, mode, database, memory)));
  return [...rows, ...memory];
}

/** How long hookd start runs without traffic before its RSS counts as "at rest". */
const REST_MS = 30_000;

const rowOf = (mode: Mode): { id: string; label: string; unit: string } => ({ id: `ingest.${mode}`, label: `hookd ingest, ${mode}`, unit: 'msg/s' });

async function measure(ctx: ScenarioContext, mode: Mode, database: Parameters<typeof effectiveConfig>[0], memory: ResultRow[]): Promise<ResultRow> {
  const { concurrency, warmupMs, durationMs, payloadBytes } = ctx.options;
  const role = mode === 'sqlite' ? 'start' : 'serve';
  const hookd = await startHookd({ role, database, profileDir: ctx.profileDir(`ingest-${mode}`) });
  let result;
  try {
    // Memory is measured for embedded hookd only: at rest first, then while the load runs.
    const embedded = mode === 'sqlite';
    let restMb: number | null = null;
    if (embedded) {
      await sleep(REST_MS);
      const rss = await rssOf(hookd.pid);
      restMb = rss ? rss.rss / MB : null;
    }
    const api = new HookdApi(hookd.url!, hookd.token);
    await api.createApp('bench-ingest');
    const request = ingestRequest('bench-ingest', hookd.token);
    const load = new LoadGenerator(hookd.url!, concurrency);
    const sampler = embedded ? new RssSampler(hookd.pid, 250) : null;
    result = await measureThroughput(load, { ...request, body: (seq, t) => messageBody(seq, t, payloadBytes), okStatus: [202] }, { concurrency, warmupMs, durationMs });
    await sampler?.stop();
    await load.close();
    if (sampler) {
      const conditions = { hookd: 'start (API and ingest commits + delivery thread, one process)', note: 'VmRSS of the whole process' };
      memory.push(
        { id: 'rss-rest.sqlite', label: `hookd start RSS at rest (${REST_MS / 1000} s after start, empty database)`, unit: 'MB', value: restMb, conditions },
        { id: 'rss-ingest.sqlite', label: 'hookd start RSS during the ingest scenario (peak)', unit: 'MB peak', value: sampler.peakBytes() / MB, conditions: { ...conditions, concurrency, payload_bytes: payloadBytes } },
      );
    }
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
