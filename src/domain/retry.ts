/**
 * Retry decisions: what happens to a delivery after one attempt. One table-like function so every rule
 * (success, permanent failure, Retry-After, exhaustion) is visible in one place.
 */

export const DEFAULT_RETRY_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
export const JITTER_FRACTION = 0.2;
/** The longest Retry-After we honour; a receiver cannot park a delivery for longer than this. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** What one HTTP attempt produced. `statusCode` is 0 when no response arrived (network error, timeout). */
export interface AttemptOutcome {
  statusCode: number;
  retryAfter?: string | null;
}

export type RetryDecision =
  | { kind: 'succeeded' }
  | { kind: 'retry'; delayMs: number }
  | { kind: 'failed'; reason: 'exhausted' | 'gone' };

/** Applies +-JITTER_FRACTION of uniform jitter; `random` returns [0, 1). */
export function withJitter(delayMs: number, random: () => number = Math.random): number {
  return Math.max(0, Math.round(delayMs * (1 + (random() * 2 - 1) * JITTER_FRACTION)));
}

/** Parses a Retry-After header (delta-seconds or HTTP date) into milliseconds from `nowMs`, clamped. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return null;
    ms = at - nowMs;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/**
 * Until when a 429 or 503 with a Retry-After asks the whole endpoint to be left alone (null: it does not). The
 * receiver said it takes nothing until then: the deliveries waiting for it wait without spending attempts on
 * answers they would get the same way (scheduler.ts afterResults). Clamped like the delivery's own retry.
 */
export function endpointHoldUntil(outcome: AttemptOutcome, nowMs: number): number | null {
  if (outcome.statusCode !== 429 && outcome.statusCode !== 503) return null;
  const retryAfterMs = parseRetryAfter(outcome.retryAfter, nowMs);
  return retryAfterMs === null || retryAfterMs === 0 ? null : nowMs + retryAfterMs;
}

/**
 * Decides the delivery's next state after attempt number `attemptNumber` (1-based, counting this one).
 * The schedule lists the delays after each failed attempt, so a schedule of n delays allows n + 1 attempts.
 */
export function decideRetry(
  outcome: AttemptOutcome,
  attemptNumber: number,
  scheduleMs: readonly number[],
  nowMs: number,
  random: () => number = Math.random,
): RetryDecision {
  const code = outcome.statusCode;
  if (code >= 200 && code < 300) return { kind: 'succeeded' };
  if (code === 410) return { kind: 'failed', reason: 'gone' };
  const scheduled = scheduleMs[attemptNumber - 1];
  if (scheduled === undefined) return { kind: 'failed', reason: 'exhausted' };
  const delayMs = withJitter(scheduled, random);
  // A pause the receiver asked for (429/503 with Retry-After) is at least the delay: the endpoint is held that long too.
  const heldUntil = endpointHoldUntil(outcome, nowMs);
  return { kind: 'retry', delayMs: heldUntil === null ? delayMs : Math.max(delayMs, heldUntil - nowMs) };
}
