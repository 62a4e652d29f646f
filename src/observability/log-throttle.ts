import type { FastifyBaseLogger } from 'fastify';

/** How often a repeated warning is logged while its cause lasts; the lines between are counted, not written. */
export const REPEATED_WARNING_INTERVAL_MS = 10_000;

/**
 * A warning that every request may meet while one cause lasts (the database away or full: every ingest answers
 * 503/507, every /ready says not ready). The first is logged at once, then at most one per interval, carrying how
 * many were left out (`suppressed`): a line with a stack per refused request cost CPU exactly when it was scarcest,
 * and buried the first one. The figures per request are in hookd_http_responses_total.
 */
export class RepeatedWarning {
  private last = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly intervalMs = REPEATED_WARNING_INTERVAL_MS,
    private readonly clock: () => number = Date.now,
  ) {}

  warn(log: FastifyBaseLogger, fields: Record<string, unknown>, message: string): void {
    const now = this.clock();
    if (now - this.last < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.last = now;
    log.warn(this.suppressed > 0 ? { ...fields, suppressed: this.suppressed } : fields, message);
    this.suppressed = 0;
  }
}
