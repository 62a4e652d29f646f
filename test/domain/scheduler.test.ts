import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ADAPTIVE_CEILING,
  DEFAULT_SCHEDULER_POLICY as policy,
  afterResults,
  budgetOf,
  circuitState,
  initialQueueState,
  originCache,
  planClaim,
  settleClaim,
  urlOrigin,
  type AttemptSignal,
  type EndpointQueueState,
  type ReadyEndpoint,
} from '../../src/domain/scheduler.js';

const T0 = 1_000_000;
const roomy = (): number => 1000;

function ready(id: string, overrides: Partial<ReadyEndpoint> = {}, state: Partial<EndpointQueueState> = {}): ReadyEndpoint {
  return {
    endpointId: id,
    appId: 'app_1',
    url: `http://${id}.example/hook`,
    rateLimit: null,
    maxConcurrency: null,
    unsendable: false,
    state: { ...initialQueueState(policy, T0), ...state },
    ...overrides,
  };
}

function answer(statusCode: number, at = T0, durationMs = 20, extra: Partial<AttemptSignal> = {}): AttemptSignal {
  return { at, statusCode, durationMs, failure: null, retryAt: null, freed: true, holdUntil: null, ...extra };
}

function failure(kind: 'timeout' | 'connection', at = T0, retryAt: number | null = null): AttemptSignal {
  return { at, statusCode: 0, durationMs: 0, failure: kind, retryAt, freed: true, holdUntil: null };
}

const takes = (plans: ReturnType<typeof planClaim>): Record<string, number> => Object.fromEntries(plans.map((p) => [p.endpoint.endpointId, p.take]));

describe('claim planning', () => {
  test('slots are dealt round-robin across endpoints, each up to its budget', () => {
    const plans = planClaim([ready('a'), ready('b'), ready('c', {}, { inFlight: 15 })], 10, T0, policy, roomy);
    assert.deepEqual(takes(plans), { a: 5, b: 4, c: 1 }, 'c had one slot of its 16 left; a and b share the rest');
  });

  test('a single endpoint gets the whole claim, up to its budget', () => {
    assert.deepEqual(takes(planClaim([ready('a')], 100, T0, policy, roomy)), { a: 16 });
    assert.deepEqual(takes(planClaim([ready('a', {}, { concurrency: 400 })], 100, T0, policy, roomy)), { a: 100 });
  });

  test('applications share first: an application with many endpoints does not crowd out one with a single endpoint', () => {
    const many = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'].map((id) => ready(id, { appId: 'app_a' }));
    const plans = planClaim([...many, ready('b1', { appId: 'app_b' })], 6, T0, policy, roomy);
    assert.equal(takes(plans).b1, 3, 'app_b gets half the slots');
    assert.equal(plans.filter((p) => p.endpoint.appId === 'app_a').reduce((n, p) => n + p.take, 0), 3);
    assert.deepEqual(
      plans.filter((p) => p.passedOver).map((p) => [p.endpoint.endpointId, p.passedOver]),
      [['a4', 'slots'], ['a5', 'slots'], ['a6', 'slots']],
      'a4-a6 keep their place for the next claim',
    );
  });

  test("a worker's room for an origin is shared by that origin's endpoints", () => {
    const sameOrigin = [ready('a', { url: 'http://shared.example/1' }), ready('b', { url: 'http://shared.example/2' }), ready('c')];
    const plans = planClaim(sameOrigin, 100, T0, policy, (origin) => (origin === 'http://shared.example' ? 3 : 1000));
    assert.deepEqual(takes(plans), { a: 2, b: 1, c: 16 });
    assert.equal(plans.filter((p) => p.passedOver).length, 0, 'each got some: they go to the back of the line');
    const blocked = planClaim(sameOrigin, 100, T0, policy, (origin) => (origin === 'http://shared.example' ? 1 : 1000));
    assert.deepEqual(takes(blocked), { a: 1, b: 0, c: 16 });
    assert.deepEqual(
      blocked.filter((p) => p.passedOver).map((p) => [p.endpoint.endpointId, p.passedOver]),
      [['b', 'origin']],
      'an endpoint that got nothing because of its origin is passed over for it (the store puts it at the back of the line)',
    );
  });

  test('a disabled or deleted endpoint takes no slot: its due deliveries are failed up to the claim size', () => {
    assert.deepEqual(takes(planClaim([ready('gone', { unsendable: true }), ready('b')], 10, T0, policy, roomy)), { gone: 10, b: 10 });
  });

  test('a rate limit admits one delivery per interval, restarting after a stall instead of bursting', () => {
    const limited = (rateNextAt: number | null): ReadyEndpoint => ready('r', { rateLimit: 10 }, { rateNextAt });
    assert.equal(planClaim([limited(null)], 10, T0, policy, roomy)[0]!.take, 1);
    assert.equal(planClaim([limited(T0 + 50)], 10, T0, policy, roomy)[0]!.take, 0, 'not before its slot');
    assert.equal(planClaim([limited(T0 - 100)], 10, T0, policy, roomy)[0]!.take, 2, 'one interval late: catches up');
    assert.equal(planClaim([limited(T0 - 10_000)], 10, T0, policy, roomy)[0]!.take, 1, 'long stalled: restarts');
    const [plan] = planClaim([limited(null)], 10, T0, policy, roomy);
    const { state, next } = settleClaim(plan!, 1, T0);
    assert.equal(state.rateNextAt, T0 + 100);
    assert.deepEqual(next, { kind: 'at', at: T0 + 100 });
  });

  test('after a claim: a full budget waits for a lease or an ack, otherwise the endpoint goes to the back of the line', () => {
    const [full] = planClaim([ready('a', {}, { inFlight: 10 })], 100, T0, policy, roomy);
    const settled = settleClaim(full!, 6, T0 + 5);
    assert.deepEqual(settled.next, { kind: 'lease' });
    assert.equal(settled.state.saturated, true);
    const [partial] = planClaim([ready('a')], 100, T0, policy, roomy);
    const fewer = settleClaim(partial!, 3, T0 + 5);
    assert.deepEqual(fewer.next, { kind: 'at', at: T0 + 5 }, 'it had only 3 due: not saturated');
    assert.equal(fewer.state.saturated, false);
  });
});

