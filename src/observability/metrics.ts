import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DeliveryObserver, RecordedResult } from '../delivery/worker.js';
import type { Message } from '../domain/types.js';
import type { InsertMessageResult, QueueStats, Store } from '../store/store.js';
import { summarize, type DeliveryOutcome, type DeliverySummary } from './delivery-summary.js';
import { LabelBound } from './label-bound.js';

/** Attempt durations from 5 ms to 30 s (the longest request timeout anyone should configure). */
export const ATTEMPT_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];
/**
 * Scrapes within this long of each other share one queue query (several scrapers, or a scrape loop); longer when the
 * last query took long (QUEUE_STATS_COST_RATIO), so scraping never takes more than a twentieth of the thread that runs
 * it (on SQLite, the API thread: the query is synchronous; about 110 ms with a million pending deliveries).
 */
const QUEUE_STATS_MAX_AGE_MS = 1000;
const QUEUE_STATS_COST_RATIO = 20;

export interface HookdMetricsOptions {
  /** Queue gauges read it on scrape. */
  store: Pick<Store, 'queueStats'>;
  /** Distinct apps, and distinct endpoints, with their own label value; the rest are `other`. */
  maxLabels: number;
  logger: Logger;
  clock?: () => number;
}

/**
 * The Prometheus metrics of one hookd process, in a registry of its own (never prom-client's global one: tests
 * run several hookds in one process). Counters are fed by the ingest path (`countingInserts`) and the delivery
 * worker (`deliveryObserver`); the queue gauges are read from the store when scraped.
 */
export class HookdMetrics {
  readonly registry = new Registry();
  private readonly apps: LabelBound;
  private readonly endpoints: LabelBound;
  private readonly clock: () => number;
  private readonly ingested: Counter<'app'>;
  private readonly deliveries: Counter<'outcome' | 'app' | 'endpoint'>;
  private readonly responses: Counter<'route' | 'status'>;
  private readonly threadRestarts: Counter;
  /** The responses counter's series by `${route} ${status}`: labels() hashes its values on every call. */
  private readonly responseSeries = new Map<string, Counter.Internal>();
  private readonly durations: Record<DeliveryOutcome, Histogram.Internal<'outcome'>>;
  private queue: { at: number; tookMs: number; stats: Promise<QueueStats | null> } | null = null;

