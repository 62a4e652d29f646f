// What the store contract suites share (test/store/*.contract.test.ts, each run against every adapter): records
// to store, an attempt and its result, a claim as a worker makes it, and a fresh database per test.
import { newEndpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import type { App, Attempt, Endpoint, Message } from '../../src/domain/types.js';
import type { ClaimedDelivery, ClaimRequest, DeliveryResult, Store } from '../../src/store/store.js';
import type { StoreAdapter } from './store-adapters.js';

export const T0 = Date.UTC(2026, 0, 1);

export function makeApp(uid: string | null = null): App {
  return { id: newId('app', T0), uid, name: 'test app', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: T0, updatedAt: T0 };
}

export function makeEndpoint(appId: string, overrides: Partial<Endpoint> = {}): Endpoint {
  return { ...newEndpoint({ appId, url: 'http://127.0.0.1:1/hook' }, T0), ...overrides };
}

export function makeMessage(appId: string, overrides: Partial<Message> = {}): Message {
  return { id: newId('msg', T0), appId, eventId: null, eventType: 'user.signup', payload: '{"a":1}', channels: null, tags: null, createdAt: T0, ...overrides };
}

export function attemptFor(deliveryId: string, message: Message, endpointId: string, status: Attempt['status'], at: number): Attempt {
  return {
    id: newId('atmpt', at),
    messageId: message.id,
    endpointId,
    deliveryId,
    appId: message.appId,
    url: 'http://127.0.0.1:1/hook',
    status,
    responseStatusCode: status === 'success' ? 200 : 500,
    response: '',
    responseDurationMs: 3,
    triggerType: 0,
    error: status === 'success' ? null : 'HTTP 500',
    requestHeaders: { 'content-type': 'application/json', 'webhook-id': message.id },
    responseHeaders: status === 'success' ? { 'content-type': 'text/plain', 'x-trace': 'a, b' } : null,
    createdAt: at,
  };
}

/** The result of claimed delivery `c`'s attempt (attemptFor) by `owner` at `at`, its delivery going on as `next`. */
export function resultOf(c: ClaimedDelivery, owner: string, status: Attempt['status'], at: number, next: DeliveryResult['next']): DeliveryResult {
  return { deliveryId: c.delivery.id, leaseOwner: owner, attempt: attemptFor(c.delivery.id, { ...makeMessage(c.message.appId), id: c.message.id }, c.endpoint.id, status, at), next };
}

/** Claims as a worker would, with the default scheduler policy unless `extra` says otherwise. */
export function claim(s: Store, owner: string, limit: number, leaseMs: number, nowMs: number, extra: Partial<ClaimRequest> = {}): Promise<ClaimedDelivery[]> {
  return s.claimDeliveries({ owner, limit, leaseMs, nowMs, ...extra });
}

/** An app with one endpoint, stored. */
export async function seedEndpoint(s: Store, overrides: Partial<Endpoint> = {}): Promise<{ app: App; endpoint: Endpoint }> {
  const app = makeApp();
  await s.createApp(app);
  const endpoint = makeEndpoint(app.id, overrides);
  await s.createEndpoint(endpoint);
  return { app, endpoint };
}

/** A delivery's next state: another attempt at `at`. */
export const retry = (at: number): DeliveryResult['next'] => ({ status: 'pending', nextAttemptAt: at });

/** Runs `work` on a fresh, empty database of `adapter` (for tests that need a clean queue). */
export async function freshStore(adapter: StoreAdapter, work: (s: Store) => Promise<void>): Promise<void> {
  const opened = await adapter.open();
  try {
    await work(opened.store);
  } finally {
    await opened.close();
  }
}
