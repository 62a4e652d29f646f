import { now, sleep } from './clock.js';
import { spawnBenchServer, waitMessage, type ChildHandle } from './processes.js';
import type { Ready, ReceiverCommand, ReceiverReply, ReceiverStats } from '../servers/ipc.js';

/** A command without its correlation id (added by `ask`). */
type Command = ReceiverCommand extends infer C ? (C extends ReceiverCommand ? Omit<C, 'id'> : never) : never;

/** The parent's side of a receiver process (bench/servers/receiver.ts). */
export class ReceiverProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: ReceiverReply) => void>();

  private constructor(
    readonly handle: ChildHandle,
    readonly urls: string[],
  ) {
    handle.child.on('message', (message) => {
      const reply = message as ReceiverReply;
      const resolve = this.waiting.get(reply.id);
      if (resolve) {
        this.waiting.delete(reply.id);
        resolve(reply);
      }
    });
  }

  /**
   * Starts a receiver listening on `ports` ports (distinct origins) of 127.0.0.1; `behaviour` makes it a broken
   * one (slow: answers after 2 s; hang: never answers).
   */
  static async start(ports = 1, behaviour: 'ok' | 'slow' | 'hang' = 'ok'): Promise<ReceiverProcess> {
    const handle = spawnBenchServer('receiver', 'receiver.ts', { BENCH_RECEIVER_PORTS: String(ports), BENCH_RECEIVER_BEHAVIOUR: behaviour });
    const ready = await waitMessage<Ready>(handle, 'ready');
    return new ReceiverProcess(handle, ready.ports.map((p) => `http://127.0.0.1:${p}`));
  }

  get pid(): number {
    return this.handle.pid;
  }

  private ask<T extends ReceiverReply['type']>(command: Command & { type: T }): Promise<Extract<ReceiverReply, { type: T }>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`receiver did not answer "${command.type}"`));
      }, 30_000);
      this.waiting.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply as Extract<ReceiverReply, { type: T }>);
      });
      this.handle.child.send({ ...command, id });
    });
  }

  async reset(options: { latency?: boolean; marks?: number[] } = {}): Promise<void> {
    await this.ask({ type: 'reset', latency: options.latency ?? false, marks: options.marks ?? [] });
  }

  async stats(): Promise<ReceiverStats> {
    const { type: _type, id: _id, ...stats } = await this.ask({ type: 'stats' });
    return stats;
  }

  /** [seq, ms from scheduled send to arrival] of each first arrival (latency mode). */
  async latencies(): Promise<Map<number, number>> {
    return new Map((await this.ask({ type: 'latencies' })).entries);
  }

  /**
   * Waits until `target` distinct deliveries have arrived, or no new one arrived for `stallMs`, or `timeoutMs`
   * passed; calls `progress` about every `progressMs`.
   */
  async waitForDistinct(
    target: number,
    options: { timeoutMs: number; stallMs?: number; progressMs?: number; progress?: (stats: ReceiverStats) => void },
  ): Promise<ReceiverStats & { complete: boolean; reason: string }> {
    const started = now();
    let lastProgress = started;
    let lastCount = -1;
    let lastChange = started;
    for (;;) {
      const stats = await this.stats();
      const t = now();
      if (stats.distinct >= target) return { ...stats, complete: true, reason: 'all arrived' };
      if (stats.distinct !== lastCount) {
        lastCount = stats.distinct;
        lastChange = t;
      }
      if (options.stallMs !== undefined && t - lastChange > options.stallMs) {
        return { ...stats, complete: false, reason: `no new delivery for ${Math.round(options.stallMs / 1000)} s` };
      }
      if (t - started > options.timeoutMs) return { ...stats, complete: false, reason: `timed out after ${Math.round(options.timeoutMs / 1000)} s` };
      if (options.progress && t - lastProgress >= (options.progressMs ?? 10_000)) {
        lastProgress = t;
        options.progress(stats);
      }
      if (!this.handle.running()) throw new Error(`receiver exited:\n${this.handle.output().slice(-2000)}`);
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    await this.handle.stop('SIGTERM', 5000);
  }
}