describe('adaptive concurrency', () => {
  test('fast answers grow the limit only while the endpoint uses its whole budget: slow start, then +4 per round', () => {
    const idle = afterResults(initialQueueState(policy), [answer(200), answer(200)], null, T0, policy);
    assert.equal(idle.concurrency, 16, 'not saturated: no evidence more would help');
    const busy = { ...initialQueueState(policy), saturated: true };
    assert.equal(afterResults(busy, Array.from({ length: 16 }, () => answer(200)), null, T0, policy).concurrency, 32, 'slow start doubles per round');
    const avoid = { ...busy, concurrency: 40, slowStartLimit: 20 };
    assert.equal(afterResults(avoid, Array.from({ length: 40 }, () => answer(200)), null, T0, policy).concurrency, 44, 'then four more per round');
    assert.equal(afterResults({ ...busy, concurrency: ADAPTIVE_CEILING }, [answer(200)], null, T0, policy).concurrency, ADAPTIVE_CEILING);
    assert.equal(afterResults(busy, [answer(200), answer(200)], 17, T0, policy).concurrency, 17, 'never beyond the endpoint cap');
    assert.equal(afterResults(busy, [answer(200, T0, 9000)], null, T0, policy).concurrency, 16, 'slow answers do not grow it');
  });

  test('timeouts, connection failures, 429 and 503 halve the limit, at most once per second', () => {
    const busy = { ...initialQueueState(policy), concurrency: 64, saturated: true };
    const once = afterResults(busy, [failure('timeout'), failure('timeout', T0 + 1), answer(503, T0 + 2)], null, T0, policy);
    assert.equal(once.concurrency, 32);
    assert.equal(once.slowStartLimit, 32);
    assert.equal(afterResults(once, [answer(429)], null, T0 + 500, policy).concurrency, 32, 'the same congestion event');
    assert.equal(afterResults(once, [answer(429)], null, T0 + 1000, policy).concurrency, 16);
    let shrinking = once;
    for (let i = 1; i <= 10; i++) shrinking = afterResults(shrinking, [failure('connection', T0 + i * 1000)], null, T0 + i * 1000, policy);
    assert.equal(shrinking.concurrency, 1, 'never below one');
    assert.equal(budgetOf({ ...initialQueueState(policy), concurrency: 0.5 }, null, T0, policy), 1);
  });
});

