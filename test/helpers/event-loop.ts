/**
 * Watches the event loop while `work` runs: a 1 ms timer counts its turns and the longest wait between two of them
 * (up to the end, had the timer never had a turn). A long write that holds the event loop throughout leaves it none.
 */
export async function watchEventLoop<T>(work: () => Promise<T>): Promise<{ result: T; turns: number; longestMs: number; tookMs: number }> {
  let last = performance.now();
  let longest = 0;
  let turns = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    turns++;
  }, 1);
  const started = performance.now();
  try {
    last = performance.now();
    const result = await work();
    longest = Math.max(longest, performance.now() - last);
    return { result, turns, longestMs: longest, tookMs: performance.now() - started };
  } finally {
    clearInterval(ticker);
  }
}
