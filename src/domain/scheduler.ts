/**
 * The delivery scheduler's decisions, pure; both store adapters apply them inside their claim and ack
 * transactions, so they hold across every worker process.
 *
 * Work is scheduled per endpoint, not per delivery. Each endpoint has a queue state (table endpoint_queue):
 * when it may next have claimable work (`readyAt`), how many deliveries it may have in flight (an adaptive
 * limit), its rate-limit slot clock and its circuit breaker.
 * - A claim walks the ready endpoints, longest-waiting first, and deals its slots one at a time round-robin
 *   across applications and, within one, across endpoints (planClaim): a backlog of one endpoint is never in
 *   front of another endpoint's work, and no application takes more than its share while others wait.
 * - It takes only what can be sent now: the endpoint's budget minus what is in flight, its rate-limit slots, and
 *   the worker's room for the endpoint's origin. Nothing claimed ever waits for a connection.
 * - Acks feed the results back (afterResults), like TCP congestion control with a latency signal (as in Vegas or
 *   Netflix's concurrency limits): 2xx answers near the endpoint's usual latency, while it used its whole budget,
 *   grow the limit (slow start: +1 per answer up to SLOW_START_FACTOR x the initial limit, then +AVOIDANCE_STEP per round trip);
 *   timeouts, connection failures, 429, 503 and answers far slower than usual (a receiver starting to queue) halve
 *   it, at most once per DECREASE_HOLD_MS. Consecutive timeouts or connection failures open the circuit: nothing is
 *   claimed for a cool-down, then one probe at a time, until an HTTP answer closes it. Deliveries held back by a
 *   budget, a rate limit or an open circuit are simply not claimed: no attempt is spent and no row is written.
 */

export interface EndpointQueueState {
  /** From when the endpoint may have claimable work (a lower bound); null: nothing pending. */
  readyAt: number | null;
  /** The adaptive in-flight limit; fractional while it grows by 1/limit per answer. */
  concurrency: number;
  /** Slow-start threshold: below it the limit grows by one per fast answer, above by AVOIDANCE_STEP per round trip. */
  slowStartLimit: number;
  /** The last claim left the endpoint using its whole budget (the limit grows only then). */
  saturated: boolean;
  lastDecreaseAt: number | null;
  /** Timeouts and connection failures in a row (an HTTP answer resets it). */
  failureStreak: number;
  /** When the circuit opened; null while it is closed. */
  circuitOpenedAt: number | null;
  /** While open, nothing is claimed before this; from then on one probe at a time (half-open). */
  circuitRetryAt: number | null;
  /** Openings in a row without an answer in between; each doubles the cool-down. */
  circuitOpenings: number;
  /** The rate limiter's next free slot. */
  rateNextAt: number | null;
  /**
   * Deliveries leased and not yet acked: claims add, acks and releases subtract. Leases that expire (a crashed
   * worker) are not subtracted, so this is an upper bound of what is on the wire; a claim that finds it at the
   * budget recounts the live leases.
   */
  inFlight: number;
  /**
   * The endpoint's usual 2xx latency: follows a faster batch at once and a slower one slowly (1/LATENCY_DRIFT of
   * the way), so a receiver that starts to queue stands out against it. Null before the first answer.
   */
  latencyMs: number | null;
}

export interface SchedulerPolicy {
  /** Where the adaptive limit starts. */
  initialConcurrency: number;
  /** Cap for endpoints without their own maxConcurrency; 0: only ADAPTIVE_CEILING. */
  endpointMaxConcurrency: number;
  /** Timeouts or connection failures in a row that open the circuit. */
  circuitFailureThreshold: number;
  /** The first cool-down of an open circuit; it doubles with each reopening, up to the maximum. */
  circuitCooldownMs: number;
  circuitMaxCooldownMs: number;
  /** 2xx answers slower than this never grow the limit. */
  slowAnswerMs: number;
}

/** The adaptive limit never grows beyond this (nor beyond the endpoint's cap). */
export const ADAPTIVE_CEILING = 1000;
/** The limit is halved at most once per this long: one window of timeouts is one congestion event. */
export const DECREASE_HOLD_MS = 1000;
/**
 * Slow start (doubling per round trip) ends at this multiple of the initial limit; beyond it the limit grows by
 * AVOIDANCE_STEP per round trip. Doubling further opens hundreds of new connections at once, which overflows a
 * receiver's accept queue (a request then waits for a SYN retransmit, seconds) before any timeout could say "too much".
 */
