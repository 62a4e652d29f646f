import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SCHEDULER_POLICY } from '../../src/domain/scheduler.js';
import { A_BACKLOG, REQUEST_TIMEOUT_MS, assertBUnaffected, runScenario, type Store } from './isolation.js';

/**
 * The four rows of issue 11, on one store: B keeps its latency whatever A's endpoint does. A and B share an origin
 * (except when A refuses connections), so neither a worker's slots nor its connections to that origin go to A.
 */
export function isolationSuite(store: Store): void {
  const initial = DEFAULT_SCHEDULER_POLICY.initialConcurrency;

  test(`[${store}] A answers after 2 s with a ${A_BACKLOG} backlog: B keeps p99 under 1 s, A drains at its own pace`, async () => {
    const result = await runScenario(store, 'slow');
    assertBUnaffected(result, `${store} slow`);
    assert.ok(result.aPendingAtEnd > 0, "A's backlog still existed while B was measured");
    const perSecond = result.aRequests / ((result.windowMs + 1000) / 1000);
    assert.ok(perSecond >= (0.6 * initial) / 2, `A drains at ${perSecond.toFixed(1)}/s: at least its initial budget (${initial}) per 2 s answer`);
  });

  test(`[${store}] A accepts connections and never answers: A holds at most its own budget, its circuit opens, B is unaffected`, async () => {
    const result = await runScenario(store, 'hang');
    assertBUnaffected(result, `${store} hang`);
    assert.ok(result.aPendingAtEnd > 0, "A's backlog still existed while B was measured");
    assert.ok(result.aPeakOpen <= initial, `A had ${result.aPeakOpen} requests open at once; its budget is ${initial}`);
    assert.notEqual(result.aStats.circuit.state, 'closed', "A's circuit opened after its timeouts");
    assert.equal(result.circuitsOpenMetric, 1, 'hookd_endpoint_circuits_open counts it');
    assert.ok(result.aAttempts <= initial + 3, `${result.aAttempts} attempts on A: its budget and probes, nothing more`);
  });

  test(`[${store}] A refuses connections (default retry schedule): its circuit opens, waiting deliveries spend no attempt, B is unaffected`, async () => {
    const result = await runScenario(store, 'refuse');
    assertBUnaffected(result, `${store} refuse`);
    assert.notEqual(result.aStats.circuit.state, 'closed', "A's circuit is open");
    assert.equal(result.circuitsOpenMetric, 1, 'hookd_endpoint_circuits_open counts it');
    assert.ok(result.aAttempts <= 2 * initial, `${result.aAttempts} attempts on A out of a ${A_BACKLOG} backlog: the rest wait behind the circuit`);
    assert.ok(result.aPendingAtEnd >= A_BACKLOG - 2 * initial, `${result.aPendingAtEnd} of A's deliveries still pending (none failed for lack of attempts)`);
  });

  test(`[${store}] A meets ten messages a second with a hang, a 1 B/s drip or a cut connection: B is unaffected, the drip costs A at most its timeout`, async () => {
    const result = await runScenario(store, 'hostile');
    assertBUnaffected(result, `${store} hostile`);
    assert.ok(result.aRequests >= 5, `A's hostile receiver got its messages (${result.aRequests})`);
    // The hang and the cut are failures (no answer); the drip answered 200 and is a success, as Svix judges one,
    // its body cut off at the request timeout: it held A's slot no longer than that.
    const failed = result.aOutcomes.filter((o) => o.statusCode === 0);
    const dripped = result.aOutcomes.filter((o) => o.statusCode === 200);
    assert.ok(failed.length >= 2 && dripped.length >= 1, `hangs and cuts failed, drips answered 200: ${JSON.stringify(result.aOutcomes)}`);
    for (const o of dripped) assert.ok(o.durationMs <= REQUEST_TIMEOUT_MS + 1500, `a drip held its slot ${o.durationMs} ms, the request timeout is ${REQUEST_TIMEOUT_MS} ms`);
  });
}
