import type { Message } from '../domain/types.js';
import type { InsertMessageResult, Store } from './store.js';

interface Pending {
  message: Message;
  resolve: (result: InsertMessageResult) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  store: Pick<Store, 'insertMessages'>;
  maxBatch: number;
  /** Called after a batch that created deliveries has committed (wakes the worker). */
  onCommitted?: (deliveries: number) => void;
}

/**
 * Group commit for ingest: messages submitted during one event-loop turn are written in one transaction,
 * so one fsync covers many requests. `submit` resolves only after the transaction holding the message has
 * committed, which is what makes a 202 mean "durably stored".
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  private scheduled = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: GroupCommitOptions) {}

  submit(message: Message): Promise<InsertMessageResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
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
      const batch = this.queue.splice(0, this.options.maxBatch);
      try {
        const results = await this.options.store.insertMessages(batch.map((p) => p.message));
        let deliveries = 0;
        results.forEach((result, i) => {
          if (result.kind === 'inserted') deliveries += result.deliveries;
          batch[i]!.resolve(result);
        });
        if (deliveries > 0) this.options.onCommitted?.(deliveries);
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
  }
}
