import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { bootstrapAdminKey, ensureAdminToken } from './auth/api-keys.js';
import type { Config } from './config.js';
import { HttpSender } from './delivery/http-sender.js';
import { DestinationPolicy } from './delivery/ssrf.js';
import { DeliveryWorker } from './delivery/worker.js';
import { MaintenanceLoop } from './maintenance/maintenance.js';
import { HookdMetrics, startMetricsServer, type MetricsServer } from './observability/index.js';
import { ackingStore } from './operations/acks.js';
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
  /** Base URL of the metrics-only listener (HOOKD_METRICS_PORT), or null. */
  metricsUrl: string | null;
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
  // hookd start serves its SQLite file alone (a lock file names the holder); the scale-out roles share PostgreSQL.
  const store = await openStore(config.database, { exclusive: role === 'all' });
  let app: FastifyInstance | null = null;
  let worker: DeliveryWorker | null = null;
  let sender: HttpSender | null = null;
  let maintenance: MaintenanceLoop | null = null;
  let metricsServer: MetricsServer | null = null;
  try {
    const applied = await store.migrate();
    if (applied.length > 0) logger.info({ applied }, 'applied migrations');
    if (config.adminToken) await ensureAdminToken(store, config.adminToken);
    const bootstrapToken = role === 'worker' ? null : await bootstrapAdminKey(store);
    // Observability: this process's metrics, fed by ingest and the worker, served at /metrics.
    const metrics = new HookdMetrics({ store, maxLabels: config.observability.metricsMaxLabels, logger: logger.child({ component: 'metrics' }), clock });

    if (role !== 'api') {
      sender = new HttpSender({
        timeoutMs: config.delivery.requestTimeoutMs,
        responseBodyLimitBytes: config.delivery.responseBodyLimitBytes,
        connectionsPerOrigin: config.delivery.connectionsPerOrigin,
        destinations: new DestinationPolicy(config.delivery.ssrfAllow),
      });
      // Operations: acks disable endpoints failing too long and record operational webhooks in their own
      // transaction (src/operations); the maintenance loop purges expired data (src/maintenance).
      const ackStore = await ackingStore({ store, config: config.operations, logger: logger.child({ component: 'operations' }), clock, onEvents: () => worker?.wake() });
      const observers = [metrics.deliveryObserver]; // delivery metrics
      worker = new DeliveryWorker({ store: ackStore, sender, config: config.delivery, logger: logger.child({ component: 'worker' }), clock, observers });
      worker.start();
      maintenance = new MaintenanceLoop({
        store,
        retentionMs: config.operations.retentionMs,
        idempotencyTtlMs: config.idempotencyTtlMs,
        intervalMs: config.operations.maintenanceIntervalMs,
        batchSize: config.operations.retentionBatch,
        logger: logger.child({ component: 'maintenance' }),
        clock,
      });
      maintenance.start();
    }

    let url: string | null = null;
    if (role !== 'worker') {
      const runningWorker = worker;
      const ingest = new GroupCommitter({
        store: metrics.countingInserts(store),
        maxBatch: config.ingestMaxBatch,
        maxPending: config.ingestQueueLimit,
        waitTimeoutMs: config.database.timeoutMs,
        onCommitted: () => runningWorker?.wake(),
        clock,
      });
      app = await buildApp({ store, config, logger, ingest, clock, wakeWorker: () => runningWorker?.wake(), metrics });
      url = await app.listen({ host: config.host, port: config.port }).catch((error: unknown) => {
        // A name that does not resolve, a port in use: an operator error the CLI reports in one line.
        throw Object.assign(new Error(`cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`), { syscall: 'listen', cause: error });
      });
    }

    // A metrics-only port: how a worker-only process is scraped.
    if (config.observability.metricsPort !== null) {
      metricsServer = await startMetricsServer({ metrics, token: config.observability.metricsToken, host: config.host, port: config.observability.metricsPort, logger });
    }

    const started = { app, worker, sender, maintenance, metricsServer };
    return {
      url,
      store,
      app,
      worker,
      bootstrapToken,
      metricsUrl: metricsServer?.url ?? null,
      close: () => shutdown(started, store, config.shutdownTimeoutMs, logger),
    };
  } catch (error) {
    await shutdown({ app, worker, sender, maintenance, metricsServer }, store, config.shutdownTimeoutMs, logger);
    throw error;
  }
}

async function shutdown(
  running: {
    app: FastifyInstance | null;
    worker: DeliveryWorker | null;
    sender: HttpSender | null;
    maintenance: MaintenanceLoop | null;
    metricsServer: MetricsServer | null;
  },
  store: Store,
  timeoutMs: number,
  logger: Logger,
): Promise<void> {
  // Stop taking requests first (in-flight ones finish), then drain deliveries, then close the database.
  await running.app?.close();
  await running.metricsServer?.close();
  await running.worker?.stop(timeoutMs);
  await running.maintenance?.stop();
  await running.sender?.close();
  await store.close();
  logger.info('hookd stopped');
}
