/**
 * Milliseconds on the machine's monotonic clock (CLOCK_MONOTONIC: since boot), with sub-millisecond resolution.
 * Every bench process uses this, so a time taken in one process (a scheduled send) can be compared with one taken
 * in another (an arrival at the receiver). Not wall-clock time: `performance.timeOrigin + performance.now()` fixes
 * the wall clock at each process's start, so a step of the clock (NTP, a virtual machine resynchronising) between
 * two processes' starts shifted every cross-process latency by the step (one run measured e2e p50 730 ms at 20 msg/s
 * with a backlog of 30 messages).
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
