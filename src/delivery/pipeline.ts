import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ackingStore } from '../operations/acks.js';
import type { Store } from '../store/store.js';
import { HttpSender } from './http-sender.js';
import { DestinationPolicy } from './ssrf.js';
import { DeliveryWorker, type DeliveryObserver } from './worker.js';

/** A running delivery side: the worker that claims, sends and acks, wherever it runs (this thread or its own). */
export interface Delivery {
  /** Due work may be waiting (a message was committed, an endpoint changed): claim now. */
  wake(): void;
  /** Stop claiming, let requests finish for up to `timeoutMs`, record what was cut off, release the rest. */
  stop(timeoutMs: number): Promise<void>;
  /** Whether it runs now (a delivery thread that died is not running until it is started again). */
  running(): boolean;
}

export interface DeliveryOptions {
  store: Store;
  config: Config;
  logger: Logger;
  clock: () => number;
  observers: DeliveryObserver[];
}

/**
 * The delivery worker with what it needs: an HTTP sender and a store whose acks apply the operations policy
 * (auto-disable, operational webhooks; src/operations). `store` stays the caller's to close.
 */
export async function startDelivery(options: DeliveryOptions): Promise<Delivery> {
  const { config, logger, clock } = options;
  const sender = new HttpSender({
    timeoutMs: config.delivery.requestTimeoutMs,
    responseBodyLimitBytes: config.delivery.responseBodyLimitBytes,
    connectionsPerOrigin: config.delivery.connectionsPerOrigin,
    destinations: new DestinationPolicy(config.delivery.ssrfAllow),
  });
  let worker: DeliveryWorker | null = null;
  try {
    const store = await ackingStore({ store: options.store, config: config.operations, logger: logger.child({ component: 'operations' }), clock, onEvents: () => worker?.wake() });
    worker = new DeliveryWorker({ store, sender, config: config.delivery, logger: logger.child({ component: 'worker' }), clock, observers: options.observers });
  } catch (error) {
    await sender.close();
    throw error;
  }
  const running = worker;
  running.start();
  let stopped = false;
  return {
    wake: () => running.wake(),
    // On the process's own event loop: it runs until stopped (a failure of it ends the process).
    running: () => !stopped,
    stop: async (timeoutMs) => {
      stopped = true;
      await running.stop(timeoutMs);
      await sender.close();
    },
  };
}
