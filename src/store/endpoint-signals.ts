import type { AttemptSignal } from '../domain/scheduler.js';
import type { DeliveryResult } from './store.js';

/**
 * Per endpoint in an ack batch, what its scheduler state learns from the results (both adapters'
 * completeDeliveries feed these to afterResults). `applied`: the deliveries whose lease still held, so whose ack
 * freed a slot and set the next attempt.
 */
export function endpointSignals(results: readonly DeliveryResult[], applied: ReadonlySet<string>): Map<string, AttemptSignal[]> {
  const byEndpoint = new Map<string, AttemptSignal[]>();
  for (const result of results) {
    const { attempt, next } = result;
    const held = applied.has(result.deliveryId);
    const signal: AttemptSignal = {
      at: attempt.createdAt,
      statusCode: attempt.responseStatusCode,
      durationMs: attempt.responseDurationMs,
      failure: result.failure ?? null,
      retryAt: held && next.status === 'pending' ? next.nextAttemptAt : null,
      freed: held,
      holdUntil: result.holdEndpointUntil ?? null,
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