export const SLOW_START_FACTOR = 4;
/**
 * Growth per round trip after slow start: a few new connections at a time, never a burst. With one per round trip a
 * fast endpoint's drain took most of 100k deliveries to reach the budget its receiver could take (PostgreSQL drain of
 * 100k: 6.4-6.7k/s with one, 7.0-7.6k/s with four; 7.3-7.7k/s before there was an adaptive limit).
 */
export const AVOIDANCE_STEP = 4;
/**
 * A batch of at least QUEUEING_MIN_ANSWERS 2xx answers (while the endpoint used its whole budget) whose median
 * exceeds both QUEUEING_RATIO x and QUEUEING_MARGIN_MS over the usual latency halves the limit: the receiver is
 * queueing what we send. The margin keeps a busy machine's own pauses from reading as the receiver's.
 */
export const QUEUEING_RATIO = 4;
export const QUEUEING_MARGIN_MS = 250;
export const QUEUEING_MIN_ANSWERS = 4;
/** Answers within both GROWTH_RATIO x and GROWTH_MARGIN_MS over the usual latency may grow the limit. */
export const GROWTH_RATIO = 2;
export const GROWTH_MARGIN_MS = 25;
/** How slowly the usual latency follows slower answers. */
export const LATENCY_DRIFT = 16;
/** A rate-limit clock that fell further behind than this (or one interval) restarts: no catch-up bursts. */
export const RATE_CATCH_UP_MS = 50;

export const DEFAULT_SCHEDULER_POLICY: SchedulerPolicy = {
  initialConcurrency: 16,
  endpointMaxConcurrency: 0,
  circuitFailureThreshold: 5,
  circuitCooldownMs: 5_000,
  circuitMaxCooldownMs: 300_000,
  slowAnswerMs: 7_500,
};

export function initialQueueState(policy: SchedulerPolicy, readyAt: number | null = null): EndpointQueueState {
  return {
    readyAt,
    concurrency: policy.initialConcurrency,
    slowStartLimit: policy.initialConcurrency * SLOW_START_FACTOR,
    saturated: false,
    lastDecreaseAt: null,
    failureStreak: 0,
    circuitOpenedAt: null,
    circuitRetryAt: null,
    circuitOpenings: 0,
    rateNextAt: null,
    inFlight: 0,
    latencyMs: null,
  };
}

export type CircuitState = 'closed' | 'open' | 'half-open';

export function circuitState(state: EndpointQueueState, nowMs: number): CircuitState {
  if (state.circuitOpenedAt === null) return 'closed';
  return nowMs < (state.circuitRetryAt ?? 0) ? 'open' : 'half-open';
}

/** The most deliveries the endpoint may have in flight now (0 while its circuit is open). */
export function budgetOf(state: EndpointQueueState, maxConcurrency: number | null, nowMs: number, policy: SchedulerPolicy): number {
  switch (circuitState(state, nowMs)) {
    case 'open':
      return 0;
    case 'half-open':
      return 1;
    case 'closed':
      return Math.max(1, Math.min(Math.floor(state.concurrency), capOf(maxConcurrency, policy)));
  }
}

/** The endpoint's hard cap: its own maxConcurrency, else the configured default, else ADAPTIVE_CEILING. */
export function capOf(maxConcurrency: number | null, policy: SchedulerPolicy): number {
  if (maxConcurrency !== null && maxConcurrency > 0) return maxConcurrency;
  return policy.endpointMaxConcurrency > 0 ? policy.endpointMaxConcurrency : ADAPTIVE_CEILING;
}

/** An endpoint as the scheduler sees it now (GET .../endpoint/{id}/stats, metrics, the dashboard). */
export interface EndpointQueueView {
  circuit: CircuitState;
  /** Timeouts and connection failures in a row. */
  failureStreak: number;
  circuitOpenedAt: number | null;
  /** While the circuit is open or half-open: when the next probe may go. */
  nextProbeAt: number | null;
  /** Deliveries it may have in flight now (0 while the circuit is open, 1 while half-open). */
  budget: number;
  /** The adaptive limit, before the endpoint's cap. */
  adaptiveLimit: number;
  /** Its deliveries on the wire (under a live lease) in any worker. */
  inFlight: number;
}

export function viewOf(state: EndpointQueueState, maxConcurrency: number | null, inFlight: number, nowMs: number, policy: SchedulerPolicy): EndpointQueueView {
  const circuit = circuitState(state, nowMs);
  return {
    circuit,
    failureStreak: state.failureStreak,
    circuitOpenedAt: state.circuitOpenedAt,
    nextProbeAt: circuit === 'closed' ? null : state.circuitRetryAt,
    budget: budgetOf(state, maxConcurrency, nowMs, policy),
    adaptiveLimit: Math.floor(state.concurrency),
    inFlight,
  };
}

