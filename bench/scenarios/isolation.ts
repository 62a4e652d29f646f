import { sleep } from '../lib/clock.js';
import { startDeployment } from '../lib/deployment.js';
import { HookdApi, type Database } from '../lib/hookd.js';
import type { Mode } from '../lib/options.js';
import { databaseCounts, preloadBacklog } from '../lib/preload.js';
import { freePort } from '../lib/processes.js';
import { ReceiverProcess } from '../lib/receiver.js';
import type { ResultRow } from '../lib/report.js';
import { perMode, withDatabase, type ScenarioContext } from '../lib/scenario.js';
import { durabilityOf } from './conditions.js';
import { measureStream } from './e2e.js';

/**
 * Tenant isolation (issue 11): tenant B's end-to-end latency at a steady open-model rate, alone, and while tenant A's
 * endpoint is broken with a large backlog (pre-loaded through the Store API before hookd starts): A answers after
 * 2 s (slow), accepts connections and never answers (hang), or refuses connections (refuse). hookd runs with its
 * defaults (15 s request timeout, default retry schedule). Target: B's p99 with A's backlog <= 2 x B's p99 alone
 * + 50 ms.
 */
export type Misbehaviour = 'alone' | 'slow' | 'hang' | 'refuse';
const CASES: readonly Misbehaviour[] = ['alone', 'slow', 'hang', 'refuse'];

export async function isolation(ctx: ScenarioContext): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const kind of CASES) {
    rows.push(...(await perMode(ctx, ['sqlite', 'postgres'], (mode) => rowOf(ctx, kind, mode), (mode) => withDatabase(ctx, mode, `isolation_${kind}`, (db) => measure(ctx, mode, db, kind)))));
  }
  return rows;
}

function rowOf(ctx: ScenarioContext, kind: Misbehaviour, mode: Mode): { id: string; label: string; unit: string } {
  const what = kind === 'alone' ? 'alone' : `with A's ${ctx.options.isolationBacklog / 1000}k backlog, A ${kind === 'slow' ? 'answers in 2 s' : kind === 'hang' ? 'never answers' : 'refuses'}`;
  return { id: `isolation-${kind}.${mode}`, label: `B e2e @ ${ctx.options.isolationRate}/s ${what}, ${mode}`, unit: 'ms p99' };
}

async function measure(ctx: ScenarioContext, mode: Mode, database: Database, kind: Misbehaviour): Promise<ResultRow> {
  const backlog = kind === 'alone' ? 0 : ctx.options.isolationBacklog;
  const b = await ReceiverProcess.start(1);
  const a = kind === 'slow' || kind === 'hang' ? await ReceiverProcess.start(1, kind) : null;
  try {
    const aUrl = a ? a.urls[0]! : `http://127.0.0.1:${await freePort()}`;
    if (backlog > 0) {
      ctx.log(`  pre-loading A's backlog of ${backlog} (${kind})...`);
      await preloadBacklog(database, { endpointUrls: [aUrl], messages: backlog });
    }
    const hookd = await startDeployment(mode, database, ctx.profileDir(`isolation-${kind}-${mode}`));
    try {
      const api = new HookdApi(hookd.api.url!, hookd.api.token);
      await api.createApp('bench-b');
      await api.createEndpoint('bench-b', b.urls[0]!);
      // A's backlog is being worked on (and its circuit opening) before B is measured.
      await sleep(2000);
      const stream = await measureStream(ctx, hookd, b, 'bench-b', ctx.options.isolationRate);
      const aReceived = a ? (await a.stats()).distinct : 0;
      const counts = await databaseCounts(database);
      return {
        ...rowOf(ctx, kind, mode),
        value: stream.latency?.p99 ?? null,
        latency: stream.latency,
        conditions: {
          hookd: hookd.description,
          durability: await durabilityOf(mode, ctx),
          b_rate_msg_s: ctx.options.isolationRate,
          duration_s: ctx.options.durationMs / 1000,
          a_backlog: backlog,
          a_endpoint: kind === 'alone' ? 'none' : kind,
          a_requests_received: aReceived,
          pending_deliveries_at_end: counts.pending ?? 0,
          published: stream.ledger.published,
          missing: stream.ledger.missing,
          request_timeout: '15s (default)',
        },
        details: { ...stream.details, databaseCounts: counts },
        notes: stream.notes,
      };
    } finally {
      await hookd.stop();
    }
  } finally {
    await b.stop();
    await a?.stop();
  }
}
