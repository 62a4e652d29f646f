import type { AttemptSignal } from '../domain/scheduler.js';
import type { DeliveryResult } from './store.js';

/**
 * Whether a result's attempt went to its endpoint's URL as it is now. `urls`: each endpoint's current URL, read in
 * the ack's transaction (an endpoint missing from it, deleted meanwhile, counts as unchanged). A request on the wire
 * when an operator changed the URL answers for the old receiver: its timeout, 429 or 410 says nothing about the new
 * one, which must not inherit a circuit, a hold or an automatic disabling from it.
 */
export function toCurrentUrl(result: DeliveryResult, urls: ReadonlyMap<string, string>): boolean {
  const url = urls.get(result.attempt.endpointId);
  return url === undefined || url === result.attempt.url;
}

/**
 * Whether a result says anything about its endpoint's receiver (failure streak, circuit, hold): not when its attempt
 * went to a URL the endpoint no longer has, nor when hookd's shutdown cut it off.
 */
export const tellsAboutEndpoint = (result: DeliveryResult, urls: ReadonlyMap<string, string>): boolean => toCurrentUrl(result, urls) && !result.aborted;

/** Whether a result's attempt counts toward its delivery's attempts (not an aborted one, nor retriedAtNewUrl's). */
export const countsTowardAttempts = (result: DeliveryResult): boolean => !result.aborted && !result.uncounted;

/**
 * The result as its delivery takes it, when its attempt went to a URL the endpoint no longer has and would end the
 * delivery failed (a 410 Gone, or its last scheduled attempt failed): the old receiver's answer says nothing about
 * the new one, so the delivery stays pending, due at once, and that attempt does not count toward its attempts (the
 * adapters' acks see to the count). Null when the result stands as it is.
 */
export function retriedAtNewUrl(result: DeliveryResult, urls: ReadonlyMap<string, string>): DeliveryResult | null {
  if (result.next.status !== 'failed' || toCurrentUrl(result, urls)) return null;
  return retriedNow(result);
}

/** `result` as retriedAtNewUrl leaves it: pending, due at once, its attempt uncounted. */
export function retriedNow<R extends DeliveryResult>(result: R): R {
  return { ...result, next: { status: 'pending', nextAttemptAt: result.attempt.createdAt }, disableEndpoint: undefined, uncounted: true };
}

/** Each result as its ack took it (AckOutcome.retriedAtNewUrl), for what the worker reports of them. */
export function asAcked<R extends DeliveryResult>(results: R[], retried: readonly string[] | undefined): R[] {
  if (!retried || retried.length === 0) return results;
  const ids = new Set(retried);
  return results.map((result) => (ids.has(result.deliveryId) ? retriedNow(result) : result));
}

/** Each result as its ack takes it (retriedAtNewUrl), and the deliveries it turned into retries (AckOutcome.retriedAtNewUrl). */
export function takenAtCurrentUrls(results: readonly DeliveryResult[], urls: ReadonlyMap<string, string>): { taken: DeliveryResult[]; retried: string[] } {
  const retried: string[] = [];
  const taken = results.map((result) => {
    const retry = retriedAtNewUrl(result, urls);
    if (retry) retried.push(result.deliveryId);
    return retry ?? result;
  });
  return { taken, retried };
}

/**
 * Per endpoint in an ack batch, what its scheduler state learns from the results (both adapters'
 * completeDeliveries feed these to afterResults). `applied`: the deliveries whose lease still held, so whose ack
 * freed a slot and set the next attempt. A result from an endpoint's former URL (toCurrentUrl) still frees its slot
 * and sets its retry, and tells nothing else: no answer, no failure, no hold. Nor does a request cut off by a
 * shutdown (DeliveryResult.aborted).
 */
export function endpointSignals(results: readonly DeliveryResult[], applied: ReadonlySet<string>, urls: ReadonlyMap<string, string>): Map<string, AttemptSignal[]> {
  const byEndpoint = new Map<string, AttemptSignal[]>();
  for (const result of results) {
    const { attempt, next } = result;
    const held = applied.has(result.deliveryId);
    const current = tellsAboutEndpoint(result, urls);
    const signal: AttemptSignal = {
      at: attempt.createdAt,
      statusCode: current ? attempt.responseStatusCode : 0,
      durationMs: current ? attempt.responseDurationMs : 0,
      failure: current ? (result.failure ?? null) : null,
      retryAt: held && next.status === 'pending' ? next.nextAttemptAt : null,
      freed: held,
      holdUntil: current ? (result.holdEndpointUntil ?? null) : null,
    };
    const list = byEndpoint.get(attempt.endpointId);
    if (list) list.push(signal);
    else byEndpoint.set(attempt.endpointId, [signal]);
  }
  return byEndpoint;
}

/** The latest attempt time among an endpoint's signals: the ack's "now" for that endpoint's state. */
export function latestAt(signals: readonly AttemptSignal[]): number {
  return signals.reduce((latest, s) => Math.max(latest, s.at), 0);
}