// ---- Claiming

/** What a claim knows about one ready endpoint. */
export interface ReadyEndpoint {
  endpointId: string;
  appId: string;
  url: string;
  rateLimit: number | null;
  maxConcurrency: number | null;
  /** Disabled or deleted: its due deliveries are failed instead of sent. */
  unsendable: boolean;
  state: EndpointQueueState;
}

export interface EndpointClaimPlan {
  endpoint: ReadyEndpoint;
  /** Due deliveries to lease now, oldest due first (for an unsendable endpoint: to fail). */
  take: number;
  budget: number;
  /** The rate-limit clock the slots were counted from (null: no rate limit). */
  rateClock: number | null;
  /**
   * It could have sent but got nothing. `slots`: the claim's slots ran out first; its state is left as it is, so it
   * keeps its place in the line for the next claim. `origin`: this worker has no room for its origin; it goes to the
   * back of the line (ready now, not earlier), so that however many endpoints wait for a busy origin (a slow
   * receiver many tenants share), the next claims reach the endpoints behind them instead of reading the same ones.
   */
  passedOver: null | 'slots' | 'origin';
}

/** How much room a worker has for requests to an origin (scheme://host:port). */
export type OriginRoom = (origin: string) => number;

/**
 * Shares `limit` slots among the ready endpoints (given longest-waiting first): dealt one at a time,
 * round-robin across applications and, within an application, across its endpoints, each up to what it may
 * send now. Unsendable endpoints take no slot (their deliveries are failed, up to `limit`).
 */
export function planClaim(endpoints: readonly ReadyEndpoint[], limit: number, nowMs: number, policy: SchedulerPolicy, originRoom: OriginRoom): EndpointClaimPlan[] {
  const plans: EndpointClaimPlan[] = [];
  const room = new Map<EndpointClaimPlan, number>();
  const apps = new Map<string, EndpointClaimPlan[]>();
  for (const endpoint of endpoints) {
    const budget = budgetOf(endpoint.state, endpoint.maxConcurrency, nowMs, policy);
    const rate = rateSlots(endpoint.rateLimit, endpoint.state.rateNextAt, nowMs);
    const plan: EndpointClaimPlan = { endpoint, take: 0, budget, rateClock: rate.clock, passedOver: null };
    plans.push(plan);
    if (endpoint.unsendable) {
      plan.take = limit;
      continue;
    }
    const free = Math.min(budget - endpoint.state.inFlight, rate.slots);
    if (free <= 0) continue;
    room.set(plan, free);
    const list = apps.get(endpoint.appId);
    if (list) list.push(plan);
    else apps.set(endpoint.appId, [plan]);
  }
  const originLeft = new Map<string, number>();
  const originOf = (plan: EndpointClaimPlan): string => urlOrigin(plan.endpoint.url);
  let left = limit;
  const queues = [...apps.values()];
  while (left > 0 && queues.length > 0) {
    for (let a = 0; a < queues.length && left > 0; a++) {
      const queue = queues[a]!;
      // The application's next endpoint that can take one more; endpoints that cannot are dropped.
      while (queue.length > 0) {
        const plan = queue.shift()!;
        const origin = originOf(plan);
        const originFree = originLeft.get(origin) ?? originRoom(origin);
        const endpointFree = room.get(plan)! - plan.take;
        if (originFree <= 0) {
          // This worker has no room for its origin (the ack of a request to that origin wakes the next claim).
          if (plan.take === 0) plan.passedOver = 'origin';
          continue;
        }
        if (endpointFree <= 0) continue;
        plan.take++;
        left--;
        originLeft.set(origin, originFree - 1);
        if (endpointFree > 1) queue.push(plan);
        break;
      }
      if (queue.length === 0) queues.splice(a--, 1);
    }
  }
  for (const queue of queues) for (const plan of queue) if (plan.take === 0) plan.passedOver = 'slots';
  return plans;
}

/** Whether a claim should recount the endpoint's live leases: its in-flight count says it has no room. */
export function needsRecount(endpoint: ReadyEndpoint, nowMs: number, policy: SchedulerPolicy): boolean {
  return !endpoint.unsendable && endpoint.state.inFlight > 0 && endpoint.state.inFlight >= budgetOf(endpoint.state, endpoint.maxConcurrency, nowMs, policy);
}

