import { setFlagsFromString } from 'node:v8';

// V8's young generation (where new objects live until their first garbage collections) is sized per isolate when
// the isolate is made, from --max-semi-space-size (two semi-spaces of that many MB; unset, V8 grows them to 16 MB
// on Node 20 and 22 and to 32 MB on Node 24). Under load it grows to that maximum and keeps it: on the API thread that
// was 32 MB of hookd start's 148 MB peak during ingest (64 MB on Node 24), for no throughput (measured: ingest within
// noise at 2 MB). The delivery thread is the one at its limit when a backlog drains, and there 2 MB cost about 9%
// of the drain rate; it gets its own size.
//
// The flag can only be given on node's command line: `npm start` carries NODE_ARGS (a test checks it), the bench runs
// hookd start with them, and README asks for them where hookd start or serve is run otherwise. Not for hookd worker,
// whose main thread delivers. A flag set later with setFlagsFromString does not resize an isolate that exists, but
// it is what the next isolate is made with: deliveryThreadHeap() sets it just before the delivery thread.

/** The API thread's semi-space size, in MB. */
export const API_SEMI_SPACE_MB = 2;
/** The delivery thread's semi-space size, in MB (half of V8's default on Node 20). */
export const DELIVERY_SEMI_SPACE_MB = 8;

/**
 * The old generation's growth between full collections: V8 picks a factor of up to 4x the live size after each one;
 * fixed at 1.1x, the objects a load promotes are collected sooner. Measured: ingest peak 118-119 MB against 122-125,
 * a 100k drain's peak 151-153 MB against 196-201, ingest, drain and sustained rates unchanged.
 */
export const HEAP_GROWING_PERCENT = 10;

/** The options node runs hookd start with (`npm start`, the bench). */
export const NODE_ARGS = [`--max-semi-space-size=${API_SEMI_SPACE_MB}`, `--heap-growing-percent=${HEAP_GROWING_PERCENT}`] as const;

/** Makes the next worker thread's young generation the delivery thread's size; call right before `new Worker`. */
export function deliveryThreadHeap(): void {
  setFlagsFromString(`--max-semi-space-size=${DELIVERY_SEMI_SPACE_MB}`);
}
