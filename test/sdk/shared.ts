/**
 * What the SDK contract scenarios (js-v1, js-v2, python, go) share: a real hookd and receiver per test, the receiver's
 * requests in the shape the SDKs' Webhook classes take, and the checks that are the same whatever SDK made the
 * calls (a throttled endpoint's arrival times).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { Receiver, type ReceivedRequest } from '../helpers/receiver.js';

export interface SdkEnv {
  hookd: TestHookd;
  receiver: Receiver;
}

/** Runs `body` against a fresh hookd (API + worker, temp SQLite) and receiver, and always closes both. */
export async function withHookd(body: (env: SdkEnv) => Promise<void>): Promise<void> {
  const hookd = await startTestHookd();
  let receiver: Receiver | null = null;
  try {
    receiver = await Receiver.start();
    await body({ hookd, receiver });
  } finally {
    await receiver?.close();
    await hookd.cleanup();
  }
}

export const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The receiver's recorded headers as a flat string map (what every SDK's Webhook.verify takes). */
export function headersOf(request: ReceivedRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

export const at = (receiver: Receiver, path: string): ReceivedRequest[] => receiver.requests.filter((r) => r.path === path);

/** Answers 500 "boom" on the paths in `failing` (changeable while the test runs), 200 "ok" elsewhere. */
export function failOn(receiver: Receiver, failing: Set<string>): void {
  receiver.responder = (request, response) => {
    const fail = failing.has(request.path);
    response.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain' });
    response.end(fail ? 'boom' : 'ok');
  };
}

/**
 * An event type schema with an example, as Svix's send-example reads it: the first of `schemas["1"].examples`.
 */
export const exampleSchemas = (example: Record<string, unknown>) => ({ '1': { type: 'object', examples: [example] } });

/** How many messages the throttle scenarios send, and at which rate (messages per second). */
export const THROTTLE = { rate: 4, messages: 8 };

/**
 * Checks that deliveries to an endpoint with `throttleRate` = rate were spread out: unthrottled, hookd sends all of
 * them within ~100 ms. hookd spaces them 1000/rate ms apart; arrivals jitter by the send latency of a loaded
 * machine, hence a little slack on the span and one extra delivery in the busiest second.
 */
export function assertThrottled(requests: ReceivedRequest[], rate: number): void {
  const times = requests.map((r) => r.at).sort((a, b) => a - b);
  const span = times[times.length - 1]! - times[0]!;
  const spacing = 1000 / rate;
  assert.ok(span >= (times.length - 1) * spacing - 300, `${times.length} deliveries took ${span} ms; at ${rate}/s they need ~${(times.length - 1) * spacing} ms`);
  let busiest = 0;
  for (const start of times) busiest = Math.max(busiest, times.filter((t) => t >= start && t < start + 1000).length);
  assert.ok(busiest <= rate + 1, `${busiest} deliveries within one second; the endpoint's throttleRate is ${rate}/s`);
}

/**
 * What the filter/throttle scenarios must see after sending one user.created, one invoice.paid and THROTTLE.messages
 * ticks to endpoints at /filtered (invoice.paid only), /throttled (tick only, THROTTLE.rate) and /all (no filter).
 * `verify` checks a delivery with the SDK's own Webhook class and returns its payload.
 */
export async function assertFilteredAndThrottled(receiver: Receiver, ids: { user: string; invoice: string }, verify: (request: ReceivedRequest) => unknown): Promise<void> {
  await receiver.waitFor(() => at(receiver, '/all').length === THROTTLE.messages + 2 && at(receiver, '/throttled').length >= THROTTLE.messages, 15_000, 'unfiltered and throttled deliveries');
  await sleep(300);
  assert.deepEqual(at(receiver, '/filtered').map((r) => r.headers['webhook-id']), [ids.invoice], 'the filtered endpoint got only invoice.paid');
  assert.equal(at(receiver, '/throttled').length, THROTTLE.messages, 'the throttled endpoint got only its event type');
  assert.deepEqual(verify(at(receiver, '/filtered')[0]!), { n: 2 });
  assert.ok(at(receiver, '/all').some((r) => r.headers['webhook-id'] === ids.user), 'the unfiltered endpoint got user.created');
  assertThrottled(at(receiver, '/throttled'), THROTTLE.rate);
}

/**
 * Awaits a call that must fail with an HTTP error: it must throw the SDK's own `exception` class (each SDK generation
 * has its own) with `status`; returns it for the caller to read its body.
 */
export async function expectApiError<E extends { code: number; body: any }>(promise: Promise<unknown>, status: number, exception: abstract new (...args: any[]) => E): Promise<E> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof exception, `expected ${exception.name}, got ${String(error)}`);
    assert.equal(error.code, status, `expected HTTP ${status}, got ${error.code}: ${JSON.stringify(error.body)}`);
    return error;
  }
  assert.fail(`expected an ${exception.name} with HTTP ${status}, but the call succeeded`);
}
