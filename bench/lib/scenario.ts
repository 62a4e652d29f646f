import { join } from 'node:path';
import type { Database } from './hookd.js';
import type { BenchOptions, Mode } from './options.js';
import type { PostgresServer } from './postgres.js';
import { freshDatabase } from './postgres.js';
import { removeTempDir, tempDir } from './processes.js';
import type { ResultRow } from './report.js';

/** What every scenario gets from the runner. */
export interface ScenarioContext {
  options: BenchOptions;
  log(line: string): void;
  /** The PostgreSQL server of the run, started on first use; throws PostgresUnavailable when it cannot be had. */
  postgres(): Promise<PostgresServer>;
  /** Where hookd processes write CPU profiles (--profile), per scenario; null when not profiling. */
  profileDir(scenario: string): string | null;
}

export type Scenario = (ctx: ScenarioContext) => Promise<ResultRow[]>;

export class PostgresUnavailable extends Error {
  override readonly name = 'PostgresUnavailable';
}

/** Runs `work` on a fresh database of `mode` (a temp SQLite file, or a new PostgreSQL database) and removes it after. */
export async function withDatabase<T>(ctx: ScenarioContext, mode: Mode, name: string, work: (database: Database) => Promise<T>): Promise<T> {
  if (mode === 'sqlite') {
    const dir = tempDir(name);
    try {
      return await work({ kind: 'sqlite', path: join(dir, 'hookd.db') });
    } finally {
      removeTempDir(dir);
    }
  }
  const server = await ctx.postgres();
  const database = await freshDatabase(server.url, name.replace(/[^a-z0-9_]/g, '_'));
  try {
    return await work({ kind: 'postgres', url: database.url });
  } finally {
    await database.drop().catch((error: unknown) => ctx.log(`  could not drop ${name}'s database: ${(error as Error).message}`));
  }
}

/**
 * Runs one measurement per selected mode. A mode that cannot run (PostgreSQL unavailable) becomes a skipped row
 * with the reason; a measurement that fails becomes an error row: the rest of the run goes on.
 */
export async function perMode(
  ctx: ScenarioContext,
  modes: readonly Mode[],
  rowFor: (mode: Mode) => { id: string; label: string; unit: string },
  measure: (mode: Mode) => Promise<ResultRow>,
): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const mode of modes.filter((m) => ctx.options.modes.includes(m))) {
    rows.push(await guarded(ctx, rowFor(mode), () => measure(mode)));
  }
  return rows;
}

export async function guarded(ctx: ScenarioContext, row: { id: string; label: string; unit: string }, measure: () => Promise<ResultRow>): Promise<ResultRow> {
  ctx.log(`- ${row.label}`);
  try {
    return await measure();
  } catch (error) {
    if (error instanceof PostgresUnavailable) {
      ctx.log(`  skipped: ${error.message}`);
      return { ...row, value: null, conditions: {}, skipped: error.message };
    }
    ctx.log(`  FAILED: ${(error as Error).stack ?? String(error)}`);
    return { ...row, value: null, conditions: {}, error: (error as Error).message.split('\n')[0] };
  }
}
