import type { Logger } from 'pino';
import type { DeliveryConfig } from '../config.js';
import { recordedRequestHeaders } from '../domain/endpoint.js';
import { newId } from '../domain/ids.js';
import { decideRetry, endpointHoldUntil } from '../domain/retry.js';
import { urlOrigin, type SchedulerPolicy } from '../domain/scheduler.js';
import { signatureHeader } from '../domain/signing.js';
import type { Attempt } from '../domain/types.js';
import type { ClaimedDelivery, ClaimRequest, DeliveryResult, Store } from '../store/store.js';
import { refusedData, storeFailureOf } from '../store/failures.js';
import { asAcked } from '../store/endpoint-signals.js';
import { withTimeout } from '../deadline.js';
import type { HttpSender, SendResult } from './http-sender.js';
import { StoreHealth } from './store-health.js';

export interface DeliveryWorkerOptions {
  store: Store;
  sender: Pick<HttpSender, 'send'>;
  config: DeliveryConfig;
  logger: Logger;
  /** Lease owner name; unique per worker process. */
  owner?: string;
  clock?: () => number;
  random?: () => number;
  /** Told about every batch of results once it is durably recorded (metrics, operational webhooks). */
  observers?: DeliveryObserver[];
}

/** Something that reacts to recorded delivery results. It must not throw; it runs after the ack commits. */
export interface DeliveryObserver {
  recorded(results: readonly RecordedResult[]): void;
}

/** A recorded result with what it was about. */
export interface RecordedResult extends DeliveryResult {
  claimed: ClaimedDelivery;
}

/** Results recorded in one ack transaction; `done` resolves once it committed (or was given up). */
interface AckBatch {
  results: RecordedResult[];
  done: Promise<void>;
  resolve: () => void;
}

function newAckBatch(): AckBatch {
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return { results: [], done, resolve };
}

/**
 * A message's payload as UTF-8 bytes, encoded once for all its deliveries of a claim (which share the message
 * object): they are signed and sent as these bytes.
 */
const encodedPayloads = new WeakMap<ClaimedDelivery['message'], Buffer>();

function payloadBytes(message: ClaimedDelivery['message']): Buffer {
  let bytes = encodedPayloads.get(message);
  if (!bytes) {
    bytes = Buffer.from(message.payload, 'utf8');
    encodedPayloads.set(message, bytes);
  }
  return bytes;
}

/** The smallest sleep between claims when nothing was due, so a clock skew can never spin the loop. */
const MIN_IDLE_SLEEP_MS = 20;
/**
 * Results wait up to this long for others to share their ack transaction (unless a batch fills first). A commit
 * costs about the same for 1 row as for 50, so this trades a few ms of slot time for far fewer commits.
 */
const ACK_WINDOW_MS = 5;
/** Results gathered for an ack from which a wake waits for that ack to claim (see ackWillClaim). */
const ACK_CLAIM_MIN_RESULTS = 8;
/** How long a shutdown keeps retrying the last acks when the database fails (their leases then expire). */
const SHUTDOWN_ACK_BUDGET_MS = 3000;

/**
 * The delivery loop: claim what can be sent now under a lease, POST each signed at once, then record the attempt
 * and the delivery's next state. A slot is a request on the wire: the store's claim shares the free slots fairly
 * among endpoints with due work, within each endpoint's budget (src/domain/scheduler.ts) and this worker's room
 * for each origin, so nothing claimed waits for a connection. Acks are gathered for up to ACK_WINDOW_MS (or a
 * batch) into one transaction; each committed ack wakes the loop, since it may have freed endpoint budgets.
 */
