import type { Logger } from 'pino';

/** The shortest and longest wait before the worker tries the database again after a failure. */
export const BACKOFF_MIN_MS = 100;
export const BACKOFF_MAX_MS = 5000;

/**
 * The worker's view of the database: after a failed claim, ack or lease renewal it waits exponentially longer
 * (BACKOFF_MIN_MS doubling up to BACKOFF_MAX_MS) before the next try, and it logs once when the database stops
 * answering and once when it answers again, not on every try.
 */
export class StoreHealth {
  private failures = 0;
  private since = 0;

  constructor(
    private readonly logger: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  get failing(): boolean {
    return this.failures > 0;
  }

  /** Records a failure of `what`; returns how long to wait before the next try. */
  failed(what: string, error: unknown): number {
    if (this.failures === 0) {
      this.since = this.clock();
      this.logger.error({ err: error, operation: what }, `the database failed (${what}); the worker backs off and retries until it answers again`);
    }
    this.failures++;
    return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(this.failures - 1, 16));
  }

  /** Records a success; the first after failures ends the outage. */
  succeeded(): void {
    if (this.failures === 0) return;
    // At the failure's visibility (warn), so an operator who sees the outage also sees its end.
    this.logger.warn({ failures: this.failures, outageMs: this.clock() - this.since }, 'the database answers again; the worker resumes');
    this.failures = 0;
  }
}
