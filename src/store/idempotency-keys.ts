// What an idempotency key's row says to a request (Store.beginIdempotent, the same decision in both adapters).
import type { IdempotencyState } from './store.js';

/**
 * The answer a key's row gives a request with `requestHash`: a mismatch, the stored response, or in progress; null
 * when the request takes the key (no row, an expired one, or one left in progress longer than `staleMs`).
 */
export function keyState(row: Record<string, unknown> | undefined, requestHash: string, nowMs: number, staleMs: number, ttlMs: number): IdempotencyState | null {
  if (!row || Number(row.created_at) <= nowMs - ttlMs) return null;
  if (row.request_hash !== requestHash) return { state: 'mismatch' };
  if (row.response_status !== null) return { state: 'done', response: { status: Number(row.response_status), body: row.response_body as string } };
  if (Number(row.created_at) > nowMs - staleMs) return { state: 'in_progress' };
  return null;
}
