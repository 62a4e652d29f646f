import type { ConnectionFailure, EndpointQueueView, OriginRoom, SchedulerPolicy } from '../domain/scheduler.js';
import type {
  ApiKey,
  App,
  Attempt,
  BackgroundTask,
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
  /**
   * Resolves only when the database can commit a write now (readiness): not out of space, not read-only, and (SQLite)
   * the file it writes to is still in place. Rejects with the failure otherwise.
   */
  probe(): Promise<void>;
  close(): Promise<void>;

  createApiKey(key: ApiKey, sha256Hash: string): Promise<void>;
  /**
   * Creates `key` (an admin key: appId null) unless an active admin key exists; false if one did. The look and the
   * insert are one step for every process on the database: processes starting at once on an empty one make one key.
   */
  createFirstAdminKey(key: ApiKey, sha256Hash: string): Promise<boolean>;
  /** The active (not revoked) key with this hash, or null. */
  findApiKeyByHash(sha256Hash: string): Promise<ApiKey | null>;
  listApiKeys(): Promise<ApiKey[]>;
  /** Revokes by id; returns false when no active key has that id. */
  revokeApiKey(id: string, nowMs: number): Promise<boolean>;
  /**
   * Makes every active app-portal token of the application (a key with an expiry) expire at `atMs` at the latest;
   * tokens expiring sooner keep their time, API keys (no expiry) are untouched. Returns how many it shortened.
   */
  expirePortalTokens(appId: string, atMs: number): Promise<number>;

  /** Throws a conflict error when the uid is taken. */
  createApp(app: App): Promise<void>;
  /**
   * Frozen (callers share it). As the database holds it now, unless `recent`: then a PostgreSQL store may answer
   * what it read up to a second ago (another process's change is seen within that time), which only ingest asks
   * for (the insert checks again: a message for an application deleted or renamed meanwhile is `no-app`).
   */
  getApp(idOrUid: string, options?: { recent?: boolean }): Promise<App | null>;
  listApps(page: PageRequest): Promise<Page<App>>;
  /** Throws a conflict error when the new uid is taken. */
  updateApp(app: App): Promise<void>;
  /**
   * Deletes the app and everything it owns: its deliveries, attempts and messages first, BATCH_ROWS rows a
   * transaction (an application's history can be millions of rows: one transaction of them all outlasted
   * PostgreSQL's statement timeout, and held SQLite's write lock and the API's event loop for every tenant), then
   * the app with what is left. Interrupted (an error, a crash), it leaves the app in place, with less history.
   */
  deleteApp(id: string): Promise<void>;

  /**
   * Creates the endpoint, unless its application already has `maxPerApp` endpoints (not deleted): then it creates
   * nothing and answers false. The count and the insert are one transaction, serialised per application, so
   * concurrent creates cannot pass the bound.
   */
  createEndpoint(endpoint: Endpoint, maxPerApp?: number): Promise<boolean>;
  /** A live (not deleted) endpoint of the app by id or uid. */
  getEndpoint(appId: string, idOrUid: string): Promise<Endpoint | null>;
  listEndpoints(appId: string, page: PageRequest): Promise<Page<Endpoint>>;
  updateEndpoint(endpoint: Endpoint): Promise<void>;
  /**
   * Soft-deletes the endpoint and fails its pending deliveries, BATCH_ROWS a transaction; whatever an
   * interruption leaves pending, a claim fails (the endpoint is left ready).
   */
  deleteEndpoint(appId: string, id: string, nowMs: number): Promise<void>;

  createEventType(eventType: EventType): Promise<void>;
  getEventType(name: string): Promise<EventType | null>;
  /**
   * Those of `names` that name no event type in use: absent from the catalog, or archived. In the order given, for
   * an endpoint's filter check (one query however many names an endpoint filters on).
   */
  missingEventTypes(names: readonly string[]): Promise<string[]>;
  listEventTypes(page: PageRequest & { includeArchived: boolean }): Promise<Page<EventType>>;
  updateEventType(eventType: EventType): Promise<void>;
  /**
   * Creates (`created`) or updates each event type, all in one transaction: an import (OpenAPI, environment) is
   * written whole or not at all. A create whose name exists by then is a conflict (HookdError 409), and nothing is
   * written.
   */
  saveEventTypes(changes: readonly EventTypeChange[]): Promise<void>;
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
   * Inserts one message with one pending delivery, to this endpoint only, whatever the other endpoints' filters
   * (Svix's send-example). The endpoint must be live. The message keeps that endpoint (`only_endpoint_id`): a replay
   * to another endpoint never sends it.
   */
  insertMessageTo(message: Message, endpointId: string): Promise<void>;
  /**
   * Expunges these messages' content (Svix's expunge-content; bulk-expunge names up to 1,000), in one transaction: each
   * payload becomes `{"expired":true}` and the message is marked expunged (a message expunged before keeps its time),
   * and its pending deliveries fail ('message content expunged'), leased ones included (a request already on the wire
   * completes and is recorded; its ack only makes the delivery succeeded when the receiver took it, and never pending
   * again). Recover passes them over from then on. Returns the ids of the app's messages among `messageIds` (the others
   * are not the app's, or not there).
   */
  expungeMessageContent(appId: string, messageIds: readonly string[], nowMs: number): Promise<string[]>;
  /**
   * Expunges, as expungeMessageContent does (marked at `nowMs`), the content of every message the application has when
   * called, up to its newest then (Svix's expunge-all-contents), BATCH_ROWS messages a transaction; returns how many
   * it expunged (not those expunged before).
   */
  expungeAllContents(appId: string, nowMs: number): Promise<number>;
  /** Replaces an attempt's response body with `EXPUNGED`, as Svix does; false when the message has no such attempt. */
  expungeAttemptContent(messageId: string, attemptId: string): Promise<boolean>;

  /**
   * Leases what can be sent now, at most `limit` deliveries (src/domain/scheduler.ts). Work is claimed per
   * endpoint: the endpoints with due work, longest-waiting first, share the claim round-robin (across
   * applications, then endpoints), each within its budget (adaptive limit, cap, circuit breaker) minus what it has
   * in flight across all workers, its rate-limit slots and the worker's room for its origin; within an endpoint,
   * oldest due first. What is held back is not touched: no attempt is spent, no row is written. A leased delivery
   * is not due again until its lease expires, so a crashed worker's work is redone, never lost. Due deliveries of
   * disabled or deleted endpoints are failed instead of returned.
   */
  claimDeliveries(request: ClaimRequest): Promise<ClaimedDelivery[]>;
  /**
   * Records attempts and applies each delivery's next state, in one transaction, and feeds the results to their
   * endpoints' scheduler state (circuit breaker, adaptive limit, readiness). With an AckPolicy from the delivery
   * worker's acks (src/operations) the same transaction also disables endpoints failing for too long and inserts
   * operational event messages.
   */
  completeDeliveries(results: DeliveryResult[], policy?: AckPolicy): Promise<AckOutcome>;
  /**
   * Heartbeat: extends `owner`'s leases on these deliveries to `leaseExpiresAt`, so work that is still in flight in
   * a live worker is never claimed by another. Returns the ids whose lease was still `owner`'s (and so renewed):
   * any other was taken over after it expired, and its owner must not act on it.
   */
  extendLeases(owner: string, deliveryIds: string[], leaseExpiresAt: number): Promise<string[]>;
  /** Gives back leases still held by `owner` (graceful shutdown): the deliveries are due at once. */
  releaseDeliveries(owner: string, nowMs: number): Promise<number>;
  /**
   * Calls `listener` when another process commits deliveries that are due now (PostgreSQL LISTEN/NOTIFY).
   * SQLite runs in one process, where the ingest path wakes the worker directly: the listener never fires.
   * Returns an unsubscribe function.
   */
  subscribeDeliveriesDue(listener: () => void): Promise<() => void>;
  /** When an endpoint may next have claimable work (the earliest readiness), or null when nothing is pending. */
  nextDueAt(): Promise<number | null>;
  /** The scheduler's view of one endpoint: circuit, adaptive limit, in flight (null for an unknown endpoint). */
  endpointQueueState(endpointId: string, nowMs: number, policy?: SchedulerPolicy): Promise<EndpointQueueView | null>;
  /** Schedules the message for the endpoint now, as a manual attempt (creating the delivery if needed). */
  resendDelivery(message: Message, endpoint: Endpoint, nowMs: number): Promise<void>;
  /** Reschedules the endpoint's failed deliveries of messages created in [sinceMs, untilMs), expunged ones excepted. */
  recoverFailed(endpointId: string, sinceMs: number, untilMs: number, nowMs: number): Promise<number>;
  /**
   * Schedules now, as manual attempts, the messages of the endpoint's application created in [sinceMs, untilMs) that
   * it subscribes to and that never went to it (an endpoint added later, or whose filters changed), expunged ones
   * excepted (Svix's replay-missing); returns how many.
   */
  replayMissing(endpoint: Endpoint, sinceMs: number, untilMs: number, nowMs: number): Promise<number>;
  /**
   * Schedules again now, as manual attempts from a fresh schedule, the endpoint's finished deliveries (succeeded or
   * failed: pending ones are on their way) of messages created in [since, until) that match `filter`, expunged ones
   * excepted (Svix's bulk-replay); returns how many. Walks the endpoint's deliveries in message id order, BATCH_ROWS a
   * transaction.
   */
  bulkReplay(endpointId: string, filter: BulkReplayFilter, nowMs: number): Promise<number>;
  /** Deliveries of one message (one per endpoint it went to), with when each may next be tried as lists show it. */
  listMessageDeliveries(messageId: string): Promise<ListedDelivery[]>;

  listAttempts(filter: AttemptFilter, page: PageRequest): Promise<Page<Attempt>>;
  getAttempt(messageId: string, attemptId: string): Promise<Attempt | null>;

  /**
   * Deliveries (message x endpoint) of an app, newest first, with their message's event type and time and the
   * status code of their latest attempt: the dashboard's dead-letter list (status 'fail'). A delivery is
   * 'sending' while pending under a live lease at `nowMs`, otherwise 'pending'.
   */
  listDeliveries(appId: string, filter: DeliveryFilter, page: PageRequest, nowMs: number): Promise<Page<DeliveryListItem>>;
  /**
   * The messages that go to one endpoint, one per delivery, newest message first, each with its delivery's status at
   * `nowMs` and next attempt: Svix's list-attempted-messages. Paged by message id, as Svix pages it (an older message
   * resent to the endpoint keeps its place), over the index delivery_endpoint_message, which stops at the page.
   */
  listEndpointMessages(appId: string, endpointId: string, filter: EndpointMessageFilter, page: PageRequest, nowMs: number): Promise<Page<EndpointMessage>>;
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

  // ---- Background tasks (src/api/background-tasks.ts): recoveries' and replays' records

  /** Records a finished recovery or replay. */
  saveBackgroundTask(task: BackgroundTask): Promise<void>;
  /** A task by id; with an `appId`, only if it is that application's (an application-scoped key asks). */
  getBackgroundTask(id: string, appId: string | null): Promise<BackgroundTask | null>;
  /** Tasks, newest first by default (ids are time-sortable), filtered by application, status and kind. */
  listBackgroundTasks(filter: BackgroundTaskFilter, page: PageRequest): Promise<Page<BackgroundTask>>;

  // ---- Inbound sources (src/api/sources.ts, src/inbound)

  /** Stores a new inbound source (its app must exist). */
  createSource(source: Source): Promise<void>;
  /** A source of the app by id. */
  getSource(appId: string, id: string): Promise<Source | null>;
  /** A source by id alone, whatever its app (POST /ingest/{source_id}, which has no app in its path). */
  findSource(id: string): Promise<Source | null>;
  listSources(appId: string, page: PageRequest): Promise<Page<Source>>;
  updateSource(source: Source): Promise<void>;
  /** Returns false when the app has no source with that id. */
  deleteSource(appId: string, id: string): Promise<boolean>;

  // ---- Retention (src/maintenance)

  /**
   * Deletes messages created before `beforeMs` with their deliveries and attempts, oldest first, in one transaction
   * of at most `limit` rows (a message, each of its deliveries and each attempt are one row each); fewer only when it
   * found no more to purge, or stopped with `more`. A message with more rows than are left has its attempts, then its
   * deliveries, deleted as far as the budget goes, and the rest (the message last) in the next calls. Messages are
   * walked in id order (ids are time-sortable KSUIDs made at creation), so no index on created_at is needed, from
   * `after` (exclusive; '' for the oldest): a pass passes each call's `resumeAfter` to the next, so that none walks
   * again over what the ones before it purged (on PostgreSQL, index entries of deleted rows until a vacuum). A message
   * with a pending delivery is kept until that delivery ends, and passed over: a call passes over about `limit` such
   * messages (SQLite exactly, PostgreSQL at most twice as many), then stops with `more` (a disabled endpoint's months
   * of backlog must not hold one transaction, on SQLite the database's one writer, for as long as reading it all
   * takes). Concurrent calls (several workers) take disjoint messages and never wait for each other.
   */
  purgeMessages(beforeMs: number, limit: number, after?: string): Promise<PurgeResult>;
  /** Deletes up to `limit` idempotency keys created at or before `beforeMs` (expired); returns how many. */
  purgeIdempotencyKeys(beforeMs: number, limit: number): Promise<number>;
  /**
   * Deletes up to `limit` API keys that expired at or before `beforeMs` (app-portal tokens: every portal sign-in
   * makes one); returns how many. Keys without an expiry are never deleted here.
   */
  purgeExpiredApiKeys(beforeMs: number, limit: number): Promise<number>;
  /** Deletes up to `limit` background tasks last updated before `beforeMs` (the message retention); returns how many. */
  purgeBackgroundTasks(beforeMs: number, limit: number): Promise<number>;

  // ---- Observability (metrics gauges, endpoint latency stats; src/observability, src/api/stats.ts)

  /**
   * The delivery queue at `nowMs`, for the metrics gauges: pending deliveries (due, scheduled for a retry or
   * leased), those due now (not leased), and the earliest `next_attempt_at` among the due ones (null when none is
   * due), and how many endpoints have an open circuit. One scan of the `delivery_queue` index.
   */
  queueStats(nowMs: number): Promise<QueueStats>;
  /**
   * An endpoint's attempts created in [sinceMs, untilMs): counted by outcome, with nearest-rank duration
   * percentiles (PostgreSQL's percentile_disc: the smallest duration with at least p of the attempts at or
   * below it). Reads only the app's attempts in the window (index attempt_app_time).
   */
  endpointLatency(appId: string, endpointId: string, range: { sinceMs: number; untilMs: number }): Promise<EndpointLatency>;
}

export interface PageRequest {
  limit: number;
  /** An opaque cursor from a previous page's `iterator` or `prevIterator`. */
  iterator?: string | undefined;
  order?: 'ascending' | 'descending' | undefined;
  /**
   * Set when the list is bounded by an `after` time only (no `before`, no iterator): a key no item after that time
   * sorts below (retention.ts idLowerBound). As in Svix, a newest-first list then starts at that bound, not at its
   * newest item: the page is the `limit` oldest items after it, in the list's order, as a page reached by a
   * prevIterator is (its prevIterator walks on forward in time, its iterator back; see pageQuery). The scan starts at
   * the key, so it reads no older rows; the filter's own time bound still decides what is listed.
   */
  afterKey?: string | undefined;
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

export interface EndpointMessageFilter {
  status?: DeliveryStatusText | undefined;
  channel?: string | undefined;
  tag?: string | undefined;
  eventTypes?: string[] | undefined;
  beforeMs?: number | undefined;
  afterMs?: number | undefined;
}

export interface EndpointMessage {
  deliveryId: string;
  message: Message;
  statusText: DeliveryStatusText;
  /** When the delivery may next be tried (pending only), else null: ListedDelivery.shownNextAttemptAt. */
  nextAttemptAt: number | null;
}

/**
 * A delivery as lists show it: with `shownNextAttemptAt`, when it may next be tried (pending only, else null): its own
 * next_attempt_at, or later while its endpoint holds it back (an open circuit's next probe, a receiver's Retry-After or
 * the rate limit's next slot; delivery-status.ts nextAttemptSql). `nextAttemptAt` stays the stored value.
 */
export interface ListedDelivery extends Delivery {
  shownNextAttemptAt: number | null;
}

export interface DeliveryListItem {
  delivery: ListedDelivery;
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

export interface BulkReplayFilter {
  sinceMs: number;
  untilMs: number;
  /** Only deliveries that ended so (absent: both). */
  status?: 'succeeded' | 'failed' | undefined;
  /** Only deliveries whose latest attempt's status code is of this class: 1 = 1xx ... 5 = 5xx, 0 = no response. */
  statusCodeClass?: number | undefined;
  /** Filters on the message: one of these event types, one of its channels, one of its tags. */
  eventTypes?: string[] | undefined;
  channel?: string | undefined;
  tag?: string | undefined;
}

export interface BackgroundTaskFilter {
  /** Only this application's tasks (an application-scoped key); null: every application's. */
  appId: string | null;
  status?: BackgroundTask['status'] | undefined;
  task?: BackgroundTask['task'] | undefined;
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
  | { kind: 'duplicate'; existing: Message }
  /**
   * Its application was deleted before the commit, or no longer has the uid the message was addressed by
   * (Message.addressedUid): not stored (the batch's other messages are).
   */
  | { kind: 'no-app' };

export interface ClaimRequest {
  /** The lease owner (one per worker process). */
  owner: string;
  /** Most deliveries to lease: the worker's free slots. */
  limit: number;
  leaseMs: number;
  nowMs: number;
  /** Budgets and circuit-breaker settings (default DEFAULT_SCHEDULER_POLICY). */
  policy?: SchedulerPolicy | undefined;
  /** How many more requests the worker may have on the wire to an origin (default: no bound). */
  originRoom?: OriginRoom | undefined;
}

/** A leased delivery with what the sender needs. */
export interface ClaimedDelivery {
  delivery: Delivery;
  message: Pick<Message, 'id' | 'appId' | 'eventType' | 'payload'>;
  endpoint: Pick<Endpoint, 'id' | 'appId' | 'url' | 'secrets' | 'headers'>;
}

/** One event type an import writes (Store.saveEventTypes). */
export interface EventTypeChange {
  eventType: EventType;
  created: boolean;
}

export interface DeliveryResult {
  deliveryId: string;
  leaseOwner: string;
  attempt: Attempt;
  /** Why no HTTP answer came, when it says the receiver is unreachable or hanging (feeds its circuit breaker). */
  failure?: ConnectionFailure | null | undefined;
  next: { status: Extract<DeliveryStatus, 'succeeded' | 'failed'> } | { status: 'pending'; nextAttemptAt: number };
  /** Set when the attempt disables the endpoint (e.g. 410 Gone). */
  disableEndpoint?: string | undefined;
  /** Set when the receiver asked to be left alone until then (429 or 503 with Retry-After): nothing more is sent. */
  holdEndpointUntil?: number | null | undefined;
  /**
   * Set when this worker's shutdown cut the request off (not the receiver's doing): the attempt is recorded, and
   * counts toward neither its delivery's attempts nor its endpoint's failures, circuit or operational events.
   */
  aborted?: boolean | undefined;
  /** Set when the attempt does not count toward its delivery's attempts, as an aborted one does (retriedAtNewUrl). */
  uncounted?: boolean | undefined;
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

// ---- Endpoint auto-disable, operational webhooks, retention (src/operations, src/maintenance)

/** What the delivery worker's acks do beyond recording results (see src/operations). */
export interface AckPolicy {
  /** How results move endpoints' circuit breakers and adaptive limits (default DEFAULT_SCHEDULER_POLICY). */
  scheduler?: SchedulerPolicy | undefined;
  /**
   * A failed attempt disables its endpoint when the endpoint's failure streak (first_failure_at) began at least
   * this long before the attempt; 0 or absent = never.
   */
  endpointDisableAfterMs?: number | undefined;
  /** The operator application: its endpoints are never disabled automatically and its results raise no events. */
  operatorAppId?: string | null | undefined;
  /** Operational events, inserted as messages in the ack's own transaction: none is lost once the ack commits. */
  events?: OperationalEventSource | undefined;
  /**
   * Claims the worker's next deliveries in the same transaction (one commit for both): the slots and budgets
   * this ack frees go back to work without a transaction of their own. The outcome's `claimed` has them.
   */
  claim?: ClaimRequest | undefined;
}

/** Decides and builds operational events; both run inside the ack transaction, so they must be pure and quick. */
export interface OperationalEventSource {
  /** The notice, if any, that an applied result raises. */
  noticeFor(fact: AckedResult): AttemptNotice | null;
  /** The messages (to the operator application) for one ack's notices and automatically disabled endpoints. */
  messagesFor(notices: AttemptNoticeFact[], disabled: DisabledEndpointFact[]): Message[];
}

export type AttemptNotice = 'failing' | 'exhausted' | 'recovered';

/** A result whose delivery state was applied (its lease still held), with the delivery's state around it. */
export interface AckedResult {
  result: DeliveryResult;
  /** The delivery's attempts including this one (resend and recover start again from 0). */
  attempts: number;
  /** Whether a failing or exhausted notice went out for the delivery since its last success. */
  failureNotified: boolean;
}

export interface AttemptNoticeFact {
  notice: AttemptNotice;
  attempt: Attempt;
  appUid: string | null;
  msgEventId: string | null;
}

/** An endpoint an ack disabled automatically (410 Gone, or failing longer than the disable period). */
export interface DisabledEndpointFact {
  appId: string;
  appUid: string | null;
  endpointId: string;
  endpointUid: string | null;
  /** When its current failure streak began (null when none was recorded). */
  failSince: number | null;
  reason: string;
  /** The time of the attempt that disabled it. */
  at: number;
}

export interface AckOutcome {
  /** Operational event messages inserted with the ack. */
  operationalEvents: number;
  /** Endpoints the ack disabled. */
  disabledEndpoints: string[];
  /** What the ack's `claim` leased (present only when it asked for a claim). */
  claimed?: ClaimedDelivery[];
  /**
   * Deliveries whose result went to a URL their endpoint no longer has and would have ended them, which the ack took as
   * a retry at the new URL (retriedAtNewUrl), whatever the result said: those whose lease still held are pending again
   * (unless a resend meanwhile had made them so already); the worker reports each as retrying. Present only when there are any.
   */
  retriedAtNewUrl?: string[];
}

export interface PurgeResult {
  messages: number;
  deliveries: number;
  attempts: number;
  /**
   * Where the next call of the same pass starts: every message up to it was purged, or passed over (a pending
   * delivery, held by another worker); a message partly purged comes after it.
   */
  resumeAfter: string;
  /**
   * The call stopped after passing over its bound of messages kept for a pending delivery, before it had found
   * `limit` rows to delete: there may be more to purge after `resumeAfter`, though it deleted fewer.
   */
  more: boolean;
}

// ---- Observability (src/observability, src/api/stats.ts)

export interface QueueStats {
  /** Pending deliveries: due now, scheduled for later (retries, rate-limit slots) or leased by a worker. */
  pending: number;
  /** Pending deliveries due now, not leased, and whose endpoint may take them (not `held`): the backlog waiting for a worker. */
  due: number;
  /**
   * Pending deliveries due by their own schedule that their endpoint holds back (delivery-status.ts heldSql): its
   * circuit is open or half-open, or a receiver's Retry-After or the endpoint's rate limit says not yet. hookd sends
   * them when the hold ends; they say how much one endpoint's receiver waits on, not how far behind the workers are.
   */
  held: number;
  /** The earliest next_attempt_at among the due deliveries (not the held ones), or null when none is due. */
  oldestDueAt: number | null;
  /**
   * Live, enabled endpoints whose circuit is open or half-open (their due deliveries wait without spending attempts);
   * a deleted or disabled endpoint keeps its circuit's state but is not counted: nothing waits on it.
   */
  circuitsOpen: number;
}

export interface EndpointLatency {
  attempts: number;
  succeeded: number;
  failed: number;
  /** Attempt durations in ms (null when there were no attempts). */
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

// ---- Inbound sources (src/api/sources.ts, src/inbound)

/** How a source's sender proves a request is theirs. There is no "none": every source verifies something. */
export type SourceScheme = 'hmac-sha256' | 'slack' | 'standard-webhooks' | 'api-key';

export interface SourceVerification {
  scheme: SourceScheme;
  /** Write-only: never in an API response or a log line. */
  secret: string;
  /** The (lower-case) header holding the signature or key. */
  header: string;
  /** Text before the signature or key in that header, e.g. `sha256=` or `Bearer `. */
  prefix: string;
  /** How an hmac-sha256 signature is written; null for api-key. */
  encoding: 'hex' | 'base64' | null;
  /** A header with the send time in Unix seconds, covered by the signature; null = no replay check. */
  timestampHeader: string | null;
  toleranceSeconds: number;
}

/** Where a message's event type comes from: a header, else a (dotted) JSON field, else the default. */
export interface SourceEventType {
  header: string | null;
  field: string | null;
  default: string | null;
}

export interface Source {
  id: string;
  appId: string;
  name: string;
  verification: SourceVerification;
  /** The (lower-case) header whose value becomes the message's eventId (duplicates are not stored twice). */
  idempotencyHeader: string | null;
  eventType: SourceEventType;
  channels: string[] | null;
  createdAt: number;
  updatedAt: number;
}
