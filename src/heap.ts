import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// V8's young generation (where new objects live until their first garbage collections) is sized per isolate when
// the isolate is made, from --max-semi-space-size (two semi-spaces of that many MB; unset, V8 grows them to 16 MB
// on Node 20 and 22 and to 32 MB on Node 24). Under load it grows to that maximum and keeps it. The API thread needs
// 4 MB (at 2 its scavenges cost 3-15% more CPU per message under sustained ingest; at 8 the ingest peak is 7 MB
// higher for 1-3% less); the delivery thread, the one at its limit when a backlog drains, needs more and gets its
// own size. Measurements: docs/architecture.md, "What the memory of `hookd start` is".
//
// V8 also runs background work (concurrent marking and sweeping, compilation) for every isolate on a pool of platform
// threads; one is enough for hookd's heaps and saves the stacks and malloc arenas of three more.
//
// These node options can only be given on node's command line: `npm start` carries NODE_ARGS (a test checks it), the
// bench runs hookd start with them, and README asks for them where hookd start or serve is run otherwise. Not the
// semi-space one for hookd worker, nor with HOOKD_DELIVERY_THREAD=false: there the main thread delivers.

/** The API thread's semi-space size, in MB. */
export const API_SEMI_SPACE_MB = 4;
/** The delivery thread's semi-space size, in MB. */
export const DELIVERY_SEMI_SPACE_MB = 8;
/** The old generation's growth between full collections, in percent (V8 picks up to 300). */
export const HEAP_GROWING_PERCENT = 10;

/** V8's platform threads, for all isolates together (node makes 4): 6 MB less at rest, the same throughput. */
export const V8_POOL_SIZE = 1;

/** The options node runs hookd start with (`npm start`, the bench). */
export const NODE_ARGS = [`--max-semi-space-size=${API_SEMI_SPACE_MB}`, `--heap-growing-percent=${HEAP_GROWING_PERCENT}`, `--v8-pool-size=${V8_POOL_SIZE}`] as const;

/**
 * Runs `start` (which starts the delivery thread and settles once the thread runs) with the delivery thread's
 * semi-space size. setFlagsFromString does not resize an isolate that exists, but every isolate made while it is
 * set is made with it; so it is set around the thread's start only and put back afterwards to what node was given.
 * A size the operator gave node other than API_SEMI_SPACE_MB is theirs, for every thread: left alone.
 */
export async function withDeliveryThreadHeap<T>(start: () => Promise<T>): Promise<T> {
  const given = semiSpaceGiven(process.execArgv);
  if (given !== null && given !== API_SEMI_SPACE_MB) return start();
  setFlagsFromString(`--max-semi-space-size=${DELIVERY_SEMI_SPACE_MB}`);
  try {
    return await start();
  } finally {
    setFlagsFromString(`--max-semi-space-size=${given ?? 0}`); // 0: V8's own default
  }
}

/** The --max-semi-space-size node was started with (`=N` or a separate `N`; V8 also spells it with `_`), or null. */
export function semiSpaceGiven(execArgv: readonly string[]): number | null {
  let given: number | null = null;
  execArgv.forEach((arg, i) => {
    const match = /^--max[-_]semi[-_]space[-_]size(?:=(\d+))?$/.exec(arg);
    if (!match) return;
    const value = Number(match[1] ?? execArgv[i + 1]);
    if (Number.isInteger(value)) given = value;
  });
  return given;
}

/** How often a thread looks whether it has been idle (reduceMemoryWhenIdle). */
export const IDLE_CHECK_MS = 5_000;
/** Checks in a row that must find the thread idle before it collects. */
export const IDLE_CHECKS = 2;
/** A check that found the event loop busy less than this share of its time found it idle (at rest: 0.05-0.5%). */
export const IDLE_UTILIZATION = 0.01;
/** A check that found it busy at least this share re-arms the collection: load that hovers near idle does not. */
export const BUSY_UTILIZATION = 0.02;

/** Whether this node's V8 keeps an idle isolate's heap (Node 24 and later: see reduceMemoryWhenIdle). */
export const V8_KEEPS_IDLE_HEAP = Number(process.versions.node.split('.')[0]) >= 24;

type Gc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/**
 * Gives an idle thread's heap back, as V8's memory reducer does on Node 20 and 22 and not on Node 24. The reducer
 * collects an isolate whose allocation rate has dropped, shrinking its young generation and compacting the old one;
 * V8 13 (Node 24) finds the rate high at every look, for hookd as for an empty script with one timer
 * (--trace-memory-reducer: "high alloc" every 8 s, forever), so the heap kept its start-up size: hookd start at rest
 * used 127-130 MB on Node 24, and 104.5-107.7 MB after one such collection in each thread (86 MB on Node 20, 102 on
 * Node 22, whose reducer works). So, on Node 24 and later: once IDLE_CHECKS checks in a row found the thread's event
 * loop idle, one memory-reducing collection (V8's "last resort" one, 40-60 ms on an idle thread), then none until a
 * later check found the thread busy (BUSY_UTILIZATION; the start-up counts as busy). A load between the two thresholds
 * neither collects again nor re-arms: at most one collection per busy spell, and only after 10 s of idling.
 *
 * Returns what stops the checks (their timer does not keep the process alive), or null where they are not needed or
 * the collector cannot be had (an operator's --expose-gc-as renames it). `collected` is for tests.
 */
export function reduceMemoryWhenIdle(checkMs = IDLE_CHECK_MS, collected?: () => void): (() => void) | null {
  if (!V8_KEEPS_IDLE_HEAP) return null;
  let gc: Gc;
  try {
    // The collector V8 gives scripts with --expose-gc: a context made while the flag is set has it. The flag is put
    // back at once: other contexts and threads made later get no global gc, and V8's flags (which its code caches are
    // checked against) are as node was started.
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as Gc;
    setFlagsFromString('--no-expose-gc');
    if (typeof gc !== 'function') return null;
  } catch {
    return null;
  }
  const idleNow = idleCollections();
  let last = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const { utilization } = performance.eventLoopUtilization(performance.eventLoopUtilization(), last);
    if (idleNow(utilization)) {
      gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
      collected?.();
    }
    // From here: the collection's own time is not the next check's (it would read as busy, and re-arm it); the
    // next check is not counted at all (idleCollections).
    last = performance.eventLoopUtilization();
  }, checkMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * reduceMemoryWhenIdle's decision, given each check's event-loop utilization: collect once IDLE_CHECKS checks in a row
 * were idle since the last busy one (the start-up counts as busy), then not again until a check is busy. The check
 * after a collection counts neither way: V8 finishes the collection's work on the thread in the tasks that follow it
 * (6-15 ms measured on Node 24, more than 2% of a short check), which is not load. (So a busy spell that fits inside
 * that one check does not re-arm: what it left in the heap waits for the next spell's collection.)
 */
export function idleCollections(): (utilization: number) => boolean {
  let armed = true;
  let idleInRow = 0;
  let justCollected = false;
  return (utilization) => {
    if (justCollected) {
      justCollected = false;
      return false;
    }
    if (utilization >= BUSY_UTILIZATION) armed = true;
    idleInRow = utilization < IDLE_UTILIZATION ? idleInRow + 1 : 0;
    if (!armed || idleInRow < IDLE_CHECKS) return false;
    armed = false;
    justCollected = true;
    return true;
  };
}
