import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

/**
 * Request ids and request logs. Every request gets an id: the caller's `x-request-id` when it is 1 to 128
 * visible ASCII characters (so it can be matched with the caller's own logs), otherwise a new UUID. Fastify puts
 * it on every line logged through `request.log` as `reqId`, and it is echoed as the `x-request-id` response
 * header. With `logRequests`, one info line per completed request says what happened, never with headers,
 * query strings or bodies: `{reqId, method, route, status, durationMs}` ("request completed").
 */

export const REQUEST_ID_HEADER = 'x-request-id';
const ACCEPTABLE_ID = /^[\x21-\x7e]{1,128}$/;

/** Fastify's `genReqId`: the caller's id when acceptable, else a fresh one. */
export function requestIdFor(request: IncomingMessage): string {
  const supplied = request.headers[REQUEST_ID_HEADER];
  return typeof supplied === 'string' && ACCEPTABLE_ID.test(supplied) ? supplied : randomUUID();
}

export function installRequestLogging(app: FastifyInstance, options: { logRequests: boolean }): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  if (!options.logRequests) return;
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      {
        method: request.method,
        // The route pattern (/api/v1/app/:app_id/msg), not the URL: bounded, and free of query strings.
        route: request.routeOptions.url ?? null,
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request completed',
    );
    done();
  });
}

const LOG_METHODS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogMethod = (typeof LOG_METHODS)[number];

/**
 * A request's logger, made on its first line. Fastify makes a child logger for every request and pino serializes
 * the child's bindings when it is made (2% of the API thread under sustained ingest, profiled); most requests log
 * nothing. Route-level logger options (a route's own level) get a child at once.
 */
class LazyRequestLogger {
  #made: FastifyBaseLogger | null = null;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
  ) {}

  private get made(): FastifyBaseLogger {
    return (this.#made ??= this.parent.child(this.bindings));
  }

  get level(): string {
    return this.#made?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.made.level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.made.child(bindings, options);
  }
}

for (const method of LOG_METHODS) {
  Object.defineProperty(LazyRequestLogger.prototype, method, {
    value(this: LazyRequestLogger, ...args: unknown[]) {
      return (this as unknown as { made: Record<LogMethod, (...args: unknown[]) => void> }).made[method](...args);
    },
  });
}

/** Fastify's `childLoggerFactory`: request loggers that cost nothing until they log. */
export function requestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  if (Object.keys(options).length > 0) return logger.child(bindings, options);
  return new LazyRequestLogger(logger, bindings) as unknown as FastifyBaseLogger;
}