  constructor(private readonly options: HookdMetricsOptions) {
    this.clock = options.clock ?? Date.now;
    this.apps = new LabelBound(options.maxLabels);
    this.endpoints = new LabelBound(options.maxLabels);
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'hookd_' });
    this.ingested = new Counter({
      name: 'hookd_messages_ingested_total',
      help: `Messages accepted and committed, by application (the first ${options.maxLabels} seen by this process; the rest are "other")`,
      labelNames: ['app'] as const,
      registers,
    });
    this.deliveries = new Counter({
      name: 'hookd_deliveries_total',
      help: 'Delivery attempts recorded by this process, by what became of the delivery: succeeded, retrying (another attempt is scheduled) or failed (for good); by application and endpoint (bounded, the rest are "other")',
      labelNames: ['outcome', 'app', 'endpoint'] as const,
      registers,
    });
    this.threadRestarts = new Counter({
      name: 'hookd_delivery_thread_restarts_total',
      help: "Times this process's delivery thread (hookd start) stopped unexpectedly and was started again",
      registers,
    });
    this.responses = new Counter({
      name: 'hookd_http_responses_total',
      help: 'API responses by route (method and pattern, "unmatched" for none) and status code: 429s of the ingest rate limit, 503s and 507s of a database away or full, 4xx of bad input',
      labelNames: ['route', 'status'] as const,
      registers,
    });
    const histogram = new Histogram({
      name: 'hookd_attempt_duration_seconds',
      help: 'Duration of delivery attempts (request sent to response read, or the error), by outcome',
      labelNames: ['outcome'] as const,
      buckets: ATTEMPT_DURATION_BUCKETS,
      registers,
    });
    this.durations = { succeeded: histogram.labels('succeeded'), retrying: histogram.labels('retrying'), failed: histogram.labels('failed') };
    const queueGauge = (name: string, help: string, pick: (stats: QueueStats, now: number) => number): void => {
      const gauge: Gauge = new Gauge({
        name,
        help,
        registers,
        collect: async () => {
          const now = this.clock();
          const stats = await this.queueStats(now);
          gauge.set(stats === null ? Number.NaN : pick(stats, now));
        },
      });
    };
    queueGauge('hookd_queue_depth', 'Pending deliveries (due, scheduled for a retry, or in flight); the same in every process sharing the database', (s) => s.pending);
    queueGauge('hookd_queue_due', 'Pending deliveries due now and waiting for a worker (not those their endpoint holds back)', (s) => s.due);
    queueGauge(
      'hookd_queue_held',
      "Pending deliveries due by their own schedule that their endpoint holds back: its circuit is open or half-open, or a receiver's Retry-After or the rate limit says not yet",
      (s) => s.held,
    );
    queueGauge('hookd_endpoint_circuits_open', 'Live, enabled endpoints whose circuit breaker is open or half-open (their waiting deliveries spend no attempts)', (s) => s.circuitsOpen);
    queueGauge(
      'hookd_queue_oldest_due_age_seconds',
      'How long the longest-waiting due delivery has been due (0 when none is due; held ones not counted): the delivery lag',
      (s, now) => (s.oldestDueAt === null ? 0 : Math.max(0, now - s.oldestDueAt) / 1000),
    );
  }

  /** The Prometheus text exposition of every metric. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /**
   * Watches this process's delivery (absent in an API-only process): whether it runs now, and how often a delivery
   * thread died and was started again. A delivery thread that keeps dying leaves the API answering and the queue
   * growing; these say why.
   */
  watchDelivery(running: () => boolean): void {
    new Gauge({
      name: 'hookd_delivery_running',
      help: "1 while this process's delivery worker runs; 0 while its delivery thread, dead, waits to be started again",
      registers: [this.registry],
      collect() {
        this.set(running() ? 1 : 0);
      },
    });
  }

  /** A delivery thread died (it is started again). */
  deliveryThreadDied(): void {
    this.threadRestarts.inc();
  }

  /** Counts one API response (`route`: the Fastify pattern, undefined when no route matched). */
  countResponse(method: string, route: string | undefined, status: number): void {
    const key = `${method} ${route ?? ''} ${status}`;
    let series = this.responseSeries.get(key);
    if (!series) {
      // Bounded: hookd's routes times the status codes it answers (an unmatched path is one "unmatched" route).
      series = this.responses.labels(route === undefined ? 'unmatched' : `${method} ${route}`, String(status));
      this.responseSeries.set(key, series);
    }
    series.inc();
  }

  /** Wraps the ingest path's store: messages committed by `insertMessages` are counted (duplicates are not). */
  countingInserts(store: Pick<Store, 'insertMessages'>): Pick<Store, 'insertMessages'> {
    return {
      insertMessages: async (messages: Message[]): Promise<InsertMessageResult[]> => {
        const results = await store.insertMessages(messages);
        this.countIngested(messages, results);
        return results;
      },
    };
  }

  /** Counts the inserted messages of one committed batch (one counter update per app in the batch). */
  countIngested(messages: readonly Message[], results: readonly InsertMessageResult[]): void {
    const perApp = new Map<string, number>();
    results.forEach((result, i) => {
      if (result.kind !== 'inserted') return;
      const appId = messages[i]!.appId;
      perApp.set(appId, (perApp.get(appId) ?? 0) + 1);
    });
    for (const [appId, count] of perApp) this.ingested.inc({ app: this.apps.label(appId) }, count);
  }

  /** Feeds the delivery counters and the duration histogram from the worker's recorded results. */
  readonly deliveryObserver: DeliveryObserver = {
    recorded: (results: readonly RecordedResult[]): void => this.recordDeliveries(results.map(summarize)),
  };

  /** The same from summaries: what a delivery thread sends over (its results stay on its side). */
  recordDeliveries(summaries: readonly DeliverySummary[]): void {
    const counts = new Map<string, { outcome: DeliveryOutcome; app: string; endpoint: string; n: number }>();
    for (const { outcome, appId, endpointId, durationMs } of summaries) {
      this.durations[outcome].observe(durationMs / 1000);
      const app = this.apps.label(appId);
      const endpoint = this.endpoints.label(endpointId);
      const key = `${outcome} ${app} ${endpoint}`;
      const entry = counts.get(key);
      if (entry) entry.n++;
      else counts.set(key, { outcome, app, endpoint, n: 1 });
    }
    for (const { n, ...labels } of counts.values()) this.deliveries.inc(labels, n);
  }

  /** The queue figures, shared by the queue gauges of one scrape and by later scrapes within QUEUE_STATS_MAX_AGE_MS. */
  private queueStats(now: number): Promise<QueueStats | null> {
    if (this.queue && now - this.queue.at < Math.max(QUEUE_STATS_MAX_AGE_MS, QUEUE_STATS_COST_RATIO * this.queue.tookMs)) return this.queue.stats;
    const started = performance.now();
    const stats = this.options.store.queueStats(now).then(
      (read) => {
        entry.tookMs = performance.now() - started;
        return read;
      },
      (error: unknown) => {
        this.options.logger.warn({ err: error }, 'reading the queue for metrics failed');
        return null;
      },
    );
    const entry = { at: now, tookMs: 0, stats };
    this.queue = entry;
    return stats;
  }
}
