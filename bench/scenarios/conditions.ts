import type { Mode } from '../lib/options.js';
import type { ScenarioContext } from '../lib/scenario.js';

/** The durability settings a figure was taken under (PostgreSQL: as the server reports them), for its conditions. */
export async function durabilityOf(mode: Mode, ctx: ScenarioContext): Promise<string> {
  if (mode === 'sqlite') return 'SQLite WAL, each full commit fsynced (outside the write lock)';
  const { settings } = await ctx.postgres();
  return `PostgreSQL fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}`;
}