/** When an endpoint is worth looking at again after a claim. */
export type NextLook =
  /**
   * Its budget is full: at the next change in its queue, a lease expiring or a retry coming due (an ack that frees a
   * slot brings this forward).
   */
  | { kind: 'lease' }
  /** Not before `at`, nor before its earliest pending delivery (never, when none is pending). */
  | { kind: 'at'; at: number };

/** The endpoint's state after a claim that leased `got` of the deliveries its plan asked for. */
export function settleClaim(plan: EndpointClaimPlan, got: number, nowMs: number): { state: EndpointQueueState; next: NextLook } {
  const { endpoint } = plan;
  const state = { ...endpoint.state, inFlight: endpoint.unsendable ? endpoint.state.inFlight : endpoint.state.inFlight + got };
  if (plan.rateClock !== null && got > 0) state.rateNextAt = Math.ceil(plan.rateClock + got * (1000 / endpoint.rateLimit!));
  if (endpoint.unsendable) return { state, next: { kind: 'at', at: nowMs } };
  const circuit = circuitState(state, nowMs);
  if (circuit === 'open') return { state: { ...state, saturated: false }, next: { kind: 'at', at: state.circuitRetryAt! } };
  const full = state.inFlight >= plan.budget;
  state.saturated = full && circuit === 'closed';
  if (full) return { state, next: { kind: 'lease' } };
  // Rate-limited: its next slot; otherwise at the back of the line (now), behind every endpoint waiting longer.
  const nextSlot = state.rateNextAt ?? 0;
  return { state, next: { kind: 'at', at: Math.max(nowMs, nextSlot) } };
}

/**
 * Slots free now under a rate limit of `rate` per second: counted from the clock, which restarts at now when it
 * fell more than an interval (at least RATE_CATCH_UP_MS) behind, so a stall is never made up in a burst.
 */
function rateSlots(rate: number | null, nextAt: number | null, nowMs: number): { slots: number; clock: number | null } {
  // Without a rate, the clock is only set by a receiver's Retry-After (afterResults): nothing until then.
  if (rate === null || rate <= 0) return { slots: nextAt !== null && nextAt > nowMs ? 0 : Number.POSITIVE_INFINITY, clock: null };
  const interval = 1000 / rate;
  const clock = nextAt === null || nextAt < nowMs - Math.max(interval, RATE_CATCH_UP_MS) ? nowMs : nextAt;
  return { slots: clock > nowMs ? 0 : Math.floor((nowMs - clock) / interval) + 1, clock };
}

const origins = new Map<string, string>();
/** Characters the origin cache holds: bounded too, as an endpoint URL may be 64 KB long. */
let originChars = 0;
const ORIGINS_MAX = 10_000;
const ORIGIN_CHARS_MAX = 4_000_000;

/** What the origin cache holds (for tests). */
export const originCache = (): { entries: number; chars: number } => ({ entries: origins.size, chars: originChars });

/** scheme://host:port of a URL (cached; an unparsable URL is its own origin). */
export function urlOrigin(url: string): string {
  let origin = origins.get(url);
  if (origin === undefined) {
    try {
      origin = new URL(url).origin;
    } catch {
      origin = url;
    }
    if (origins.size >= ORIGINS_MAX || originChars + url.length + origin.length > ORIGIN_CHARS_MAX) {
      origins.clear();
      originChars = 0;
    }
    origins.set(url, origin);
    originChars += url.length + origin.length;
  }
  return origin;
}

// ---- Acks

/** Why no HTTP answer arrived, when it says something about the receiver's health. */
export type ConnectionFailure = 'timeout' | 'connection';

/** What one recorded attempt says about its endpoint. */
export interface AttemptSignal {
  at: number;
  statusCode: number;
  durationMs: number;
  failure: ConnectionFailure | null;
  /** The delivery's next attempt, when one is scheduled. */
  retryAt: number | null;
  /** The delivery's lease was still held, so the attempt's slot is free now. */
  freed: boolean;
  /** The receiver asked for nothing more until then (429 or 503 with Retry-After; retry.ts endpointHoldUntil). */
  holdUntil: number | null;
}

/**
 * The endpoint's state after an ack recorded these attempts (any order): the circuit, the failure streak, the
 * adaptive limit, and readyAt brought forward to the earliest retry, and to now when a slot of a saturated
 * endpoint or its circuit just freed up.
 */
