import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { apiKeyRoutes } from './api/api-keys.js';
import { appPortalRoutes } from './api/app-portal.js';
import { appRoutes } from './api/apps.js';
import { attemptRoutes } from './api/attempts.js';
import { backgroundTaskRoutes } from './api/background-tasks.js';
import { installAuth } from './api/auth.js';
import type { HookdContext } from './api/context.js';
import { deliveryRoutes } from './api/deliveries.js';
import { endpointHealthRoutes } from './api/endpoint-health.js';
import { endpointRoutes } from './api/endpoints.js';
import { errorServerOptions, installValidationAndErrors, requestTimeouts } from './api/errors.js';
import { eventTypeRoutes } from './api/event-types.js';
import { healthRoutes } from './api/health.js';
import { installIdempotency } from './api/idempotency.js';
import { installJsonBodyParser } from './api/json-body.js';
import { messageRoutes } from './api/messages.js';
import { environmentRoutes } from './api/environment.js';
import { operationalWebhookRoutes } from './api/operational-webhooks.js';
import { attachLazySchemas, LazySchemas } from './api/lazy-schemas.js';
import { installOpenApi, type RouterOptions } from './api/openapi.js';
import { installSecurityHeaders } from './api/security-headers.js';
import { statsRoutes } from './api/stats.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { sourceRoutes } from './api/sources.js';
import { ingestRoutes, installIngestRateLimit } from './inbound/index.js';
import { installRequestLogging, metricsRoute, requestIdFor, requestLogger, type HookdMetrics } from './observability/index.js';

export interface BuildAppOptions extends HookdContext {
  logger: Logger;
  /** This process's metrics, served at /metrics. */
  metrics: HookdMetrics;
}

const ROUTER_OPTIONS: RouterOptions = { ignoreTrailingSlash: true, maxParamLength: 500 };

/** Builds the HTTP API (never listens; server.ts does). */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { logger, metrics, ...context } = options;
  const schemas = new LazySchemas();
  const app = Fastify({
    // Route schemas compile on their first request (api/lazy-schemas.ts).
    schemaController: schemas.serializers(),
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: context.config.bodyLimitBytes,
    // Fastify's own two lines per request stay off (the top-level disableRequestLogging option is deprecated);
    // installRequestLogging writes one line per request instead, when HOOKD_LOG_REQUESTS is on.
    logController: new LogController({ disableRequestLogging: true }),
    // Request ids: the caller's x-request-id when it is short, visible ASCII; otherwise a new one.
    requestIdHeader: false,
    genReqId: requestIdFor,
    childLoggerFactory: requestLogger,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: ROUTER_OPTIONS,
    ...errorServerOptions,
    // A request must arrive whole within HOOKD_API_REQUEST_TIMEOUT (Fastify's default is no bound): a client that
    // stalls its headers or body is answered 408 and does not hold a connection, and its memory, for ever.
    ...requestTimeouts(context.config.apiRequestTimeoutMs),
  });
  app.decorate('hookd', context);
  attachLazySchemas(app, schemas);
  // First hook of all: the request id goes back on every response, errors included.
  installRequestLogging(app, { logRequests: context.config.observability.logRequests });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.countResponse(request.method, request.routeOptions.url, reply.statusCode);
    done();
  });
  // The API speaks JSON only (UTF-8, bounded nesting); any other body answers 415 Unsupported Media Type.
  installJsonBodyParser(app);
  installValidationAndErrors(app, schemas);
  installOpenApi(app, ROUTER_OPTIONS);
  installAuth(app);
  installIdempotency(app);
  // Lenient input as in Svix: a null field on POST/PUT means "not given".
  app.addHook('preValidation', async (request) => {
    if ((request.method === 'POST' || request.method === 'PUT') && isPlainObject(request.body)) {
      request.body = dropNulls(request.body);
    }
  });
  installSecurityHeaders(app, { portalFrameAncestors: context.config.portalFrameAncestors });
  // Inbound sources and the per-application ingest rate limit (src/inbound).
  installIngestRateLimit(app);
  await app.register(healthRoutes);
  await app.register(appRoutes);
  await app.register(endpointRoutes);
  await app.register(operationalWebhookRoutes);
  await app.register(messageRoutes);
  await app.register(attemptRoutes);
  await app.register(backgroundTaskRoutes);
  await app.register(eventTypeRoutes);
  await app.register(environmentRoutes);
  await app.register(apiKeyRoutes);
  await app.register(appPortalRoutes);
  await app.register(deliveryRoutes);
  await app.register(statsRoutes);
  await app.register(endpointHealthRoutes);
  await app.register(dashboardRoutes);
  // Inbound sources: managed under /api/v1/app/{app}/source; POST /ingest/{source_id} has its own raw-body parser.
  await app.register(sourceRoutes);
  await app.register(ingestRoutes);
  await app.register(metricsRoute(metrics, context.config.observability.metricsToken));
  return app;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The body without its null fields (top level only), the same object when it has none (every request body passes
 * here). fromEntries defines own keys: no `__proto__` setter runs.
 */
function dropNulls(body: Record<string, unknown>): Record<string, unknown> {
  if (!Object.values(body).includes(null)) return body;
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== null));
}
