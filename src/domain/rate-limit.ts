/**
 * Token buckets, one per key (an application's ingest limit). A bucket holds at most one second's worth of
 * tokens (the rate, at least 1) and refills continuously at `rate` tokens per second; a message takes one.
 * Pure: the caller passes the time, so tests need no fake timers.
 */

export interface BucketState {
  tokens: number;
  /** The rate the bucket was last refilled at (a changed rate applies from the next take on). */
  rate: number;
  updatedAt: number;
}

/** Most tokens a bucket holds: one second's worth, and never less than one message. */
export function burstOf(ratePerSecond: number): number {
  return Math.max(1, ratePerSecond);
}

/**
 * Takes one token from `state` (mutated) refilled up to `nowMs`. Returns 0 when a token was taken, otherwise
 * the milliseconds until one will be available (nothing is taken then).
 */
export function takeToken(state: BucketState, ratePerSecond: number, nowMs: number): number {
  const burst = burstOf(ratePerSecond);
  // A clock that stepped back refills nothing (and never drains).
  const elapsedMs = Math.max(0, nowMs - state.updatedAt);
  state.tokens = Math.min(burst, state.tokens + (elapsedMs * ratePerSecond) / 1000);
  state.rate = ratePerSecond;
  state.updatedAt = Math.max(state.updatedAt, nowMs);
  if (state.tokens >= 1) {
    state.tokens -= 1;
    return 0;
  }
  return Math.ceil(((1 - state.tokens) * 1000) / ratePerSecond);
}

/** A refused take: how long to wait, in whole seconds for a Retry-After header (rounded up, at least 1). */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

/**
 * Buckets by key, in memory (one process). At most `maxKeys` are kept: when full, buckets that have refilled
 * completely are dropped first (a full bucket is the same as no bucket), then the least recently created.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, BucketState>();

  constructor(private readonly maxKeys = 100_000) {}

  /** 0 when `key` may go now (a token was taken), else the milliseconds until it may. */
  take(key: string, ratePerSecond: number, nowMs: number): number {
    let state = this.buckets.get(key);
    if (!state) {
      if (this.buckets.size >= this.maxKeys) this.evict(nowMs);
      state = { tokens: burstOf(ratePerSecond), rate: ratePerSecond, updatedAt: nowMs };
      this.buckets.set(key, state);
    }
    return takeToken(state, ratePerSecond, nowMs);
  }

  /** Forgets every bucket (all keys start full again). */
  clear(): void {
    this.buckets.clear();
  }

  get size(): number {
    return this.buckets.size;
  }

  private evict(nowMs: number): void {
    for (const [key, state] of this.buckets) {
      const refilled = state.tokens + (Math.max(0, nowMs - state.updatedAt) * state.rate) / 1000;
      if (refilled >= burstOf(state.rate)) this.buckets.delete(key);
    }
    // Everything is busy: drop the oldest quarter (they start full again, a brief over-allowance).
    if (this.buckets.size >= this.maxKeys) {
      let drop = Math.max(1, Math.floor(this.maxKeys / 4));
      for (const key of this.buckets.keys()) {
        if (drop-- <= 0) break;
        this.buckets.delete(key);
      }
    }
  }
}