describe("a receiver's Retry-After holds the endpoint", () => {
  test('a 429 or 503 with Retry-After: nothing is claimed for it until then, a rate-limited one restarts its slots there; a later hold wins, an earlier one does not shorten it', () => {
    const held = afterResults(initialQueueState(policy), [answer(429, T0, 20, { holdUntil: T0 + 30_000 })], null, T0, policy);
    assert.equal(held.rateNextAt, T0 + 30_000);
    assert.equal(planClaim([ready('a', {}, held)], 100, T0 + 29_999, policy, roomy)[0]!.take, 0, 'held: no slot');
    const [waiting] = planClaim([ready('a', {}, held)], 100, T0 + 1_000, policy, roomy);
    assert.deepEqual(settleClaim(waiting!, 0, T0 + 1_000).next, { kind: 'at', at: T0 + 30_000 }, 'looked at again when the hold ends');
    assert.equal(planClaim([ready('a', {}, held)], 100, T0 + 30_000, policy, roomy)[0]!.take, 8, 'then its budget, halved by the 429');
    assert.equal(planClaim([ready('r', { rateLimit: 10 }, held)], 100, T0 + 30_000, policy, roomy)[0]!.take, 1, 'a rate limit restarts at the end of the hold');
    const sooner = afterResults(held, [answer(503, T0 + 10, 20, { holdUntil: T0 + 5_000 })], null, T0 + 10, policy);
    assert.equal(sooner.rateNextAt, T0 + 30_000, 'an earlier hold does not shorten it');
    assert.equal(afterResults(held, [answer(429, T0 + 10, 20, { holdUntil: T0 + 60_000 })], null, T0 + 10, policy).rateNextAt, T0 + 60_000);
    assert.equal(afterResults(initialQueueState(policy), [answer(500, T0, 20, { holdUntil: T0 + 60_000 })], null, T0, policy).rateNextAt, null, 'only 429 and 503 hold');
  });
});

describe('latency signal', () => {
  test('the usual latency follows faster answers at once and slower ones slowly', () => {
    let state = afterResults(initialQueueState(policy), [answer(200, T0, 40)], null, T0, policy);
    assert.equal(state.latencyMs, 40);
    state = afterResults(state, [answer(200, T0, 20)], null, T0, policy);
    assert.equal(state.latencyMs, 20);
    state = afterResults(state, [answer(200, T0, 36)], null, T0, policy);
    assert.equal(state.latencyMs, 21);
  });

  test('a batch far slower than usual (a receiver starting to queue) halves the limit before any timeout', () => {
    const usual = { ...initialQueueState(policy), concurrency: 64, slowStartLimit: 1000, saturated: true, latencyMs: 20 };
    const batch = (...ms: number[]): AttemptSignal[] => ms.map((d) => answer(200, T0, d));
    assert.equal(afterResults(usual, batch(30, 40), null, T0, policy).concurrency, 66, 'near usual: grows');
    assert.equal(afterResults(usual, batch(60, 65), null, T0, policy).concurrency, 64, 'slower: no growth, no cut');
    assert.equal(afterResults(usual, batch(300, 350, 400, 420), null, T0, policy).concurrency, 32, 'queueing: halved');
    assert.equal(afterResults(usual, batch(20, 400), null, T0, policy).concurrency, 65, 'one slow answer is noise');
    assert.equal(afterResults({ ...usual, saturated: false }, batch(300, 350, 400, 420), null, T0, policy).concurrency, 64, 'not driven hard: not our doing');
    const slowReceiver = { ...usual, latencyMs: 2000 };
    assert.equal(afterResults(slowReceiver, batch(2100), null, T0, policy).concurrency, 65, 'a receiver that is always slow is not queueing');
  });
});

