// Builds the dashboard bundle (dashboard/ -> dist/dashboard/ui) when it is missing or older than its sources.
// `npm run build` always builds it; tests run src/ through tsx, so they call this first (scripts/run-tests.mjs
// once per run, and the dashboard tests again in case they are run on their own).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DASHBOARD_SOURCE = join(repo, 'dashboard');
export const DASHBOARD_BUNDLE = join(repo, 'dist', 'dashboard', 'ui');

function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  // A directory's own mtime counts too: it changes when a file is added, removed or renamed.
  const entries = readdirSync(path).filter((name) => name !== 'node_modules');
  return Math.max(stat.mtimeMs, ...entries.map((name) => newestMtime(join(path, name))));
}

/** Why the bundle must be (re)built, or null when it is current. */
export function dashboardBuildReason() {
  const index = join(DASHBOARD_BUNDLE, 'index.html');
  if (!existsSync(index)) return 'the bundle is missing';
  if (newestMtime(DASHBOARD_SOURCE) > statSync(index).mtimeMs) return 'its sources changed';
  return null;
}

/** Builds the bundle with Vite unless it is current; throws when the build fails. */
export function ensureDashboardBuilt({ log = console.log } = {}) {
  const reason = dashboardBuildReason();
  if (!reason) return false;
  log(`building the dashboard (${reason}): vite build --config dashboard/vite.config.ts`);
  const vite = join(repo, 'node_modules', 'vite', 'bin', 'vite.js');
  if (!existsSync(vite)) throw new Error('vite is not installed: run `npm install`');
  const result = spawnSync(process.execPath, [vite, 'build', '--config', join(DASHBOARD_SOURCE, 'vite.config.ts')], { cwd: repo, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`the dashboard build failed (exit ${result.status ?? result.signal})`);
  return true;
}
