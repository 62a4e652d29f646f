import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LatencySummary } from './stats.js';

export type Conditions = Record<string, string | number | boolean>;

export interface Check {
  target: string;
  pass: boolean;
}

/** One figure of the run. */
export interface ResultRow {
  /** Stable key, e.g. "ingest.sqlite", "ceiling.ingest" (ratios and targets refer to these). */
  id: string;
  /** What was measured, for the table. */
  label: string;
  unit: string;
  value: number | null;
  /** Latency in ms (per request for ingest, scheduled-send -> receiver for e2e). */
  latency?: LatencySummary | null;
  conditions: Conditions;
  details?: Record<string, unknown>;
  /** Extra lines printed under the table (e.g. the memory scenario's per-tenth figures). */
  notes?: string[];
  ratios?: { ceiling?: number; naive?: number };
  checks?: Check[];
  /** Set when the figure could not be taken (e.g. PostgreSQL unavailable): the reason. */
  skipped?: string;
  error?: string;
}

/** Adds ratios to the ceilings and the naive baseline, and the targets of issue 5, to the rows that have them. */
export function evaluate(rows: ResultRow[]): void {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const valueOf = (id: string): number | null => {
    const row = byId.get(id);
    return row && !row.skipped && !row.error && row.value !== null && row.value > 0 ? row.value : null;
  };
  for (const row of rows) {
    if (row.value === null || row.skipped || row.error) continue;
    const [scenario] = row.id.split('.');
    if (scenario === 'ingest' || scenario === 'delivery') {
      const kind = scenario;
      const ceiling = valueOf(`ceiling.${kind}`);
      const naive = valueOf(`naive.${kind}`);
      const naiveFactor = kind === 'ingest' ? 5 : 10;
      row.ratios = {};
      row.checks = [];
      if (ceiling) {
        row.ratios.ceiling = row.value / ceiling;
        row.checks.push({ target: '>= 0.5 x ceiling', pass: row.value >= 0.5 * ceiling });
      }
      if (naive) {
        row.ratios.naive = row.value / naive;
        row.checks.push({ target: `>= ${naiveFactor} x naive`, pass: row.value >= naiveFactor * naive });
      }
    } else if (scenario === 'fanout') {
      const ceiling = valueOf('ceiling.delivery');
      const naive = valueOf('naive.delivery');
      row.ratios = {};
      if (ceiling) row.ratios.ceiling = row.value / ceiling;
      if (naive) row.ratios.naive = row.value / naive;
    } else if (scenario === 'e2e-idle' && row.latency) {
      row.checks = [{ target: 'p50 <= 10 ms', pass: row.latency.p50 <= 10 }];
    } else if (scenario === 'sustained' && row.value !== null) {
      // Issue 15: delivery keeps up with ingest at these rates on the 2-core development machine.
      const target = row.id.endsWith('.sqlite') ? 8000 : 4000;
      row.checks = [{ target: `>= ${target} msg/s`, pass: row.value >= target }];
    } else if (scenario === 'rss-rest' || scenario === 'rss-ingest') {
      // Issue 15: embedded hookd's memory.
      const limit = scenario === 'rss-rest' ? 90 : 120;
      row.checks = [{ target: `<= ${limit} MB`, pass: row.value <= limit }];
    } else if (scenario?.startsWith('isolation-') && scenario !== 'isolation-alone') {
      // Tenant isolation (issue 11): B's p99 beside a broken A with a backlog, against B's p99 alone.
      const mode = row.id.split('.')[1];
      const alone = valueOf(`isolation-alone.${mode}`);
      if (alone) {
        row.checks = [{ target: '<= 2 x alone + 50 ms', pass: row.value <= 2 * alone + 50 }];
        row.notes = [`B's p99 ${formatMs(row.value)} beside broken A vs ${formatMs(alone)} alone (${(row.value / alone).toFixed(2)} x)`, ...(row.notes ?? [])];
      }
    }
  }
}

