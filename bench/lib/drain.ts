import { now } from './clock.js';
import { startHookd, type Database, type HookdRole } from './hookd.js';
import { databaseCounts, preloadBacklog, type PreloadResult } from './preload.js';
import type { ReceiverProcess } from './receiver.js';
import { MB, RssSampler } from './rss.js';
import type { ReceiverStats } from '../servers/ipc.js';

export interface DrainResult {
  preload: PreloadResult;
  expected: number;
  /** Receiver counts when the drain ended. */
  received: ReceiverStats & { complete: boolean; reason: string };
  spawnedAt: number;
  /** Deliveries/s from hookd's spawn to the last delivery. */
  rateFromSpawn: number;
  /** Deliveries/s from the first to the last delivery (process start-up excluded). */
  steadyRate: number | null;
  rss: RssSampler;
  databaseCounts: Record<string, number>;
}

/**
 * Pre-loads `messages` messages fanning out to `endpointUrls` through the Store API (no hookd running), then starts
 * hookd and waits until the receiver has counted every delivery, sampling hookd's RSS every second.
 */
export async function drainBacklog(options: {
  database: Database;
  role: HookdRole;
  receiver: ReceiverProcess;
  endpointUrls: string[];
  messages: number;
  log: (line: string) => void;
  profileDir: string | null;
}): Promise<DrainResult> {
  const { receiver, log } = options;
  const expected = options.messages * options.endpointUrls.length;
  log(`  pre-loading ${options.messages} messages x ${options.endpointUrls.length} endpoints = ${expected} deliveries`);
  let lastLog = now();
  const preload = await preloadBacklog(options.database, {
    endpointUrls: options.endpointUrls,
    messages: options.messages,
    progress: (done) => {
      if (now() - lastLog > 15_000) {
        lastLog = now();
        log(`    ${done} / ${options.messages} messages`);
      }
    },
  });
  if (preload.deliveries !== expected) throw new Error(`pre-load created ${preload.deliveries} deliveries, expected ${expected}`);
  log(`  pre-loaded in ${(preload.elapsedMs / 1000).toFixed(1)} s; starting hookd ${options.role}`);
  await receiver.reset({ marks: Array.from({ length: 10 }, (_, i) => Math.ceil(((i + 1) * expected) / 10)) });
  const hookd = await startHookd({ role: options.role, database: options.database, profileDir: options.profileDir });
  const rss = new RssSampler(hookd.pid);
  let received;
  try {
    received = await receiver.waitForDistinct(expected, {
      timeoutMs: Math.max(600_000, (expected / 200) * 1000),
      stallMs: 60_000,
      progressMs: 15_000,
      progress: (s) => {
        const elapsed = (now() - hookd.spawnedAt) / 1000;
        const last = rss.samples.at(-1);
        log(`    ${s.distinct} / ${expected} delivered after ${elapsed.toFixed(0)} s (${(s.distinct / elapsed).toFixed(0)}/s), RSS ${last ? (last.rssBytes / MB).toFixed(0) : '?'} MB`);
      },
    });
  } finally {
    await rss.stop();
    await hookd.stop();
  }
  const end = received.lastAt ?? now();
  const counts = await databaseCounts(options.database);
  return {
    preload,
    expected,
    received,
    spawnedAt: hookd.spawnedAt,
    rateFromSpawn: received.distinct / ((end - hookd.spawnedAt) / 1000),
    steadyRate: received.firstAt !== null && received.lastAt !== null && received.lastAt > received.firstAt ? (received.distinct - 1) / ((received.lastAt - received.firstAt) / 1000) : null,
    rss,
    databaseCounts: counts,
  };
}

/** Lines describing a drain's ledger: everything delivered once, and what the database says. */
export function drainNotes(drain: DrainResult): string[] {
  const notes: string[] = [];
  if (!drain.received.complete) notes.push(`INCOMPLETE: ${drain.received.distinct} of ${drain.expected} delivered (${drain.received.reason})`);
  if (drain.received.duplicates > 0) notes.push(`${drain.received.duplicates} duplicate deliveries (at-least-once)`);
  const succeeded = drain.databaseCounts.succeeded ?? 0;
  if (succeeded < drain.received.distinct) notes.push(`database: ${succeeded} deliveries succeeded, receiver counted ${drain.received.distinct} (acks lost at shutdown?)`);
  return notes;
}