export class DeliveryWorker {
  readonly owner: string;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly inFlight = new Set<Promise<void>>();
  /** Requests on the wire per origin (scheme://host:port), at most `connectionsPerOrigin` each. */
  private readonly perOrigin = new Map<string, number>();
  private readonly policy: SchedulerPolicy;
  /**
   * The deliveries this worker holds (on the wire or waiting for their ack), each with the time until which its
   * lease is known to hold: set at claim, pushed forward by every successful renewal.
   */
  private readonly held = new Map<string, number>();
  /**
   * Deliveries an ack claimed again in the transaction that recorded their attempt (a resend made while they were on
   * the wire): sent once the work that held them has let go, not taken for that work's own.
   */
  private readonly sendAfterRelease = new Map<string, ClaimedDelivery>();
  private heartbeat: NodeJS.Timeout | null = null;
  /** Results gathering for the next ack (its window is open, or an ack is under way). */
  private gathering: AckBatch | null = null;
  /** The ack under way, if any: one at a time, so a batch never overtakes an earlier one. */
  private acking: Promise<void> | null = null;
  /** Deliveries whose ack statement is running: lease renewals leave them alone (no lock fight with the ack). */
  private readonly ackingIds = new Set<string>();
  /** The open ack window's timer (closed early when a batch fills). */
  private ackWindow: NodeJS.Timeout | null = null;
  /** When the shutdown began (acks then get a short budget). */
  private stoppingAt: number | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  /** Wakes so far: an ack's claim (SQLite) covers the wakes before the ack went to the store, not those after. */
  private wakes = 0;
  private unsubscribe: Promise<() => void> | null = null;
  private readonly health: StoreHealth;
  /**
   * Set when an ack met the database away or full, cleared by an ack that commits or a readiness probe that does:
   * meanwhile nothing new is claimed. Claims (updates of rows in place) can still commit on a full disk where acks
   * (new attempt rows) cannot; the worker then sent the same deliveries again every lease, none of them recorded.
   */
  private acksFailing = false;
  /** Aborts the requests still on the wire when a shutdown's grace period is over. */
  private readonly shutdown = new AbortController();

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.owner = options.owner ?? `worker-${process.pid}-${newId('key').slice(-8)}`;
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.policy = options.config.scheduler;
    this.health = new StoreHealth(options.logger, this.clock);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Other processes' commits (PostgreSQL NOTIFY) wake this worker at once; the slow poll is the fallback.
    this.unsubscribe = this.options.store.subscribeDeliveriesDue(() => this.wake()).catch((error: unknown) => {
      this.options.logger.warn({ err: error }, 'could not subscribe to delivery notifications; relying on polling');
      return () => undefined;
    });
    // A lease outlives one request, but an event loop can stall and an ack can be retried: renew the leases of
    // everything held, so a live worker's work is never taken over.
    this.heartbeat = setInterval(() => void this.renewLeases(), Math.max(100, Math.floor(this.options.config.leaseMs / 3)));
    this.heartbeat.unref();
    this.loop = this.run().catch((error: unknown) => {
      this.options.logger.fatal({ err: error }, 'delivery loop crashed');
      throw error;
    });
  }

  /** Called when new deliveries may be due (new message committed, resend): claim at once. */
  wake(): void {
    this.wakes++;
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Graceful shutdown: stops claiming, lets the requests on the wire finish for up to `timeoutMs`, then aborts the
   * rest and records their attempts (due again at once), and only then gives back whatever leases are left. A lease
   * is never given back while its request is on the wire, where another worker could send it a second time.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stoppingAt = this.clock();
    (await this.unsubscribe)?.();
    this.wake();
    await this.loop;
    const drained = Promise.all([...this.inFlight]);
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([drained.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    clearTimeout(timer);
    if (!finished) {
      this.options.logger.warn({ inFlight: this.inFlight.size, timeoutMs }, 'shutdown: aborting the requests still on the wire; their attempts are recorded and they are due again at once');
      this.shutdown.abort();
      await drained;
    }
    // Every delivery's work ends when its result is acked (or the ack was given up), so nothing is left to record.
    await this.acking;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    try {
      const released = await this.options.store.releaseDeliveries(this.owner, this.clock());
      if (released > 0) this.options.logger.info({ released }, 'released leases of unfinished deliveries');
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not release leases at shutdown; they expire by themselves');
    }
  }

  /** The claim an ack of `acked` results makes (none once stopping or with no free slot). */
  private claimAfterAck(acked: number): ClaimRequest | undefined {
    const { config, store } = this.options;
    // SQLite commits one transaction at a time on this event loop, each with an fsync: claiming inside the ack
    // halves the commits. PostgreSQL runs a separate claim on another connection while the next ack is on its
    // way, which keeps more requests on the wire than one longer transaction would.
    if (store.dialect !== 'sqlite') return undefined;
    const limit = Math.min(config.batchSize, config.concurrency - (this.inFlight.size - acked));
    if (!this.running || limit <= 0) return undefined;
    return { owner: this.owner, limit, leaseMs: config.leaseMs, nowMs: this.clock(), policy: this.policy, originRoom: this.originRoom };
  }

  /** How many more requests this worker may have on the wire to `origin`. */
  private readonly originRoom = (origin: string): number => this.options.config.connectionsPerOrigin - (this.perOrigin.get(origin) ?? 0);

  private async run(): Promise<void> {
    const { store, config } = this.options;
    while (this.running) {
      this.woken = false;
      const capacity = config.concurrency - this.inFlight.size;
      const limit = Math.min(config.batchSize, capacity);
      let claimed: ClaimedDelivery[] = [];
      // Busy (ackWillClaim): an ack is under way, or enough results wait for one (its window closes within
      // ACK_WINDOW_MS). On SQLite that ack claims in its own commit, so the wake is served there instead of by a
      // commit of its own: at 3,000-5,000 msg/s this thread then made 1.7-3x fewer commits and took fewer turns at the
      // write lock beside ingest. An ack that went to the store before this wake, or that fails, wakes the loop again.
      if (capacity > 0 && this.acksFailing) {
        // Results cannot be recorded: send nothing more until a write of their size commits.
        try {
          await withTimeout(store.probe(), Math.min(config.leaseMs, 5000), 'the readiness probe did not commit in time');
          this.acksFailing = false;
          this.health.succeeded();
        } catch (error) {
          await this.sleep(Math.max(config.pollIntervalMs, this.health.failed('ack', error)));
          continue;
        }
      }
      if (capacity > 0 && !this.ackWillClaim()) {
        try {
          claimed = await store.claimDeliveries({
            owner: this.owner,
            limit,
            leaseMs: config.leaseMs,
            nowMs: this.clock(),
            policy: this.policy,
            originRoom: this.originRoom,
          });
          this.health.succeeded();
        } catch (error) {
          await this.sleep(this.health.failed('claim', error));
          continue;
        }
        for (const item of claimed) this.track(item);
        // A full claim may have left work behind: claim again at once. A partial one took what could go now;
        // the next ack (a freed budget), new work or a due time wakes the loop.
        if (claimed.length === limit && this.inFlight.size < config.concurrency) continue;
      }
      if (this.woken) continue;
      // Until the next endpoint may have work (a retry, a rate-limit slot, a probe), at most the poll interval.
      await this.sleep(capacity > 0 ? await this.idleDelay() : config.pollIntervalMs);
    }
  }

  /**
   * Whether a claim should wait for the next ack's (SQLite claims inside the ack's transaction): an ack is under way,
   * or ACK_CLAIM_MIN_RESULTS results are gathered for one. Not when one or two are: at a low rate a new message is
   * claimed at once, not after the window (up to ACK_WINDOW_MS more latency).
   */
  private ackWillClaim(): boolean {
    return this.options.store.dialect === 'sqlite' && (this.acking !== null || (this.gathering?.results.length ?? 0) >= ACK_CLAIM_MIN_RESULTS);
  }

  /** How long to sleep when nothing more can be claimed now: until the next ready endpoint, at most the poll interval. */
  private async idleDelay(): Promise<number> {
    const poll = this.options.config.pollIntervalMs;
    try {
      const due = await this.options.store.nextDueAt();
      if (due === null) return poll;
      return Math.min(poll, Math.max(MIN_IDLE_SLEEP_MS, due - this.clock()));
    } catch {
      return poll;
    }
  }

  /** Until `ms` pass or a wake; at once when a wake came since the loop's turn began (e.g. while idleDelay read). */
  private sleep(ms: number): Promise<void> {
    if (this.woken) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  /** Sends a claimed delivery now, counting it against its origin until its request is answered. */
  private track(claimed: ClaimedDelivery): void {
    // Claimed by an ack that began before the shutdown: not sent; the shutdown gives its lease back.
    if (!this.running) return;
    // Claimed again after its lease lapsed while this worker still has it (an ack being retried): the lease is this
    // worker's again and the running work records the result; a second request would be a duplicate.
    if (this.held.has(claimed.delivery.id)) {
      this.held.set(claimed.delivery.id, claimed.delivery.leaseExpiresAt ?? 0);
      return;
    }
    const origin = urlOrigin(claimed.endpoint.url);
    this.perOrigin.set(origin, (this.perOrigin.get(origin) ?? 0) + 1);
    const work = this.deliver(claimed, () => {
      const left = (this.perOrigin.get(origin) ?? 1) - 1;
      if (left > 0) this.perOrigin.set(origin, left);
      else this.perOrigin.delete(origin);
    });
    this.inFlight.add(work);
    // The loop is woken when acks commit (they free endpoint budgets in the store, and the ack follows the answer
    // that freed an origin slot), not here: a claim before the ack would still see this delivery's lease, and a
    // claim per answer would cost a commit per delivery.
    void work.finally(() => {
      this.inFlight.delete(work);
      if (this.inFlight.size === 0) this.wakeUp?.();
    });
  }

  private async renewLeases(): Promise<void> {
    const ids = [...this.held.keys()].filter((id) => !this.ackingIds.has(id));
    if (ids.length === 0) return;
    const until = this.clock() + this.options.config.leaseMs;
    let renewed: string[];
    try {
      renewed = await this.options.store.extendLeases(this.owner, ids, until);
      this.health.succeeded();
    } catch (error) {
      this.health.failed('lease renewal', error);
      return;
    }
    const kept = new Set(renewed);
    let lost = 0;
    for (const id of ids) {
      if (!this.held.has(id)) continue;
      if (kept.has(id)) this.held.set(id, until);
      else {
        // Taken over after it expired: this worker no longer owns it (its ack will not apply either).
        this.held.set(id, 0);
        lost++;
      }
    }
    if (lost > 0) this.options.logger.warn({ lost }, 'leases were taken over by another worker after they expired');
  }

  private async deliver(claimed: ClaimedDelivery, answered: () => void): Promise<void> {
    this.held.set(claimed.delivery.id, claimed.delivery.leaseExpiresAt ?? 0);
    try {
      await this.attempt(claimed, answered);
    } finally {
      this.held.delete(claimed.delivery.id);
      const next = this.sendAfterRelease.get(claimed.delivery.id);
      if (next) {
        this.sendAfterRelease.delete(claimed.delivery.id);
        this.track(next);
      }
    }
  }

  private async attempt(claimed: ClaimedDelivery, answered: () => void): Promise<void> {
    const { message, endpoint, delivery } = claimed;
    const startedAt = this.clock();
    const timestampS = Math.floor(startedAt / 1000);
    const body = payloadBytes(message);
    const signature = signatureHeader(endpoint.secrets, message.id, timestampS, body, startedAt);
    const headers: Record<string, string> = {
      ...endpoint.headers,
      'content-type': 'application/json',
      'user-agent': this.options.config.userAgent,
      'webhook-id': message.id,
      'webhook-timestamp': String(timestampS),
      'webhook-signature': signature,
      'svix-id': message.id,
      'svix-timestamp': String(timestampS),
      'svix-signature': signature,
    };
    // Fencing: send only while the lease surely holds for the whole request (the claim may have waited on a
    // starved event loop); otherwise the delivery is left to whoever claims it after the lease, so it is never
    // sent twice at once.
    if (this.clock() >= (this.held.get(delivery.id) ?? 0) - this.options.config.requestTimeoutMs) {
      answered();
      this.options.logger.warn({ deliveryId: delivery.id, endpointId: endpoint.id }, 'lease may have lapsed before sending; left to the next claimer');
      return;
    }
    let result: SendResult;
    try {
      result = await this.options.sender.send({ url: endpoint.url, headers, body }, this.shutdown.signal);
    } finally {
      answered();
    }
    // The slot stays taken (and the lease renewed) until the result is durably recorded.
    await this.record({ ...this.resultOf(claimed, result, startedAt, headers), claimed });
    if (result.error || result.statusCode < 200 || result.statusCode >= 300) {
      this.options.logger.debug(
        { deliveryId: delivery.id, endpointId: endpoint.id, msgId: message.id, attempt: delivery.attempts + 1, status: result.statusCode, error: result.error },
        'delivery attempt failed',
      );
    }
  }

  private resultOf(claimed: ClaimedDelivery, result: SendResult, startedAt: number, sentHeaders: Record<string, string>): DeliveryResult {
    const { message, endpoint, delivery } = claimed;
    const now = this.clock();
    const succeeded = result.statusCode >= 200 && result.statusCode < 300;
    const decision = decideRetry(
      { statusCode: result.statusCode, retryAfter: result.retryAfter },
      delivery.attempts + 1,
      this.options.config.retryScheduleMs,
      now,
      this.random,
    );
    const attempt = this.attemptOf(claimed, result, startedAt, succeeded, sentHeaders);
    // A pause the receiver asked for holds its endpoint whatever becomes of this delivery (its last attempt too).
    const holdEndpointUntil = endpointHoldUntil({ statusCode: result.statusCode, retryAfter: result.retryAfter }, now);
    if (result.aborted) {
      // Cut off by a shutdown, not the receiver's doing: recorded, and due again at once (for another worker).
      return { deliveryId: delivery.id, leaseOwner: this.owner, attempt, next: { status: 'pending', nextAttemptAt: now }, aborted: true };
    }
    switch (decision.kind) {
      case 'succeeded':
        return { deliveryId: delivery.id, leaseOwner: this.owner, attempt, failure: result.failure, next: { status: 'succeeded' } };
      case 'retry':
        return {
          deliveryId: delivery.id,
          leaseOwner: this.owner,
          attempt,
          failure: result.failure,
          next: { status: 'pending', nextAttemptAt: now + decision.delayMs },
          holdEndpointUntil,
        };
      case 'failed':
        return {
          deliveryId: delivery.id,
          leaseOwner: this.owner,
          attempt,
          failure: result.failure,
          next: { status: 'failed' },
          disableEndpoint: decision.reason === 'gone' ? 'endpoint answered 410 Gone' : undefined,
          holdEndpointUntil,
        };
    }
  }

  private attemptOf(claimed: ClaimedDelivery, result: SendResult, startedAt: number, succeeded: boolean, sentHeaders: Record<string, string>): Attempt {
    const { message, endpoint, delivery } = claimed;
    return {
      id: newId('atmpt', startedAt),
      messageId: message.id,
      endpointId: endpoint.id,
      deliveryId: delivery.id,
      appId: message.appId,
      url: endpoint.url,
      status: succeeded ? 'success' : 'fail',
      responseStatusCode: result.statusCode,
      response: result.body,
      responseDurationMs: result.durationMs,
      triggerType: delivery.nextTrigger,
      error: result.error ?? (succeeded ? null : `HTTP ${result.statusCode}`),
      requestHeaders: recordedRequestHeaders(sentHeaders, endpoint.headers),
      responseHeaders: result.headers,
      // Its start (the time of its signature) plus its request's measured duration, not the time of this record: the
      // start derived from it (attemptStartedAt, the API's timestamp) is then the start, exactly.
      createdAt: startedAt + result.durationMs,
    };
  }

  /** Adds a result to the next ack; resolves once that ack committed (or was given up). */
  private record(result: RecordedResult): Promise<void> {
    const batch = (this.gathering ??= newAckBatch());
    batch.results.push(result);
    if (!this.acking) this.ackSoon();
    return batch.done;
  }

  /** Acks the gathered results now if a batch is full, otherwise when the ack window closes. */
  private ackSoon(): void {
    const gathered = this.gathering?.results.length ?? 0;
    if (gathered >= this.options.config.batchSize) this.startAck();
    else if (gathered > 0) this.ackWindow ??= setTimeout(() => this.startAck(), ACK_WINDOW_MS);
  }

  /** Closes the ack window: the gathered results go to the store now. One ack at a time, in order. */
  private startAck(): void {
    if (this.ackWindow) clearTimeout(this.ackWindow);
    this.ackWindow = null;
    const batch = this.gathering;
    if (!batch || this.acking) return;
    this.gathering = null;
    this.acking = this.ack(batch).finally(() => {
      this.acking = null;
      // What arrived meanwhile gets its window too: acks of a few results each would take the event loop from
      // ingest (each is a commit).
      this.ackSoon();
    });
  }

  /**
   * Wakes the loop once this ack is over: not from inside it, where the loop would still see the ack under way
   * (ackWillClaim) and the acked deliveries still in flight, and go back to sleep without claiming.
   */
  private wakeAfterAck(): void {
    setImmediate(() => this.wake());
  }

  private notify(batch: readonly RecordedResult[]): void {
    for (const observer of this.options.observers ?? []) {
      try {
        observer.recorded(batch);
      } catch (error) {
        this.options.logger.error({ err: error }, 'a delivery observer failed');
      }
    }
  }

  /**
   * Results the database refused as a batch (refusedData: a value or constraint, not the database being away),
   * acked in halves until each refused one is alone, while their leases last (`until`; at most 3n - 1 transactions
   * for n results, the refused batch's own and each lone result's second try counted). A refused one is recorded
   * once more without any of the exchange's text (bodies, headers, the error); if even that is refused, it is given
   * up. Given up: sent again after its lease. Returns false when the rest was given up (the leases ending, the
   * database away, a shutdown).
   */
  private async ackApart(results: RecordedResult[], refusal: unknown, until: number): Promise<boolean> {
    if (results.length === 1) {
      const [result] = results as [RecordedResult];
      const { attempt } = result;
      const plain = { ...result, attempt: { ...attempt, response: '', requestHeaders: null, responseHeaders: null, error: 'the database refused to record this response' } };
      const outcome = await this.ackPart([plain], until);
      if (outcome === 'given up') return false;
      this.options.logger.warn(
        { err: refusal, deliveryId: result.deliveryId, appId: attempt.appId, endpointId: attempt.endpointId },
        outcome === true ? "the database refused this attempt's response; recorded without it" : 'the database refused this delivery result; the delivery will be sent again after its lease expires',
      );
      return true;
    }
    const half = Math.ceil(results.length / 2);
    for (const part of [results.slice(0, half), results.slice(half)]) {
      const outcome = await this.ackPart(part, until);
      if (outcome === 'given up') return false;
      if (outcome !== true && !(await this.ackApart(part, outcome.refused, until))) return false;
    }
    return true;
  }

  /** An ack given up: its deliveries are sent again once their leases expire (at least once). */
  private ackGivenUp(error: unknown, count: number, how = ''): void {
    this.options.logger.error({ err: error, count }, `recording delivery results failed${how}; the deliveries will be sent again after their leases expire`);
  }

  /** One part of a refused batch: true once recorded, else its refusal, or 'given up' (logged). */
  private async ackPart(part: RecordedResult[], until: number): Promise<true | { refused: unknown } | 'given up'> {
    const now = this.clock();
    if (now >= until || (this.stoppingAt !== null && now >= this.stoppingAt + SHUTDOWN_ACK_BUDGET_MS)) {
      this.options.logger.error({ count: part.length }, 'recording delivery results apart outlasted their leases or the shutdown; the rest will be sent again after their leases expire');
      return 'given up';
    }
    try {
      const outcome = await this.options.store.completeDeliveries(part, { scheduler: this.policy });
      this.notify(asAcked(part, outcome.retriedAtNewUrl));
      return true;
    } catch (error) {
      if (refusedData(error)) return { refused: error };
      this.ackGivenUp(error, part.length);
      return 'given up';
    }
  }

  /**
   * Writes a batch of results in one transaction. A database that is away (a dropped connection, a restart, a
   * timeout, a deadlock) or full is retried with backoff for as long as the leases last, renewed meanwhile by the
   * heartbeat; a lost ack means the batch is sent again after its leases expire. A batch the database refuses for
   * what it carries is acked apart (ackApart); any other error is not retried: it would fail again.
   */
  private async ack(batch: AckBatch): Promise<void> {
    const { results } = batch;
    const startedAt = this.clock();
    let recorded = false;
    try {
      for (;;) {
        let wait: number;
        const ids = results.map((result) => result.deliveryId);
        for (const id of ids) this.ackingIds.add(id);
        try {
          // The ack may claim what its freed slots and budgets allow next (SQLite: in the same commit).
          const claim = this.claimAfterAck(results.length);
          const wakesBefore = this.wakes;
          const outcome = await this.options.store.completeDeliveries(results, { scheduler: this.policy, claim });
          this.acksFailing = false;
          this.health.succeeded();
          this.notify(asAcked(results, outcome.retriedAtNewUrl));
          const claimed = outcome.claimed ?? [];
          const thisAck = new Set(ids);
          for (const item of claimed) {
            if (thisAck.has(item.delivery.id) && this.held.has(item.delivery.id)) this.sendAfterRelease.set(item.delivery.id, item);
            else this.track(item);
          }
          // The ack freed budgets: claim (again, if its own claim was full, or a wake came after it had set out:
          // its claim may not have seen that work).
          if (!claim || claimed.length === claim.limit || this.wakes !== wakesBefore) this.wakeAfterAck();
          recorded = true;
          return;
        } catch (error) {
          if (refusedData(error)) {
            // Something in the batch the database refuses, every time: acked apart, so that a refused result costs
            // only itself, not the other tenants' results in its batch.
            this.options.logger.warn({ err: error, count: results.length }, 'the database refused a batch of delivery results; recording them apart');
            await this.ackApart(results, error, startedAt + this.options.config.leaseMs);
            return;
          }
          if (storeFailureOf(error) === null) {
            this.ackGivenUp(error, results.length);
            return;
          }
          this.acksFailing = true;
          wait = this.health.failed('ack', error);
          // While running, as long as a lease lasts; once shutting down, briefly (the process is about to go).
          const leaseEnd = startedAt + this.options.config.leaseMs;
          const giveUpAt = this.stoppingAt === null ? leaseEnd : Math.min(leaseEnd, Math.max(startedAt, this.stoppingAt) + SHUTDOWN_ACK_BUDGET_MS);
          if (this.clock() + wait >= giveUpAt) {
            this.ackGivenUp(error, results.length, ' for a whole lease');
            return;
          }
        } finally {
          for (const id of ids) this.ackingIds.delete(id);
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    } finally {
      batch.resolve();
      // Given up: the wakes that waited for this ack's claim claim on their own.
      if (!recorded) this.wakeAfterAck();
    }
  }
}

