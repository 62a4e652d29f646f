import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { apiKeyRoutes } from './api/api-keys.js';
import { appRoutes } from './api/apps.js';
import { attemptRoutes } from './api/attempts.js';
import { installAuth } from './api/auth.js';
import type { HookdContext } from './api/context.js';
import { deliveryRoutes } from './api/deliveries.js';
import { endpointRoutes } from './api/endpoints.js';
import { errorServerOptions, installValidationAndErrors } from './api/errors.js';
import { eventTypeRoutes } from './api/event-types.js';
import { healthRoutes } from './api/health.js';
import { installIdempotency } from './api/idempotency.js';
import { installJsonBodyParser } from './api/json-body.js';
import { messageRoutes } from './api/messages.js';
import { installOpenApi } from './api/openapi.js';
import { installSecurityHeaders } from './api/security-headers.js';
import { statsRoutes } from './api/stats.js';
import { dashboardRoutes } from './dashboard/routes.js';

export interface BuildAppOptions extends HookdContext {
  logger: Logger;
}

/** Builds the HTTP API (never listens; server.ts does). */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { logger, ...context } = options;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: context.config.bodyLimitBytes,
    // No per-request log lines (the top-level disableRequestLogging option is deprecated).
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    ...errorServerOptions,
  });
  app.decorate('hookd', context);
  // The API speaks JSON only (UTF-8, bounded nesting); any other body answers 415 Unsupported Media Type.
  installJsonBodyParser(app);
  installValidationAndErrors(app);
  await installOpenApi(app);
  installAuth(app);
  installIdempotency(app);
  // Lenient input as in Svix: a null field on POST/PUT means "not given".
  app.addHook('preValidation', async (request) => {
    if ((request.method === 'POST' || request.method === 'PUT') && isPlainObject(request.body)) {
      request.body = dropNulls(request.body);
    }
  });
  installSecurityHeaders(app);
  await app.register(healthRoutes);
  await app.register(appRoutes);
  await app.register(endpointRoutes);
  await app.register(messageRoutes);
  await app.register(attemptRoutes);
  await app.register(eventTypeRoutes);
  await app.register(apiKeyRoutes);
  await app.register(deliveryRoutes);
  await app.register(statsRoutes);
  await app.register(dashboardRoutes);
  return app;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body without its null fields (top level only). fromEntries defines own keys: no `__proto__` setter runs. */
function dropNulls(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== null));
}
