import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { bootstrapAdminKey, ensureAdminToken } from './auth/api-keys.js';
import type { Config } from './config.js';
import type { Delivery } from './delivery/pipeline.js';
import { startDeliveryThread } from './delivery/thread.js';
import { MaintenanceLoop } from './maintenance/maintenance.js';
import { HookdMetrics, startMetricsServer, type MetricsServer } from './observability/index.js';
import { GroupCommitter } from './store/group-commit.js';
import { openStore } from './store/open.js';
import type { Store } from './store/store.js';

export type Role = 'all' | 'api' | 'worker';

export interface RunningHookd {
  /** Base URL of the API (null when the role runs no API). */
  url: string | null;
  store: Store;
  app: FastifyInstance | null;
  /** The delivery worker, on this event loop or on its own thread (null when the role delivers nothing). */
  worker: Delivery | null;
  /** A token printed once when the database had no admin key yet. */
  bootstrapToken: string | null;
  /** Base URL of the metrics-only listener (HOOKD_METRICS_PORT), or null. */
  metricsUrl: string | null;
  /** A shutdown is coming: /ready answers 503 from now on, everything else goes on (HOOKD_SHUTDOWN_DELAY). */
  drain(): void;
  /** Graceful shutdown: stop accepting, finish or release in-flight work, close the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger: Logger;
  role: Role;
  /** Injected for tests (a fake clock; the worker then runs on this thread, which the clock cannot leave). */
  clock?: () => number;
}

/** Opens the store, migrates it, and starts the API and/or the delivery worker. */
export async function startHookd(options: StartOptions): Promise<RunningHookd> {
  const { config, logger, role } = options;
  const clock = options.clock ?? Date.now;
  // With HOOKD_DELIVERY_THREAD, hookd start delivers on a thread of its own (a second core; src/delivery/thread.ts);
  // hookd worker is a process of its own already.
  const onThread = role === 'all' && config.delivery.thread && !options.clock;
  // hookd start serves its SQLite file alone (a lock file names the holder); the scale-out roles share PostgreSQL.
  // The SQLite file's background checkpoints: beside a delivery thread, on this connection between its commits (the
  // delivery thread is the busier one when a backlog drains); with everything on this event loop, on a thread of
  // their own.
  const store = await openStore(config.database, { exclusive: role === 'all', checkpoint: onThread ? 'here' : true });
  let app: FastifyInstance | null = null;
  let worker: Delivery | null = null;
  let maintenance: MaintenanceLoop | null = null;
  let metricsServer: MetricsServer | null = null;
  const lifecycle = { draining: false };
  try {
    const applied = await store.migrate();
    if (applied.length > 0) logger.info({ applied }, 'applied migrations');
    if (config.adminToken) await ensureAdminToken(store, config.adminToken);
    // Observability: this process's metrics, fed by ingest and the worker, served at /metrics.
    const metrics = new HookdMetrics({ store, maxLabels: config.observability.metricsMaxLabels, logger: logger.child({ component: 'metrics' }), clock });

    if (role !== 'api') {
      // The pipeline (undici) is loaded only where it runs: the API thread of hookd start never loads it.
      worker = onThread
        ? await startDeliveryThread({ config, logger, onRecorded: (summaries) => metrics.recordDeliveries(summaries), onDied: () => metrics.deliveryThreadDied() })
        : await (await import('./delivery/pipeline.js')).startDelivery({ store, config, logger, clock, observers: [metrics.deliveryObserver] });
      const delivery = worker;
      metrics.watchDelivery(() => delivery.running());
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
        maxPendingPayload: config.ingestQueuePayload,
        waitTimeoutMs: config.database.timeoutMs,
        onCommitted: () => runningWorker?.wake(),
        clock,
      });
      app = await buildApp({ store, config, logger, ingest, clock, wakeWorker: () => runningWorker?.wake(), countStored: (message) => metrics.countIngested([message], [{ kind: 'inserted', deliveries: 1 }]), metrics, lifecycle });
      url = await app.listen({ host: config.host, port: config.port }).catch((error: unknown) => {
        // A name that does not resolve, a port in use: an operator error the CLI reports in one line.
        throw listenError(`cannot listen on ${config.host}:${config.port}`, 'set HOOKD_HOST / HOOKD_PORT', error);
      });
    }

    // A metrics-only port: how a worker-only process is scraped.
    if (config.observability.metricsPort !== null) {
      metricsServer = await startMetricsServer({ metrics, token: config.observability.metricsToken, host: config.host, port: config.observability.metricsPort, logger }).catch(
        (error: unknown) => {
          throw listenError(`cannot listen on ${config.host}:${config.observability.metricsPort} for metrics`, 'set HOOKD_METRICS_PORT, or HOOKD_HOST', error);
        },
      );
    }

    // The first admin key once this process serves: a start that fails (a port in use) must not make a key whose token
    // it never printed, leaving the next start, which finds a key, to print none.
    const bootstrapToken = role === 'worker' ? null : await bootstrapAdminKey(store);
    const started = { app, worker, maintenance, metricsServer };
    return {
      url,
      store,
      app,
      worker,
      bootstrapToken,
      metricsUrl: metricsServer?.url ?? null,
      drain: () => {
        lifecycle.draining = true;
      },
      close: () => {
        lifecycle.draining = true;
        return shutdown(started, store, config.shutdownTimeoutMs, logger);
      },
    };
  } catch (error) {
    await shutdown({ app, worker, maintenance, metricsServer }, store, config.shutdownTimeoutMs, logger);
    throw error;
  }
}

async function shutdown(
  running: {
    app: FastifyInstance | null;
    worker: Delivery | null;
    maintenance: MaintenanceLoop | null;
    metricsServer: MetricsServer | null;
  },
  store: Store,
  timeoutMs: number,
  logger: Logger,
): Promise<void> {
  // Stop taking requests (in-flight ones finish) and drain deliveries at once, each within the timeout, then close the
  // database. The API went first and without a bound until 2026-12: a client that stalled its body held the
  // shutdown, the worker sending all along, until the CLI's exit(1) cut deliveries off with no attempt recorded.
  await Promise.all([running.app ? closeApi(running.app, timeoutMs, logger) : null, running.metricsServer?.close(), running.worker?.stop(timeoutMs)]);
  await running.maintenance?.stop();
  await store.close();
  logger.info('hookd stopped');
}

/** Closes the API: requests under way get until `timeoutMs` to finish, then their connections are cut. */
async function closeApi(app: FastifyInstance, timeoutMs: number, logger: Logger): Promise<void> {
  const closing = app.close();
  const timer = setTimeout(() => {
    logger.warn({ timeoutMs }, 'API requests still under way at the shutdown timeout: their connections are closed');
    app.server.closeAllConnections();
  }, timeoutMs);
  try {
    await closing;
  } finally {
    clearTimeout(timer);
  }
}

/** A listener that could not start (a name that does not resolve, a port in use): the CLI prints it in one line, with what to set. */
function listenError(what: string, hint: string, error: unknown): Error {
  return Object.assign(new Error(`${what}: ${(error as Error).message} (${hint})`), { syscall: 'listen', cause: error });
}
