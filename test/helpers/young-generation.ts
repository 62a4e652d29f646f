import { getHeapSpaceStatistics } from 'node:v8';

/**
 * Allocates short-lived objects with some survivors, what grows V8's new space to its maximum, and returns the size
 * the calling thread's new space reached, in bytes (test/delivery/thread-heap.test.ts).
 */
export function youngGenerationReached(): number {
  let kept: object[] = [];
  for (let i = 0; i < 3e6; i++) {
    kept.push({ i, s: `x${i}` });
    if (kept.length > 20_000) kept = [];
  }
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')!.space_size;
}
