/**
 * hookd benchmark harness (issue 5): `npm run bench -- [--quick] [--only a,b] [--backlog N] [--duration S]`.
 * Runs the scenarios in bench/scenarios one after another on this machine, prints a table to stdout (progress
 * goes to stderr) and writes the same data to bench/results/<ISO timestamp>.json. See bench/README.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadDist } from './lib/dist.js';
import { probeFsync } from './lib/fsync-probe.js';
import { effectiveConfig } from './lib/hookd.js';
import { parseOptions, USAGE, type BenchOptions, type ScenarioName } from './lib/options.js';
import { startPostgres, type PostgresServer } from './lib/postgres.js';
import { BENCH_DIR, installCleanupHandlers, ROOT } from './lib/processes.js';
import { renderProfile, summarizeProfiles } from './lib/profile.js';
import { evaluate, renderComparison, renderTable, writeJson, type ResultRow, type RunReport } from './lib/report.js';
import { PostgresUnavailable, type Scenario, type ScenarioContext } from './lib/scenario.js';
import { ceilings } from './scenarios/ceilings.js';
import { delivery } from './scenarios/delivery.js';
import { e2e } from './scenarios/e2e.js';
import { fanout } from './scenarios/fanout.js';
import { ingest } from './scenarios/ingest.js';
import { isolation } from './scenarios/isolation.js';
import { sustained } from './scenarios/sustained.js';
import { memory } from './scenarios/memory.js';
import { naive } from './scenarios/naive.js';

const SCENARIO_RUNNERS: Record<ScenarioName, Scenario> = { ceilings, naive, ingest, delivery, fanout, e2e, isolation, sustained, memory };

const log = (line: string): void => void process.stderr.write(`${line}\n`);

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function environment(options: BenchOptions): Record<string, unknown> {
  const config = effectiveConfig({ kind: 'sqlite', path: join(ROOT, 'unused.db') });
  const dirty = git(['status', '--porcelain']);
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    availableParallelism: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Number((totalmem() / 1024 ** 3).toFixed(1)),
    loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))),
    gitCommit: git(['rev-parse', '--short', 'HEAD']),
    gitChangedFiles: dirty === null ? null : dirty.split('\n').filter((l) => l.length > 0).length,
    hookdRunAs: 'node dist/cli.js <role> (built by npm run build), one process per role',
    hookdConfig: {
      HOOKD_LOG_LEVEL: config.logLevel,
      HOOKD_WORKER_BATCH: config.delivery.batchSize,
      HOOKD_WORKER_CONCURRENCY: config.delivery.concurrency,
      HOOKD_CONNECTIONS_PER_ORIGIN: config.delivery.connectionsPerOrigin,
      HOOKD_INGEST_MAX_BATCH: config.ingestMaxBatch,
      HOOKD_PG_POOL_SIZE: 10,
      HOOKD_POLL_INTERVAL: `${config.delivery.pollIntervalMs}ms`,
      HOOKD_SSRF_ALLOW: config.delivery.ssrfAllow.join(','),
    },
    sqlite: 'journal_mode=WAL, every durable commit fsynced (hookd: the WAL fsynced after the write lock is released; the naive baseline: synchronous=FULL)',
    tempDisk: probeFsync(),
    loadGenerator: `undici Pool, closed loop (${options.concurrency} workers) for throughput, open model for latency`,
    payloadBytes: options.payloadBytes,
  };
}

function build(): void {
  log('building dist/ (npm run build)...');
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    log('bench: npm run build failed; fix the build, or benchmark the existing dist/ with --no-build');
    process.exit(1);
  }
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    log(`bench: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (options.compare && !existsSync(options.compare)) {
    log(`bench: --compare ${options.compare}: no such file (an earlier run's bench/results/<timestamp>.json)`);
    return 2;
  }
  installCleanupHandlers();
  const startedAt = new Date().toISOString();
  const resultsDir = join(BENCH_DIR, 'results');
  const profileRoot = options.profile ? join(resultsDir, 'profiles', startedAt.replace(/[:.]/g, '-')) : null;
  if (options.build) build();
  await loadDist();
  const env = environment(options);
  log(`hookd bench (${options.quick ? 'quick' : 'full'}): ${options.scenarios.join(', ')}; modes ${options.modes.join(', ')}; node ${env.node}, ${env.cpus} CPUs, load ${String(env.loadAverageAtStart)}`);

  let postgres: Promise<PostgresServer> | null = null;
  const ctx: ScenarioContext = {
    options,
    log,
    postgres: () => {
      postgres ??= (async () => {
        log('  starting PostgreSQL (fsync=on, synchronous_commit=on)...');
        try {
          const server = await startPostgres();
          log(`  PostgreSQL ${server.settings.server_version} (${server.origin}): fsync=${server.settings.fsync}, synchronous_commit=${server.settings.synchronous_commit}`);
          return server;
        } catch (error) {
          throw new PostgresUnavailable(`PostgreSQL could not be started: ${(error as Error).message.split('\n')[0]}`);
        }
      })();
      return postgres;
    },
    profileDir: (scenario) => {
      if (!profileRoot) return null;
      const dir = join(profileRoot, scenario);
      mkdirSync(dir, { recursive: true });
      return dir;
    },
  };

  const rows: ResultRow[] = [];
  for (const name of options.scenarios) {
    log(`\n== ${name}`);
    const started = Date.now();
    rows.push(...(await SCENARIO_RUNNERS[name](ctx)));
    log(`   (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }

  const pg = postgres ? await (postgres as Promise<PostgresServer>).catch(() => null) : null;
  if (pg) {
    env.postgres = { origin: pg.origin, ...pg.settings };
    pg.stop();
  }
  env.loadAverageAtEnd = loadavg().map((l) => Number(l.toFixed(2)));
  evaluate(rows);

  const profiles = profileRoot ? summarizeProfiles(profileRoot) : [];
  const report = { startedAt, finishedAt: new Date().toISOString(), options, environment: env, rows, ...(profiles.length > 0 ? { profiles } : {}) };
  const path = writeJson(resultsDir, report);

  console.log(`\nhookd bench ${options.quick ? '(quick) ' : ''}${startedAt}: node ${env.node}, ${env.cpus} x ${env.cpuModel}, load ${String(env.loadAverageAtStart)} -> ${String(env.loadAverageAtEnd)}, git ${env.gitCommit}${env.gitChangedFiles ? ` + ${env.gitChangedFiles} changed files` : ''}`);
  console.log(`hookd config: ${Object.entries(env.hookdConfig as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);
  const disk = env.tempDisk as ReturnType<typeof probeFsync>;
  console.log(`temp dir disk: ${disk.filesystem}; 4 KB append + fdatasync p50 ${disk.fdatasyncP50Ms} ms, p99 ${disk.fdatasyncP99Ms} ms`);
  if (pg) console.log(`PostgreSQL ${pg.settings.server_version}: fsync=${pg.settings.fsync} synchronous_commit=${pg.settings.synchronous_commit} full_page_writes=${pg.settings.full_page_writes} shared_buffers=${pg.settings.shared_buffers}`);
  console.log('');
  console.log(renderTable(rows));
  const checks = rows.flatMap((r) => r.checks ?? []);
  console.log(`\ntargets: ${checks.filter((c) => c.pass).length} pass, ${checks.filter((c) => !c.pass).length} miss; ${rows.filter((r) => r.error).length} errors, ${rows.filter((r) => r.skipped).length} skipped`);
  if (options.compare) {
    const before = JSON.parse(readFileSync(options.compare, 'utf8')) as RunReport;
    console.log(`\n${renderComparison(rows, before, options.compare)}`);
  }
  for (const profile of profiles) console.log(`\n${renderProfile(profile)}`);
  console.log(`\nJSON: ${path}`);
  return rows.some((r) => r.error) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`bench: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
