/**
 * Per-endpoint flow control, decided at claim time so it holds across every worker process:
 * - rate limit (messages/s): each endpoint has a slot clock (`nextSlotAt`); a delivery takes the next free
 *   slot. When that slot is in the future the delivery is deferred to it and keeps the slot (`reserved`), so
 *   a backlog is spread over future slots with one update per delivery, not re-deferred on every claim.
 *   A reservation claimed more than one interval late lapses (no catch-up bursts after a stall).
 * - concurrency cap: no more leased (in-flight) deliveries per endpoint than the cap; over it, the delivery
 *   is deferred briefly. In-flight is counted from live leases, so a crashed worker's leases expire by themselves.
 */

export interface EndpointLimits {
  rateLimit: number | null;
  maxConcurrency: number | null;
  /** The endpoint's next free rate-limit slot (epoch ms), null when none was taken yet. */
  nextSlotAt: number | null;
  /** Deliveries of this endpoint leased right now. */
  inFlight: number;
}

export interface Candidate {
  deliveryId: string;
  endpointId: string;
  /** The delivery already owns a rate-limit slot (it was deferred to it). */
  reserved: boolean;
  /** When it became due (for a reserved delivery: its slot). */
  dueAt: number;
}

export interface Admission {
  accepted: string[];
  deferred: { deliveryId: string; until: number; reserved: boolean }[];
  /** New slot clocks of the endpoints whose rate limit was used. */
  nextSlots: Map<string, number>;
}

/** How long a delivery over its endpoint's concurrency cap waits before it is looked at again (plus jitter). */
export const CONCURRENCY_RETRY_MS = 200;

/** An endpoint is limited when it has a rate limit or a (own or default) concurrency cap. */
export function effectiveCap(maxConcurrency: number | null, defaultMaxConcurrency: number): number {
  return maxConcurrency && maxConcurrency > 0 ? maxConcurrency : defaultMaxConcurrency;
}

export function admit(
  candidates: readonly Candidate[],
  limits: ReadonlyMap<string, EndpointLimits>,
  nowMs: number,
  defaultMaxConcurrency: number,
  random: () => number = Math.random,
): Admission {
  const accepted: string[] = [];
  const deferred: Admission['deferred'] = [];
  const nextSlots = new Map<string, number>();
  const inFlight = new Map<string, number>();
  for (const candidate of candidates) {
    const endpoint = limits.get(candidate.endpointId);
    if (!endpoint) {
      accepted.push(candidate.deliveryId);
      continue;
    }
    const cap = effectiveCap(endpoint.maxConcurrency, defaultMaxConcurrency);
    const busy = inFlight.get(candidate.endpointId) ?? endpoint.inFlight;
    if (cap > 0 && busy >= cap) {
      const until = nowMs + Math.round(CONCURRENCY_RETRY_MS * (0.5 + random()));
      deferred.push({ deliveryId: candidate.deliveryId, until, reserved: candidate.reserved });
      continue;
    }
    const interval = endpoint.rateLimit && endpoint.rateLimit > 0 ? 1000 / endpoint.rateLimit : 0;
    // A reservation holds only on time: a worker that stalled past the slot must not send a burst of
    // overdue slots at once, so a late delivery takes a fresh slot instead.
    const onTimeReservation = candidate.reserved && nowMs - candidate.dueAt <= interval;
    if (interval > 0 && !onTimeReservation) {
      const slot = Math.max(nextSlots.get(candidate.endpointId) ?? endpoint.nextSlotAt ?? nowMs, nowMs);
      nextSlots.set(candidate.endpointId, slot + interval);
      if (slot > nowMs) {
        deferred.push({ deliveryId: candidate.deliveryId, until: Math.ceil(slot), reserved: true });
        continue;
      }
    }
    inFlight.set(candidate.endpointId, busy + 1);
    accepted.push(candidate.deliveryId);
  }
  return { accepted, deferred, nextSlots };
}
