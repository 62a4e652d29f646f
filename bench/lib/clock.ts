import { performance } from 'node:perf_hooks';

/**
 * Wall-clock epoch milliseconds with sub-millisecond resolution. Every bench process uses this, so a time taken
 * in one process (a scheduled send) can be compared with one taken in another (an arrival at the receiver).
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
