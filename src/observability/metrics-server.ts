import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { safeEqual } from '../domain/signing.js';
import type { HookdMetrics } from './metrics.js';

/**
 * /metrics, on the API port (a Fastify route) and optionally on a port of its own (HOOKD_METRICS_PORT: the only
 * way to scrape `hookd worker`, which has no API). Open by default, as Prometheus scrapers usually send no
 * token; with HOOKD_METRICS_TOKEN it needs `Authorization: Bearer <that token>`. Not under /api/, so API keys
 * play no part.
 */

const UNAUTHORIZED = JSON.stringify({ code: 'authentication_failed', detail: 'missing or invalid bearer token for /metrics' });

/** Whether the request may read the metrics (always, when no token is configured). */
export function metricsAuthorized(authorization: string | undefined, token: string | null): boolean {
  if (token === null) return true;
  const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return match !== null && safeEqual(match[1]!, token);
}

/** GET /metrics on the API (left out of the OpenAPI document: it is not JSON). */
export function metricsRoute(metrics: HookdMetrics, token: string | null) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      if (!metricsAuthorized(request.headers.authorization, token)) {
        return reply.code(401).header('www-authenticate', 'Bearer').type('application/json').send(UNAUTHORIZED);
      }
      const { contentType, body } = await metrics.render();
      return reply.header('cache-control', 'no-store').type(contentType).send(body);
    });
  };
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** A listener that serves only /metrics (GET); anything else is a JSON 404. */
export async function startMetricsServer(options: { metrics: HookdMetrics; token: string | null; host: string; port: number; logger: Logger }): Promise<MetricsServer> {
  const { metrics, token, logger } = options;
  const server: Server = createServer((request: IncomingMessage, response) => {
    const json = (status: number, body: string, headers: Record<string, string> = {}): void => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(body);
    };
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics') return json(404, JSON.stringify({ code: 'not_found', detail: 'only /metrics is served on this port' }));
    if (request.method !== 'GET' && request.method !== 'HEAD') return json(405, JSON.stringify({ code: 'method_not_allowed', detail: 'use GET' }), { allow: 'GET, HEAD' });
    if (!metricsAuthorized(request.headers.authorization, token)) return json(401, UNAUTHORIZED, { 'www-authenticate': 'Bearer' });
    metrics.render().then(
      ({ contentType, body }) => {
        response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'rendering metrics failed');
        json(500, JSON.stringify({ code: 'server_error', detail: 'internal server error' }));
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
