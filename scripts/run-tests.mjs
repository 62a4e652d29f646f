#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [--unit] [path-filter...]
//   --unit: skip *.e2e.test.ts (whole-process tests).
// PostgreSQL tests use HOOKD_TEST_DATABASE_URL when set; otherwise a throwaway server is started here
// (and stopped afterwards), so they always run. The dashboard bundle is built first when missing or stale
// (tests run src/ through tsx, which serves dist/dashboard/ui), and the dashboard browser tests get Debian's
// chromium (installed with apt-get when missing and we are root; otherwise a clear failure, never a skip).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureChromium } from './chromium.mjs';
import { ensureDashboardBuilt } from './dashboard-build.mjs';
import { startThrowawayPostgres } from './test-postgres.mjs';

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => !a.startsWith('--'));

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return find(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = find('test')
  .filter((f) => !(unitOnly && f.endsWith('.e2e.test.ts')))
  .filter((f) => filters.length === 0 || filters.some((filter) => f.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
ensureDashboardBuilt();
if (files.some((f) => f.startsWith(join('test', 'dashboard')) && f.endsWith('.e2e.test.ts'))) ensureChromium();
let databaseUrl = process.env.HOOKD_TEST_DATABASE_URL;
let postgres = null;
if (!databaseUrl) {
  postgres = await startThrowawayPostgres();
  databaseUrl = postgres.url;
  console.log(`started a throwaway PostgreSQL for the tests at ${databaseUrl}`);
} else {
  console.log('PostgreSQL tests use HOOKD_TEST_DATABASE_URL');
}
console.log(`running ${files.length} test files: ${files.map((f) => relative('test', f)).join(', ')}`);
let status = 1;
try {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=300000', ...files],
    { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test', HOOKD_TEST_DATABASE_URL: databaseUrl } },
  );
  status = result.status ?? 1;
} finally {
  postgres?.stop();
}
process.exit(status);
