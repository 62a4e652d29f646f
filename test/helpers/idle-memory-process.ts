// Run as `node <NODE_ARGS> --import tsx test/helpers/idle-memory-process.ts` (test/delivery/thread-heap.test.ts): grows
// this thread's young generation, turns reduceMemoryWhenIdle on with short checks, stays idle for seven of them and
// prints whether it was on, how many collections it made, and the new space's size before and after.
import { reduceMemoryWhenIdle } from '../../src/heap.js';
import { newSpace, youngGenerationReached } from './young-generation.js';

const CHECK_MS = 300;
youngGenerationReached();
const before = newSpace().physical_space_size;
let collections = 0;
const stop = reduceMemoryWhenIdle(CHECK_MS, () => collections++);
// Idle: a timer that keeps the process alive and does nothing, as hookd's are at rest.
await new Promise((resolve) => setTimeout(resolve, CHECK_MS * 7.5));
stop?.();
process.stdout.write(`${JSON.stringify({ on: stop !== null, collections, before, after: newSpace().physical_space_size })}\n`);
