import type { Message } from '../domain/types.js';
import { refusedData, StoreUnavailableError } from './failures.js';
import type { InsertMessageResult, Store } from './store.js';

/** The default bound on one transaction's payloads (characters): 16 Mi. Thousands of ordinary messages fit. */
export const MAX_BATCH_PAYLOAD = 16 * 1024 * 1024;

interface Pending {
  message: Message;
  resolve: (result: InsertMessageResult) => void;
  reject: (error: unknown) => void;
  /** When it stops waiting for a commit to start. */
  deadline: number;
}

export interface GroupCommitOptions {
  store: Pick<Store, 'insertMessages'>;
  maxBatch: number;
  /**
   * Most payload characters in one transaction (default MAX_BATCH_PAYLOAD; a message larger alone is a batch of its
   * own). Without it, 512 payloads of 1 MB made one statement of half a gigabyte: on PostgreSQL its parameter text
   * passed V8's longest string and the whole batch, every request in it, failed.
   */
  maxBatchPayload?: number;
  /** Most messages waiting for a commit; a submit beyond it is refused at once (StoreUnavailableError). */
  maxPending?: number;
  /**
   * Most payload characters waiting for a commit (a message larger alone is taken into an empty queue); a submit beyond
   * it is refused at once. The count alone let 10,000 waiting messages of 1 MB hold 10 GB while the database stalled.
   */
  maxPendingPayload?: number;
  /**
   * How long a message may wait for its commit to start (the store's own timeouts bound the commit itself): a
   * database that does not keep up makes requests fail fast instead of piling up.
   */
  waitTimeoutMs?: number;
  /** Called after a batch that created deliveries has committed (wakes the worker). */
  onCommitted?: (deliveries: number) => void;
  clock?: () => number;
}

/**
 * Group commit for ingest: messages submitted during one event-loop turn are written in one transaction,
 * so one fsync covers many requests. `submit` resolves only after the transaction holding the message has
 * committed, which is what makes a 202 mean "durably stored".
 *
 * The queue is bounded in messages, in payload and in time: when the database is away or slow, submits are refused (the API
 * answers 503 + Retry-After) rather than held, so memory stays flat. A refused message was never part of a
 * transaction: it is certainly not stored.
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  /** The payload characters in `queue`. */
  private queuedPayload = 0;
  private scheduled = false;
  private writing: Promise<void> = Promise.resolve();
  private sweeper: NodeJS.Timeout | null = null;
  private readonly clock: () => number;

  constructor(private readonly options: GroupCommitOptions) {
    this.clock = options.clock ?? Date.now;
  }

  submit(message: Message): Promise<InsertMessageResult> {
    const maxPending = this.options.maxPending ?? Number.POSITIVE_INFINITY;
    if (this.queue.length >= maxPending) {
      return Promise.reject(new StoreUnavailableError(`${this.queue.length} messages are already waiting for the database`));
    }
    const maxPayload = this.options.maxPendingPayload ?? Number.POSITIVE_INFINITY;
    if (this.queue.length > 0 && this.queuedPayload + message.payload.length > maxPayload) {
      return Promise.reject(new StoreUnavailableError(`${this.queue.length} messages of ${this.queuedPayload} payload characters are already waiting for the database`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ message, resolve, reject, deadline: this.clock() + (this.options.waitTimeoutMs ?? Number.POSITIVE_INFINITY) });
      this.queuedPayload += message.payload.length;
      this.sweepLater();
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.writing = this.writing.then(() => this.drain());
        });
      }
    });
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    while (this.queue.length > 0) {
      this.expire();
      const batch = this.queue.splice(0, this.batchLength());
      if (batch.length === 0) break;
      for (const pending of batch) this.queuedPayload -= pending.message.payload.length;
      await this.commit(batch);
    }
  }

  /** How many of the waiting messages the next transaction takes: up to maxBatch, and maxBatchPayload of payload. */
  private batchLength(): number {
    const limit = this.options.maxBatchPayload ?? MAX_BATCH_PAYLOAD;
    const most = Math.min(this.options.maxBatch, this.queue.length);
    let size = this.queue[0]?.message.payload.length ?? 0;
    let n = 1;
    while (n < most && size + this.queue[n]!.message.payload.length <= limit) size += this.queue[n++]!.message.payload.length;
    return n;
  }

  /**
   * One transaction for `batch`. When the database refuses what it carries (refusedData: not the database being
   * away), the batch is committed in halves until the refused message is alone, within a budget of transactions (a
   * few refused messages are isolated; a refusal every part meets fails the rest): one request's message cannot fail
   * the other requests (other tenants') it shared a commit with.
   */
  private async commit(batch: Pending[], budget = { left: 4 * Math.ceil(Math.log2(Math.max(2, batch.length))) + 4 }): Promise<void> {
    budget.left--;
    try {
      const results = await this.options.store.insertMessages(batch.map((p) => p.message));
      let deliveries = 0;
      results.forEach((result, i) => {
        if (result.kind === 'inserted') deliveries += result.deliveries;
        batch[i]!.resolve(result);
      });
      if (deliveries > 0) this.options.onCommitted?.(deliveries);
    } catch (error) {
      if (batch.length === 1 || !refusedData(error)) {
        for (const pending of batch) pending.reject(error);
        return;
      }
      const half = Math.ceil(batch.length / 2);
      for (const part of [batch.slice(0, half), batch.slice(half)]) {
        if (budget.left > 0) await this.commit(part, budget);
        else for (const pending of part) pending.reject(error);
      }
    }
  }

  /** Refuses the waiting messages whose deadline passed (while a slow commit holds the queue). */
  private expire(): void {
    const now = this.clock();
    if (this.queue.length === 0 || this.queue[0]!.deadline > now) return;
    const kept: Pending[] = [];
    for (const pending of this.queue) {
      if (pending.deadline > now) kept.push(pending);
      else {
        this.queuedPayload -= pending.message.payload.length;
        pending.reject(new StoreUnavailableError(`the database did not start a commit within ${this.options.waitTimeoutMs} ms`));
      }
    }
    this.queue = kept;
  }

  /** While messages wait, a timer refuses the overdue ones even if the commit in progress never returns. */
  private sweepLater(): void {
    if (this.sweeper || this.options.waitTimeoutMs === undefined) return;
    this.sweeper = setInterval(() => {
      this.expire();
      if (this.queue.length === 0 && this.sweeper) {
        clearInterval(this.sweeper);
        this.sweeper = null;
      }
    }, Math.max(10, Math.min(250, this.options.waitTimeoutMs / 4)));
  }
}
