import { now } from './clock.js';
import { rssOf } from './processes.js';

export interface RssSample {
  at: number;
  rssBytes: number;
}

/** Samples a process's VmRSS (from /proc/<pid>/status) every `intervalMs` until stopped. */
export class RssSampler {
  readonly samples: RssSample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private peakHwm = 0;

  constructor(
    private readonly pid: number,
    intervalMs = 1000,
  ) {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), intervalMs);
  }

  private async sample(): Promise<void> {
    const status = await rssOf(this.pid);
    if (!status || !Number.isFinite(status.rss)) return;
    this.samples.push({ at: now(), rssBytes: status.rss });
    if (Number.isFinite(status.hwm)) this.peakHwm = Math.max(this.peakHwm, status.hwm);
  }

  /** Takes a last sample (VmHWM included) and stops; call before the process exits. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sample();
  }

  /** Peak resident set: the kernel's high-water mark (VmHWM) when seen, else the largest sample. */
  peakBytes(): number {
    return Math.max(this.peakHwm, ...this.samples.map((s) => s.rssBytes), 0);
  }

  /** Samples taken in [from, to). */
  between(from: number, to: number): RssSample[] {
    return this.samples.filter((s) => s.at >= from && s.at < to);
  }
}

export const MB = 1024 * 1024;
