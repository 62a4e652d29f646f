import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './processes.js';

/** Summaries of V8 CPU profiles (node --cpu-prof): where hookd's CPU time went, by function and by package. */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  idleMs: number;
  topFunctions: { name: string; where: string; selfMs: number; pct: number }[];
  byGroup: { group: string; selfMs: number; pct: number }[];
  /** hookd's own functions (dist/) by inclusive time: the function and everything it called. */
  topHookdInclusive: { name: string; where: string; totalMs: number; pct: number }[];
}

function groupOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node core';
  if (url.includes('/dist/') && !url.includes('/node_modules/')) return `hookd ${url.slice(url.indexOf('/dist/') + 6)}`;
  return relative(ROOT, url.replace(/^file:\/\//, ''));
}

export function summarizeProfile(file: string, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const groups = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    total += us;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    const name = functionName || '(anonymous)';
    const where = url ? `${url.replace(/^file:\/\//, '').replace(ROOT, '')}:${lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const entry = functions.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const group = groupOf(url, name);
    groups.set(group, (groups.get(group) ?? 0) + us);
  }
  const busy = Math.max(1, total - idle);
  // Inclusive time of hookd's functions: each sample counts once for every distinct dist/ function on its stack.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, { name: string; where: string; us: number }>();
  const stackKeys = new Map<number, { key: string; name: string; where: string }[]>();
  const keysOf = (id: number): { key: string; name: string; where: string }[] => {
    let keys = stackKeys.get(id);
    if (keys) return keys;
    keys = [];
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
      if (!url.includes('/dist/') || url.includes('/node_modules/')) continue;
      const where = `${url.slice(url.indexOf('/dist/') + 1)}:${lineNumber + 1}`;
      const key = `${functionName}@${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      keys.push({ key, name: functionName || '(anonymous)', where });
    }
    stackKeys.set(id, keys);
    return keys;
  };
  profile.samples.forEach((id, i) => {
    for (const k of keysOf(id)) {
      const entry = inclusive.get(k.key) ?? { name: k.name, where: k.where, us: 0 };
      entry.us += profile.timeDeltas[i] ?? 0;
      inclusive.set(k.key, entry);
    }
  });
  return {
    file: relative(ROOT, file),
    totalMs: total / 1000,
    idleMs: idle / 1000,
    topFunctions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, pct: (100 * f.us) / busy })),
    byGroup: [...groups.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([group, us]) => ({ group, selfMs: us / 1000, pct: (100 * us) / busy })),
    topHookdInclusive: [...inclusive.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, totalMs: f.us / 1000, pct: (100 * f.us) / busy })),
  };
}

export function summarizeProfiles(dir: string): ProfileSummary[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(d, entry.name));
      else if (entry.name.endsWith('.cpuprofile')) found.push(join(d, entry.name));
    }
  };
  try {
    walk(dir);
  } catch {
    return [];
  }
  return found.sort().map((f) => summarizeProfile(f));
}

export function renderProfile(summary: ProfileSummary): string {
  const busyMs = summary.totalMs - summary.idleMs;
  const lines = [`${summary.file}: ${(busyMs / 1000).toFixed(1)} s busy of ${(summary.totalMs / 1000).toFixed(1)} s`];
  lines.push(`  by package/file (self time, % of busy): ${summary.byGroup.map((g) => `${g.group} ${g.pct.toFixed(1)}%`).join(', ')}`);
  lines.push('  hottest functions (self time):');
  for (const f of summary.topFunctions) lines.push(`    ${f.pct.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
  lines.push('  hookd functions (inclusive time):');
  for (const f of summary.topHookdInclusive) lines.push(`    ${f.pct.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
  return lines.join('\n');
}

// `node --import tsx bench/lib/profile.ts <dir>` re-summarises the profiles of an earlier run.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!) && process.argv[2]) {
  for (const summary of summarizeProfiles(process.argv[2])) console.log(`${renderProfile(summary)}\n`);
}
