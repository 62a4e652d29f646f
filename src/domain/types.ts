/** Domain records as the rest of the code sees them (camelCase, epoch milliseconds). */

export interface App {
  id: string;
  uid: string | null;
  name: string;
  metadata: Record<string, string>;
  /**
   * Messages per second each of the application's endpoints is sent at most (Svix's `throttleRate`, v1 `rateLimit`):
   * the default for endpoints without a rate limit of their own. Null: none.
   */
  rateLimit: number | null;
  /**
   * Messages per second the application may ingest (hookd's own field; null: `HOOKD_APP_RATE_LIMIT`, 0: not limited).
   * Only an admin key sets it.
   */
  ingestRateLimit: number | null;
  createdAt: number;
  updatedAt: number;
}

/** One signing secret. `expiresAt` is null for the current secret, set for secrets in their rotation grace period. */
export interface EndpointSecret {
  key: string;
  expiresAt: number | null;
}

export interface Endpoint {
  id: string;
  appId: string;
  uid: string | null;
  url: string;
  description: string;
  version: number;
  disabled: boolean;
  disabledReason: string | null;
  filterTypes: string[] | null;
  channels: string[] | null;
  headers: Record<string, string>;
  rateLimit: number | null;
  /** Most deliveries in flight to this endpoint at once, across all workers (null: the configured default). */
  maxConcurrency: number | null;
  secrets: EndpointSecret[];
  metadata: Record<string, string>;
  firstFailureAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface EventType {
  name: string;
  description: string;
  archived: boolean;
  deprecated: boolean;
  schemas: Record<string, unknown> | null;
  featureFlag: string | null;
  groupName: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface Message {
  id: string;
  appId: string;
  eventId: string | null;
  eventType: string;
  /** The payload exactly as it is sent: compact JSON text. */
  payload: string;
  channels: string[] | null;
  tags: string[] | null;
  createdAt: number;
  /** When its payload was expunged (then `{"expired":true}`, never sent again); absent or null: never. */
  expungedAt?: number | null;
  /**
   * At insert only, never stored: the uid the sender named the application by. The message is stored only if the
   * application still has that uid (else `no-app`): a lookup remembered from before a rename can never send it to
   * the application that had the uid before.
   */
  addressedUid?: string;
}

/** Delivery states. `pending` deliveries are due at `nextAttemptAt`; a leased one is in flight. */
export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

/** Svix MessageAttemptTriggerType: 0 = scheduled, 1 = manual (resend / recover). */
export type TriggerType = 0 | 1;

/** Svix MessageStatus: 0 success, 1 pending, 2 fail, 3 sending. */
export const MessageStatus = { success: 0, pending: 1, fail: 2, sending: 3 } as const;
export type MessageStatusText = keyof typeof MessageStatus;

export interface Delivery {
  id: string;
  messageId: string;
  endpointId: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  nextTrigger: TriggerType;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  lastError: string | null;
  updatedAt: number;
}

export interface Attempt {
  id: string;
  messageId: string;
  endpointId: string;
  deliveryId: string;
  appId: string;
  url: string;
  status: 'success' | 'fail';
  responseStatusCode: number;
  response: string;
  responseDurationMs: number;
  triggerType: TriggerType;
  error: string | null;
  /** The request's headers as sent (sensitive custom headers' values redacted); null for attempts made before hookd kept them. */
  requestHeaders: Record<string, string> | null;
  /** The response's headers (at most RESPONSE_HEADERS_LIMIT_BYTES of them); null when no response arrived. */
  responseHeaders: Record<string, string> | null;
  /**
   * When the attempt ended (its answer came, or it failed): its start plus its request's measured duration. The time
   * the scheduler and the ack go by.
   */
  createdAt: number;
}

/**
 * When the attempt's request started: its `timestamp` in the API, as Svix stamps an attempt, and the time the attempt
 * lists filter on (their order, by id, is already that of the starts). SQL: ATTEMPT_STARTED_AT. The worker records
 * `createdAt` as the start plus the duration, so this is the start to the millisecond (the time its signature carries).
 */
export const attemptStartedAt = (a: Pick<Attempt, 'createdAt' | 'responseDurationMs'>): number => a.createdAt - a.responseDurationMs;

/** Svix's background task kinds that hookd has: an endpoint's recovery, replay and bulk replay, an expunge-all-contents. */
export type BackgroundTaskType = 'endpoint.recover' | 'endpoint.replay' | 'endpoint.bulk-replay' | 'application.purge_content';

/**
 * A background task (Svix's BackgroundTaskOut): what a recovery, a replay or an expunge-all-contents did, kept so that an
 * SDK that polls the task id it was given finds it. hookd runs each before it answers, so each is recorded finished.
 */
export interface BackgroundTask {
  id: string;
  appId: string;
  task: BackgroundTaskType;
  status: 'running' | 'finished' | 'failed';
  /** What the task was asked and what it did (Svix's messagesSent or messagesPurged; its endpoint and window). */
  data: Record<string, unknown>;
  updatedAt: number;
}

export interface ApiKey {
  id: string;
  appId: string | null;
  name: string;
  prefix: string;
  createdAt: number;
  revokedAt: number | null;
  /** After this time the key is refused (app-portal tokens); null: never. */
  expiresAt: number | null;
  /** The key may only read (GET): an app-portal token with read-only access. */
  readOnly: boolean;
  /**
   * The Svix app-portal capabilities the key is limited to (an app-portal token asked for with `capabilities`);
   * null: not limited beyond its scope and readOnly.
   */
  capabilities: PortalCapability[] | null;
}

/** Svix's app-portal capabilities: what a portal token may see and do (src/api/capabilities.ts). */
export const PORTAL_CAPABILITIES = ['ViewBase', 'ViewEndpointSecret', 'ManageEndpointSecret', 'ManageTransformations', 'CreateAttempts', 'ManageEndpoint'] as const;
export type PortalCapability = (typeof PORTAL_CAPABILITIES)[number];

/** A page of a cursor list, in the Svix wire shape. */
export interface Page<T> {
  data: T[];
  iterator: string | null;
  prevIterator: string | null;
  done: boolean;
}
