import { getHeapSpaceStatistics, type HeapSpaceInfo } from 'node:v8';

const ALLOCATIONS = 3e6;
const SAMPLE_EVERY = 100_000;

/**
 * Allocates short-lived objects with some survivors, what grows V8's new space to its maximum, and returns the size
 * the calling thread's new space reached, in bytes (test/delivery/thread-heap.test.ts): the smallest of the sizes
 * sampled over the second half, by when it has grown to its maximum. V8 13 (Node 24) sometimes reports a new space
 * above that maximum for a moment (8.75, 10.25 and 15 MB seen at 4 MB semi-spaces, 8 MB otherwise: pages it keeps
 * a while after a scavenge), so a single sample at the end could read nearly twice the size the options set.
 */
export function youngGenerationReached(): number {
  let kept: object[] = [];
  let reached = Number.POSITIVE_INFINITY;
  for (let i = 0; i < ALLOCATIONS; i++) {
    kept.push({ i, s: `x${i}` });
    if (kept.length > 20_000) kept = [];
    if (i >= ALLOCATIONS / 2 && i % SAMPLE_EVERY === 0) reached = Math.min(reached, newSpace().space_size);
  }
  return reached;
}

/** The calling thread's new space (V8's heap space statistics): its size, and how much of it is in memory. */
export const newSpace = (): HeapSpaceInfo => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')!;
