import type {
  ApiKey,
  App,
  Attempt,
  Delivery,
  DeliveryStatus,
  Endpoint,
  EventType,
  Message,
  Page,
} from '../domain/types.js';

/**
 * The one storage interface. SQL lives only in the adapters (sqlite/, postgres/); everything else talks to
 * this. All methods are async so both adapters fit; the SQLite adapter resolves synchronously underneath.
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** Applies pending numbered migrations; returns the versions applied. */
  migrate(): Promise<number[]>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;

  createApiKey(key: ApiKey, sha256Hash: string): Promise<void>;
  /** The active (not revoked) key with this hash, or null. */
  findApiKeyByHash(sha256Hash: string): Promise<ApiKey | null>;
  listApiKeys(): Promise<ApiKey[]>;
  /** Revokes by id; returns false when no active key has that id. */
  revokeApiKey(id: string, nowMs: number): Promise<boolean>;

  /** Throws a conflict error when the uid is taken. */
  createApp(app: App): Promise<void>;
  getApp(idOrUid: string): Promise<App | null>;
  listApps(page: PageRequest): Promise<Page<App>>;
  /** Throws a conflict error when the new uid is taken. */
  updateApp(app: App): Promise<void>;
  /** Deletes the app and everything it owns. */
  deleteApp(id: string): Promise<void>;

  createEndpoint(endpoint: Endpoint): Promise<void>;
  /** A live (not deleted) endpoint of the app by id or uid. */
  getEndpoint(appId: string, idOrUid: string): Promise<Endpoint | null>;
  listEndpoints(appId: string, page: PageRequest): Promise<Page<Endpoint>>;
  updateEndpoint(endpoint: Endpoint): Promise<void>;
  /** Soft-deletes the endpoint and fails its pending deliveries. */
  deleteEndpoint(appId: string, id: string, nowMs: number): Promise<void>;

  createEventType(eventType: EventType): Promise<void>;
  getEventType(name: string): Promise<EventType | null>;
  listEventTypes(page: PageRequest & { includeArchived: boolean }): Promise<Page<EventType>>;
  updateEventType(eventType: EventType): Promise<void>;
  /** `expunge` removes the row; otherwise the event type is archived. Returns false when it does not exist. */
  deleteEventType(name: string, expunge: boolean, nowMs: number): Promise<boolean>;

  /**
   * Inserts messages and, in the same transaction, one pending delivery per matching endpoint (fan-out).
   * Many messages go in one transaction (group commit). A message whose (appId, eventId) exists already is
   * not inserted; its result is `duplicate`.
   */
  insertMessages(messages: Message[]): Promise<InsertMessageResult[]>;
  /** A message of the app by id or eventId. */
  getMessage(appId: string, idOrEventId: string): Promise<Message | null>;
  listMessages(appId: string, filter: MessageFilter, page: PageRequest): Promise<Page<Message>>;

  /**
   * Leases up to `limit` due pending deliveries, oldest due first, for `leaseMs`. A leased delivery is not
   * due again until its lease expires, so a crashed worker's work is redone, never lost. Deliveries whose
   * endpoint is disabled or deleted are failed instead of returned. Per-endpoint rate limits and concurrency
   * caps (domain/throttle.ts) are applied here, so they hold across every worker: a delivery that may not go
   * now is deferred instead of returned. `defaultMaxConcurrency` (0 = none) caps endpoints without their own.
   */
  claimDeliveries(owner: string, limit: number, leaseMs: number, nowMs: number, defaultMaxConcurrency?: number): Promise<ClaimedDelivery[]>;
  /** Records attempts and applies each delivery's next state, in one transaction. */
  completeDeliveries(results: DeliveryResult[]): Promise<void>;
  /**
   * Heartbeat: extends `owner`'s leases on these deliveries to `leaseExpiresAt`, so work that is still queued
   * or in flight in a live worker is never claimed by another. Returns how many leases were still held.
   */
  extendLeases(owner: string, deliveryIds: string[], leaseExpiresAt: number): Promise<number>;
  /** Gives back leases still held by `owner` (graceful shutdown): the deliveries are due at once. */
  releaseDeliveries(owner: string, nowMs: number): Promise<number>;
  /**
   * Calls `listener` when another process commits deliveries that are due now (PostgreSQL LISTEN/NOTIFY).
   * SQLite runs in one process, where the ingest path wakes the worker directly: the listener never fires.
   * Returns an unsubscribe function.
   */
  subscribeDeliveriesDue(listener: () => void): Promise<() => void>;
  /** When the earliest pending delivery is due, or null when none is pending. */
  nextDueAt(): Promise<number | null>;
  /** Schedules the message for the endpoint now, as a manual attempt (creating the delivery if needed). */
  resendDelivery(message: Message, endpoint: Endpoint, nowMs: number): Promise<void>;
  /** Reschedules the endpoint's failed deliveries of messages created in [sinceMs, untilMs). */
  recoverFailed(endpointId: string, sinceMs: number, untilMs: number, nowMs: number): Promise<number>;
  /** Deliveries of one message (one per endpoint it went to). */
  listMessageDeliveries(messageId: string): Promise<Delivery[]>;

  listAttempts(filter: AttemptFilter, page: PageRequest): Promise<Page<Attempt>>;
  getAttempt(messageId: string, attemptId: string): Promise<Attempt | null>;

  /**
   * Deliveries (message x endpoint) of an app, newest first, with their message's event type and time and the
   * status code of their latest attempt: the dashboard's dead-letter list (status 'fail'). A delivery is
   * 'sending' while pending under a live lease at `nowMs`, otherwise 'pending'.
   */
  listDeliveries(appId: string, filter: DeliveryFilter, page: PageRequest, nowMs: number): Promise<Page<DeliveryListItem>>;
  /** For each message id given, its deliveries counted by status (messages without deliveries are absent). */
  countMessageDeliveries(messageIds: string[], nowMs: number): Promise<Map<string, DeliveryCounts>>;
  /** An endpoint's deliveries counted by status, of messages created in [sinceMs, untilMs) (unbounded when absent). */
  endpointStats(endpointId: string, range: { sinceMs?: number | undefined; untilMs?: number | undefined }, nowMs: number): Promise<DeliveryCounts>;
  /**
   * An app's attempts in [sinceMs, untilMs) counted per bucket of `bucketMs` (bucket i starts at sinceMs + i *
   * bucketMs) and by outcome; only buckets holding attempts, in time order.
   */
  attemptSeries(appId: string, query: AttemptSeriesQuery): Promise<AttemptBucket[]>;

  /**
   * Starts an idempotent request: records the key as in progress when it is new. An in-progress record
   * older than `staleMs` is taken over (its request died before finishing); any record older than `ttlMs`
   * has expired and counts as new.
   */
  beginIdempotent(scope: string, key: string, requestHash: string, nowMs: number, staleMs: number, ttlMs: number): Promise<IdempotencyState>;
  /** Stores the response of a finished request, or forgets the key (`response` null) so it can be retried. */
  finishIdempotent(scope: string, key: string, response: StoredResponse | null): Promise<void>;
}