const fmtInt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatNumber(value: number): string {
  return Math.abs(value) >= 100 ? fmtInt.format(value) : value.toFixed(Math.abs(value) >= 10 ? 1 : 2);
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  return ms >= 100 ? `${fmtInt.format(ms)} ms` : `${ms.toFixed(ms >= 10 ? 1 : 2)} ms`;
}

function formatConditions(conditions: Conditions): string {
  return Object.entries(conditions)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : String(v)}`)
    .join(', ');
}

/** The table on stdout: one line per figure, then each figure's conditions and notes. */
export function renderTable(rows: ResultRow[]): string {
  const header = ['#', 'figure', 'value', 'p50', 'p99', 'max', 'x ceiling', 'x naive', 'target', 'result'];
  const lines = rows.map((row, i) => {
    const n = String(i + 1);
    if (row.skipped) return [n, row.label, 'skipped', '', '', '', '', '', '', ''];
    if (row.error || row.value === null) return [n, row.label, 'ERROR', '', '', '', '', '', '', ''];
    const checks = row.checks ?? [];
    return [
      n,
      row.label,
      `${formatNumber(row.value)} ${row.unit}`,
      formatMs(row.latency?.p50),
      formatMs(row.latency?.p99),
      formatMs(row.latency?.max),
      row.ratios?.ceiling === undefined ? '' : `${row.ratios.ceiling.toFixed(2)}x`,
      row.ratios?.naive === undefined ? '' : `${row.ratios.naive.toFixed(1)}x`,
      checks.map((c) => c.target).join('; '),
      checks.map((c) => (c.pass ? 'pass' : 'MISS')).join('; '),
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const right = new Set([2, 3, 4, 5, 6, 7]);
  const format = (cells: string[]): string =>
    cells
      .map((cell, c) => (right.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  const out = [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(format), '', 'Conditions:'];
  rows.forEach((row, i) => {
    out.push(`  [${i + 1}] ${row.label}: ${row.skipped ? `SKIPPED: ${row.skipped}` : row.error ? `ERROR: ${row.error}` : formatConditions(row.conditions)}`);
    for (const note of row.notes ?? []) out.push(`        ${note}`);
  });
  return out.join('\n');
}

/** Throughput rows (the higher the better) that may not drop by more than this against an earlier run. */
export const THROUGHPUT_REGRESSION_LIMIT = 0.1;

/**
 * Before/after against an earlier run's JSON (`--compare`): every figure both runs have, with the change; a
 * throughput row (ingest, delivery, fan-out) that dropped by more than THROUGHPUT_REGRESSION_LIMIT is marked.
 */
export function renderComparison(rows: ResultRow[], before: RunReport, beforePath: string): string {
  const earlier = new Map(before.rows.map((row) => [row.id, row]));
  const lines = [`Before/after (before: ${beforePath}, git ${String(before.environment.gitCommit ?? '?')}, ${before.startedAt}):`];
  for (const row of rows) {
    const old = earlier.get(row.id);
    if (!old || old.value === null || row.value === null || old.skipped || row.skipped || old.error || row.error) continue;
    const change = (row.value - old.value) / old.value;
    const throughput = /^(ingest|delivery|fanout)\./.test(row.id);
    const verdict = throughput ? (change >= -THROUGHPUT_REGRESSION_LIMIT ? 'ok' : `DROP > ${THROUGHPUT_REGRESSION_LIMIT * 100}%`) : '';
    lines.push(`  ${row.label}: ${formatNumber(old.value)} -> ${formatNumber(row.value)} ${row.unit} (${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%) ${verdict}`.trimEnd());
  }
  return lines.join('\n');
}

export interface RunReport {
  startedAt: string;
  finishedAt: string;
  options: unknown;
  environment: Record<string, unknown>;
  rows: ResultRow[];
  profiles?: unknown;
}

/** Writes bench/results/<ISO timestamp>.json; returns its path. */
export function writeJson(dir: string, report: RunReport): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${report.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
