import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import { nextTurn } from '../store/batched-writes.js';

export interface MaintenanceOptions {
  store: Pick<Store, 'purgeMessages' | 'purgeIdempotencyKeys' | 'purgeExpiredApiKeys' | 'purgeBackgroundTasks'>;
  /** Messages older than this are purged with their deliveries and attempts, and so are recoveries' and replays' task records; 0 = keep forever. */
  retentionMs: number;
  /** Idempotency keys older than this have expired and are deleted. */
  idempotencyTtlMs: number;
  intervalMs: number;
  /**
   * Rows deleted per purge transaction: a message, each of its deliveries and each of its attempts are a row each (a
   * message with more rows than this goes over several transactions); likewise each key.
   */
  batchSize: number;
  logger: Logger;
  clock?: () => number;
}

export interface MaintenanceReport {
  messages: number;
  deliveries: number;
  attempts: number;
  idempotencyKeys: number;
  /** API keys (app-portal tokens) expired for longer than EXPIRED_KEYS_KEPT_MS. */
  apiKeys: number;
  /** Recoveries' and replays' task records older than the retention. */
  backgroundTasks: number;
  /** Purge transactions run. */
  batches: number;
}

/**
 * How long an expired API key (an app-portal token) stays after its expiry: meanwhile a request presenting it is
 * told it expired (not that it is unknown) and the key list still shows it.
 */
export const EXPIRED_KEYS_KEPT_MS = 24 * 60 * 60 * 1000;

/**
 * The maintenance loop of worker-role processes: every `intervalMs`, purge messages older than the retention
 * (with their deliveries and attempts) and background tasks older than it, expired idempotency keys and API keys expired for more than
 * EXPIRED_KEYS_KEPT_MS (every portal sign-in makes one), in batches of at most `batchSize` rows (however widely a
 * message fanned out): one short transaction per batch and a turn of the event loop between batches, so ingest and
 * deliveries keep going meanwhile. On PostgreSQL every worker runs it; the store makes concurrent purges take
 * disjoint batches.
 */
export class MaintenanceLoop {
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = true;

  constructor(private readonly options: MaintenanceOptions) {
    this.clock = options.clock ?? Date.now;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops the loop; a run in progress stops after its current batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One full maintenance pass (the loop runs the same, but stops between batches once stop() is called). */
  runOnce(): Promise<MaintenanceReport> {
    return this.pass(() => false);
  }

  private async pass(stopping: () => boolean): Promise<MaintenanceReport> {
    const { store, retentionMs, idempotencyTtlMs, batchSize } = this.options;
    const report: MaintenanceReport = { messages: 0, deliveries: 0, attempts: 0, idempotencyKeys: 0, apiKeys: 0, backgroundTasks: 0, batches: 0 };
    const now = this.clock();
    /**
     * Runs one kind of purge batch after batch until one deletes fewer rows than it may and says there is no more (or
     * the loop stops).
     */
    const inBatches = async (purgeBatch: () => Promise<{ rows: number; more?: boolean }>): Promise<void> => {
      for (;;) {
        const { rows, more = false } = await purgeBatch();
        report.batches++;
        if ((rows < batchSize && !more) || stopping()) return;
        await nextTurn();
      }
    };
    if (retentionMs > 0) {
      // Each batch goes on where the one before it stopped; the next pass starts again from the oldest message.
      let after = '';
      await inBatches(async () => {
        const purged = await store.purgeMessages(now - retentionMs, batchSize, after);
        after = purged.resumeAfter;
        report.messages += purged.messages;
        report.deliveries += purged.deliveries;
        report.attempts += purged.attempts;
        return { rows: purged.messages + purged.deliveries + purged.attempts, more: purged.more };
      });
      await inBatches(async () => {
        const purged = await store.purgeBackgroundTasks(now - retentionMs, batchSize);
        report.backgroundTasks += purged;
        return { rows: purged };
      });
    }
    await inBatches(async () => {
      const expired = await store.purgeIdempotencyKeys(now - idempotencyTtlMs, batchSize);
      report.idempotencyKeys += expired;
      return { rows: expired };
    });
    await inBatches(async () => {
      const expired = await store.purgeExpiredApiKeys(now - EXPIRED_KEYS_KEPT_MS, batchSize);
      report.apiKeys += expired;
      return { rows: expired };
    });
    return report;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.runFromLoop().finally(() => {
        this.running = null;
        this.schedule();
      });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private async runFromLoop(): Promise<void> {
    try {
      const report = await this.pass(() => this.stopped);
      if (report.messages > 0 || report.idempotencyKeys > 0 || report.apiKeys > 0 || report.backgroundTasks > 0) this.options.logger.info(report, 'maintenance: purged expired data');
    } catch (error) {
      this.options.logger.error({ err: error }, 'maintenance failed; retrying at the next interval');
    }
  }
}
