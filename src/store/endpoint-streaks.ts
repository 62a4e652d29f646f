import { tellsAboutEndpoint } from './endpoint-signals.js';
import type { DeliveryResult } from './store.js';

/**
 * Per endpoint in an ack batch, what the endpoint's failure streak and automatic disabling need (both adapters'
 * completeDeliveries).
 */
export interface EndpointStreak {
  endpointId: string;
  /** Whether the endpoint's latest attempt in the batch succeeded. */
  lastOk: boolean;
  /** The earliest and latest failed attempt in the batch (null: none failed). */
  firstFail: number | null;
  lastFail: number | null;
  /** The latest attempt in the batch. */
  lastAt: number;
  /** Why an attempt asks to disable the endpoint (410 Gone), or null. */
  gone: string | null;
  /** False for the operator application's endpoints, which are never disabled automatically. */
  mayDisable: boolean;
}

export function endpointStreaks(results: readonly DeliveryResult[], urls: ReadonlyMap<string, string>, operatorAppId: string | null = null): EndpointStreak[] {
  const byEndpoint = new Map<string, EndpointStreak>();
  for (const result of results) {
    // An answer from a URL the endpoint no longer has, or a request cut off by a shutdown (tellsAboutEndpoint), neither
    // starts nor ends its streak.
    if (!tellsAboutEndpoint(result, urls)) continue;
    const { attempt, disableEndpoint } = result;
    const ok = attempt.status === 'success';
    let entry = byEndpoint.get(attempt.endpointId);
    if (!entry) {
      entry = { endpointId: attempt.endpointId, lastOk: ok, firstFail: null, lastFail: null, lastAt: attempt.createdAt, gone: null, mayDisable: attempt.appId !== operatorAppId };
      byEndpoint.set(attempt.endpointId, entry);
    }
    if (attempt.createdAt >= entry.lastAt) {
      entry.lastOk = ok;
      entry.lastAt = attempt.createdAt;
    }
    if (!ok) {
      entry.firstFail = Math.min(entry.firstFail ?? attempt.createdAt, attempt.createdAt);
      entry.lastFail = Math.max(entry.lastFail ?? attempt.createdAt, attempt.createdAt);
    }
    if (disableEndpoint && entry.mayDisable) entry.gone ??= disableEndpoint;
  }
  return [...byEndpoint.values()];
}