describe('circuit breaker', () => {
  test('consecutive timeouts or connection failures open it; an HTTP answer in between resets the count', () => {
    let state = initialQueueState(policy);
    state = afterResults(state, [failure('timeout'), failure('connection'), answer(500), failure('timeout')], null, T0, policy);
    assert.equal(state.failureStreak, 1);
    assert.equal(circuitState(state, T0), 'closed');
    state = afterResults(state, [1, 2, 3, 4].map((i) => failure('connection', T0 + i, T0 + 5000)), null, T0 + 10, policy);
    assert.equal(circuitState(state, T0 + 10), 'open');
    assert.equal(state.circuitRetryAt, T0 + 10 + policy.circuitCooldownMs);
    assert.equal(state.readyAt, state.circuitRetryAt, 'nothing is looked at before the probe');
    assert.equal(budgetOf(state, null, T0 + 11, policy), 0);
  });

  test('after the cool-down one probe goes; a failed probe doubles the cool-down, an answer closes it and restarts slowly', () => {
    let state = afterResults(initialQueueState(policy), Array.from({ length: 5 }, () => failure('timeout')), null, T0, policy);
    const probeAt = state.circuitRetryAt!;
    assert.equal(circuitState(state, probeAt), 'half-open');
    assert.equal(budgetOf(state, null, probeAt, policy), 1);
    state = afterResults(state, [failure('timeout', probeAt + 100)], null, probeAt + 100, policy);
    assert.equal(state.circuitRetryAt, probeAt + 100 + 2 * policy.circuitCooldownMs);
    assert.equal(state.circuitOpenings, 2);
    const again = state.circuitRetryAt!;
    state = afterResults(state, [answer(500, again + 10)], null, again + 10, policy);
    assert.equal(circuitState(state, again + 10), 'closed');
    assert.equal(state.failureStreak, 0);
    assert.equal(state.concurrency, 1);
    assert.equal(state.slowStartLimit, policy.initialConcurrency);
    assert.ok(state.readyAt! <= again + 10, 'what waited behind the circuit is due at once');
  });

  test('a failure of a request sent before the cool-down ended is not a failed probe', () => {
    let state = afterResults(initialQueueState(policy), Array.from({ length: 5 }, () => failure('timeout')), null, T0, policy);
    const probeAt = state.circuitRetryAt!;
    // Sent before the circuit opened, timed out after the cool-down: the circuit stays half-open for its probe.
    const late = { ...failure('timeout', probeAt + 10), durationMs: probeAt + 10 - (T0 - 1) };
    state = afterResults(state, [late], null, probeAt + 10, policy);
    assert.equal(state.circuitRetryAt, probeAt);
    assert.equal(state.circuitOpenings, 1);
    assert.equal(circuitState(state, probeAt + 10), 'half-open');
  });

  test('an attempt with neither an answer nor a failure of the endpoint (cut off by a shutdown) changes nothing', () => {
    const open = afterResults(initialQueueState(policy), Array.from({ length: 5 }, () => failure('timeout')), null, T0, policy);
    const probeAt = open.circuitRetryAt!;
    const aborted: AttemptSignal = { at: probeAt + 5, statusCode: 0, durationMs: 3, failure: null, retryAt: probeAt + 5, freed: true, holdUntil: null };
    const after = afterResults(open, [aborted], null, probeAt + 5, policy);
    assert.equal(after.circuitOpenedAt, open.circuitOpenedAt, 'still open: no answer came');
    assert.equal(after.failureStreak, open.failureStreak);
    const streak = afterResults({ ...initialQueueState(policy), failureStreak: 3 }, [aborted], null, T0, policy);
    assert.equal(streak.failureStreak, 3);
  });

  test('the cool-down is capped', () => {
    let state = { ...initialQueueState(policy), failureStreak: 4 };
    for (let i = 0; i < 12; i++) {
      const now = T0 + i * 1_000_000;
      state = afterResults(state, [failure('timeout', now)], null, now, policy);
    }
    assert.equal(state.circuitRetryAt! - (T0 + 11 * 1_000_000), policy.circuitMaxCooldownMs);
  });
});

describe('readiness after an ack', () => {
  test('a retry brings readyAt forward; a freed slot of a saturated endpoint makes it ready now', () => {
    const later = { ...initialQueueState(policy, T0 + 30_000) };
    assert.equal(afterResults(later, [answer(500, T0, 5, { retryAt: T0 + 5000 })], null, T0, policy).readyAt, T0 + 5000);
    assert.equal(afterResults(later, [answer(200)], null, T0, policy).readyAt, T0 + 30_000, 'not saturated: nothing waits for the slot');
    assert.equal(afterResults({ ...later, saturated: true }, [answer(200)], null, T0, policy).readyAt, T0);
    assert.equal(afterResults({ ...later, saturated: true }, [answer(200, T0, 5, { freed: false })], null, T0, policy).readyAt, T0 + 30_000, 'a lost lease frees nothing');
  });
});

test("the origin cache stays within its character budget, however long endpoints' URLs are", () => {
  const long = (i: number): string => `https://receiver${i}.example/${'p'.repeat(65_000)}`;
  for (let i = 0; i < 200; i++) assert.equal(urlOrigin(long(i)), `https://receiver${i}.example`);
  assert.ok(originCache().chars <= 4_000_000, `${originCache().chars} characters cached`);
  assert.ok(originCache().entries < 200, 'older entries were let go');
  assert.equal(urlOrigin('not a url'), 'not a url', 'an unparsable URL is its own origin');
});