export interface PageRequest {
  limit: number;
  /** An opaque cursor from a previous page's `iterator` or `prevIterator`. */
  iterator?: string | undefined;
  order?: 'ascending' | 'descending' | undefined;
}

export interface MessageFilter {
  channel?: string | undefined;
  eventTypes?: string[] | undefined;
  tag?: string | undefined;
  beforeMs?: number | undefined;
  afterMs?: number | undefined;
  /**
   * The message's delivery status: 'fail' when one of its deliveries failed (a dead letter), else 'pending'
   * when one is still pending (or sending), else 'success' when it has deliveries and all succeeded.
   */
  deliveryStatus?: MessageDeliveryStatus | undefined;
}

export type MessageDeliveryStatus = 'success' | 'pending' | 'fail';

/** A delivery's status as Svix reports it: `sending` is a pending delivery under a live lease. */
export type DeliveryStatusText = 'success' | 'pending' | 'sending' | 'fail';

export type DeliveryCounts = Record<DeliveryStatusText, number>;

export interface DeliveryFilter {
  status?: DeliveryStatusText | undefined;
  endpointId?: string | undefined;
  /** The delivered message's event type is one of these. */
  eventTypes?: string[] | undefined;
  /** Bounds (exclusive) on the delivered message's creation time. */
  beforeMs?: number | undefined;
  afterMs?: number | undefined;
}

export interface DeliveryListItem {
  delivery: Delivery;
  statusText: DeliveryStatusText;
  eventType: string;
  messageCreatedAt: number;
  /** The status code of the latest attempt (0: no response), or null before the first attempt. */
  lastStatusCode: number | null;
}

export interface AttemptSeriesQuery {
  sinceMs: number;
  untilMs: number;
  bucketMs: number;
  endpointId?: string | undefined;
}

export interface AttemptBucket {
  startMs: number;
  success: number;
  fail: number;
}

export interface AttemptFilter {
  appId: string;
  messageId?: string | undefined;
  endpointId?: string | undefined;
  status?: Attempt['status'] | undefined;
  /** 1 = 1xx ... 5xx = 5, 0 = no response. */
  statusCodeClass?: number | undefined;
  /** Filters on the attempted message: one of its channels / tags, one of these event types. */
  channel?: string | undefined;
  tag?: string | undefined;
  eventTypes?: string[] | undefined;
  beforeMs?: number | undefined;
  afterMs?: number | undefined;
}

export type InsertMessageResult =
  | { kind: 'inserted'; deliveries: number }
  | { kind: 'duplicate'; existing: Message };

/** A leased delivery with what the sender needs. */
export interface ClaimedDelivery {
  delivery: Delivery;
  message: Pick<Message, 'id' | 'appId' | 'eventType' | 'payload'>;
  endpoint: Pick<Endpoint, 'id' | 'appId' | 'url' | 'secrets' | 'headers'>;
}

export interface DeliveryResult {
  deliveryId: string;
  leaseOwner: string;
  attempt: Attempt;
  next: { status: Extract<DeliveryStatus, 'succeeded' | 'failed'> } | { status: 'pending'; nextAttemptAt: number };
  /** Set when the attempt disables the endpoint (e.g. 410 Gone). */
  disableEndpoint?: string | undefined;
}

export interface StoredResponse {
  status: number;
  body: string;
}

export type IdempotencyState =
  | { state: 'new' }
  | { state: 'done'; response: StoredResponse }
  | { state: 'in_progress' }
  | { state: 'mismatch' };
