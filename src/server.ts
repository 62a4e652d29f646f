import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { bootstrapAdminKey, ensureAdminToken } from './auth/api-keys.js';
import type { Config } from './config.js';
import { HttpSender } from './delivery/http-sender.js';
import { DestinationPolicy } from './delivery/ssrf.js';
import { DeliveryWorker } from './delivery/worker.js';
import { GroupCommitter } from './store/group-commit.js';
import { openStore } from './store/open.js';
import type { Store } from './store/store.js';

export type Role = 'all' | 'api' | 'worker';

export interface RunningHookd {
  /** Base URL of the API (null when the role runs no API). */
  url: string | null;
  store: Store;
  app: FastifyInstance | null;
  worker: DeliveryWorker | null;
  /** A token printed once when the database had no admin key yet. */
  bootstrapToken: string | null;
  /** Graceful shutdown: stop accepting, finish or release in-flight work, close the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger: Logger;
  role: Role;
  /** Injected for tests (a fake clock); defaults to Date.now. */
  clock?: () => number;
}

/** Opens the store, migrates it, and starts the API and/or the delivery worker. */
export async function startHookd(options: StartOptions): Promise<RunningHookd> {
  const { config, logger, role } = options;
  const clock = options.clock ?? Date.now;
  const store = await openStore(config.database);
  let app: FastifyInstance | null = null;
  let worker: DeliveryWorker | null = null;
  let sender: HttpSender | null = null;
  try {
    const applied = await store.migrate();
    if (applied.length > 0) logger.info({ applied }, 'applied migrations');
    if (config.adminToken) await ensureAdminToken(store, config.adminToken);
    const bootstrapToken = role === 'worker' ? null : await bootstrapAdminKey(store);

    if (role !== 'api') {
      sender = new HttpSender({
        timeoutMs: config.delivery.requestTimeoutMs,
        responseBodyLimitBytes: config.delivery.responseBodyLimitBytes,
        connectionsPerOrigin: config.delivery.connectionsPerOrigin,
        destinations: new DestinationPolicy(config.delivery.ssrfAllow),
      });
      worker = new DeliveryWorker({ store, sender, config: config.delivery, logger: logger.child({ component: 'worker' }), clock });
      worker.start();
    }

    let url: string | null = null;
    if (role !== 'worker') {
      const runningWorker = worker;
      const ingest = new GroupCommitter({ store, maxBatch: config.ingestMaxBatch, onCommitted: () => runningWorker?.wake() });
      app = await buildApp({ store, config, logger, ingest, clock, wakeWorker: () => runningWorker?.wake() });
      url = await app.listen({ host: config.host, port: config.port });
    }

    const started = { app, worker, sender };
    return {
      url,
      store,
      app,
      worker,
      bootstrapToken,
      close: () => shutdown(started, store, config.shutdownTimeoutMs, logger),
    };
  } catch (error) {
    await shutdown({ app, worker, sender }, store, config.shutdownTimeoutMs, logger);
    throw error;
  }
}

async function shutdown(
  running: { app: FastifyInstance | null; worker: DeliveryWorker | null; sender: HttpSender | null },
  store: Store,
  timeoutMs: number,
  logger: Logger,
): Promise<void> {
  // Stop taking requests first (in-flight ones finish), then drain deliveries, then close the database.
  await running.app?.close();
  await running.worker?.stop(timeoutMs);
  await running.sender?.close();
  await store.close();
  logger.info('hookd stopped');
}
