/** Observability: Prometheus metrics, /metrics (API port or its own), request ids and request logs. */
export { HookdMetrics, ATTEMPT_DURATION_BUCKETS } from './metrics.js';
export type { DeliveryOutcome } from './delivery-summary.js';
export { OTHER_LABEL } from './label-bound.js';
export { metricsRoute, startMetricsServer, type MetricsServer } from './metrics-server.js';
export { installRequestLogging, requestIdFor, requestLogger, REQUEST_ID_HEADER } from './request-log.js';