export function afterResults(before: EndpointQueueState, signals: readonly AttemptSignal[], maxConcurrency: number | null, nowMs: number, policy: SchedulerPolicy): EndpointQueueState {
  const state = { ...before };
  let congested = false;
  let reopened = false;
  let closed = false;
  const answered: number[] = [];
  for (const signal of [...signals].sort((a, b) => a.at - b.at)) {
    if (signal.failure !== null) {
      congested = true;
      state.failureStreak++;
      const circuit = circuitState(state, nowMs);
      // Only a request sent after the cool-down is a probe: one still on the wire from before the circuit opened
      // (a timeout that arrives late) says nothing new.
      const probe = circuit === 'half-open' && signal.at - signal.durationMs >= (state.circuitRetryAt ?? 0);
      if ((circuit === 'closed' && state.failureStreak >= policy.circuitFailureThreshold) || probe) {
        // Open, or a failed probe: wait longer each time before the next probe.
        state.circuitOpenings++;
        state.circuitOpenedAt ??= nowMs;
        state.circuitRetryAt = nowMs + Math.min(policy.circuitCooldownMs * 2 ** (state.circuitOpenings - 1), policy.circuitMaxCooldownMs);
        reopened = true;
      }
      continue;
    }
    // No answer and no failure of the endpoint's (an attempt cut off by hookd's shutdown, a URL it could not use):
    // it says nothing about the endpoint.
    if (signal.statusCode <= 0) continue;
    state.failureStreak = 0;
    if (state.circuitOpenedAt !== null) {
      // An HTTP answer: the endpoint is reachable again. Restart the limit from 1 (slow start).
      Object.assign(state, { circuitOpenedAt: null, circuitRetryAt: null, circuitOpenings: 0, concurrency: 1, slowStartLimit: policy.initialConcurrency });
      closed = true;
      reopened = false;
    }
    if (signal.statusCode === 429 || signal.statusCode === 503) {
      congested = true;
      // Held on the rate clock, which every claim and every readyBy of new work already waits for (rateSlots).
      if (signal.holdUntil !== null && signal.holdUntil > (state.rateNextAt ?? 0)) state.rateNextAt = signal.holdUntil;
    } else if (signal.statusCode >= 200 && signal.statusCode < 300) answered.push(signal.durationMs);
  }
  // Latency: a batch far slower than usual means the receiver is queueing; growth only on answers near usual.
  let fast = 0;
  if (answered.length > 0) {
    const usual = state.latencyMs;
    const median = [...answered].sort((a, b) => a - b)[Math.floor(answered.length / 2)]!;
    // Only a batch of several answers while the endpoint used its whole budget: one slow answer is noise (a new
    // connection, a pause on either side), and a receiver we do not drive hard is not queueing because of us.
    const queueing = usual !== null && median > Math.max(QUEUEING_RATIO * usual, usual + QUEUEING_MARGIN_MS);
    if (queueing && state.saturated && answered.length >= QUEUEING_MIN_ANSWERS) congested = true;
    const near = usual === null ? Number.POSITIVE_INFINITY : Math.max(GROWTH_RATIO * usual, usual + GROWTH_MARGIN_MS);
    fast = answered.filter((ms) => ms <= near && ms <= policy.slowAnswerMs).length;
    state.latencyMs = usual === null || median < usual ? median : usual + (median - usual) / LATENCY_DRIFT;
  }
  const ceiling = capOf(maxConcurrency, policy);
  if (congested) {
    if (state.lastDecreaseAt === null || nowMs - state.lastDecreaseAt >= DECREASE_HOLD_MS) {
      state.concurrency = Math.max(1, Math.floor(state.concurrency / 2));
      state.slowStartLimit = state.concurrency;
      state.lastDecreaseAt = nowMs;
    }
  } else if (fast > 0 && state.saturated && state.circuitOpenedAt === null) {
    const c = state.concurrency;
    state.concurrency = Math.min(ceiling, c < state.slowStartLimit ? c + fast : c + (AVOIDANCE_STEP * fast) / c);
  }
  state.inFlight = Math.max(0, state.inFlight - signals.filter((signal) => signal.freed).length);
  let readyAt = state.readyAt;
  const earlier = (at: number): void => {
    readyAt = readyAt === null ? at : Math.min(readyAt, at);
  };
  for (const signal of signals) if (signal.retryAt !== null) earlier(signal.retryAt);
  if (closed || (state.saturated && signals.some((s) => s.freed))) earlier(nowMs);
  if (reopened && state.circuitRetryAt !== null) readyAt = state.circuitRetryAt;
  state.readyAt = readyAt;
  return state;
}

export function sameQueueState(a: EndpointQueueState, b: EndpointQueueState): boolean {
  return (Object.keys(a) as (keyof EndpointQueueState)[]).every((key) => a[key] === b[key]);
}
