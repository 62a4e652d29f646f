import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify';
import { OptionalKind } from '@sinclair/typebox';
import { HookdError, notFound } from '../domain/errors.js';

export type OpenApiDocument = { paths?: Record<string, Record<string, unknown>> } & Record<string, unknown>;

declare module 'fastify' {
  interface FastifyInstance {
    /** The OpenAPI 3 document of every route added after installOpenApi (made on the first call). */
    openApiDocument(): Promise<OpenApiDocument>;
  }
}

/** How the API's router reads paths; the docs instance reads them the same way. */
export interface RouterOptions {
  ignoreTrailingSlash: boolean;
  maxParamLength: number;
}

/** The request headers the docs instance is given: the ones a static file or a conditional GET reads. */
const FORWARDED_REQUEST_HEADERS = ['accept', 'accept-encoding', 'if-none-match', 'if-modified-since', 'range', 'if-range'] as const;
/** Headers of the docs instance's answers that describe its in-memory exchange, not the response: this reply sets its own. */
const EXCHANGE_HEADERS = new Set(['connection', 'content-length', 'date', 'keep-alive', 'transfer-encoding']);

/**
 * OpenAPI 3 document generated from the route schemas, at /openapi.json, and Swagger UI at /docs.
 *
 * Both come from a second Fastify instance, made on the first request for either and never listened on:
 * @fastify/swagger and its UI (yaml, @fastify/static) would otherwise take 3.5 MB of the API thread's memory in every
 * hookd, read or not (measured at rest). This instance records the options of every route added after this call,
 * as @fastify/swagger itself does; the docs instance declares the same routes, with no handlers or validators, for
 * @fastify/swagger to describe. Only paths under /docs reach it, with only the headers a static file reads; its
 * answers go out through this instance's reply, so this instance's hooks (security headers, request logging) apply
 * to them as to any other response. Once made, it lives until this instance closes.
 */
export function installOpenApi(app: FastifyInstance, routerOptions: RouterOptions): void {
  const routes: RouteOptions[] = [];
  let docs: Promise<FastifyInstance> | null = null;
  const docsInstance = (): Promise<FastifyInstance> => {
    docs ??= docsFor(routes, routerOptions).catch((error: unknown) => {
      docs = null; // the next request tries again
      throw error;
    });
    return docs;
  };
  const closeDocs = async (): Promise<void> => {
    const made = docs;
    docs = null;
    await made?.then((instance) => instance.close()).catch(() => undefined);
  };
  app.decorate('openApiDocument', async () => (await docsInstance()).swagger() as OpenApiDocument);
  app.get('/openapi.json', { schema: { hide: true } }, () => app.openApiDocument());
  const forward = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    // The router matched /docs/* before resolving dot segments: /docs/../api/v1/app must not become /api/v1/app
    // in the docs instance.
    const { pathname, search } = new URL(request.url, 'http://hookd.invalid');
    if (pathname !== '/docs' && !pathname.startsWith('/docs/')) throw notFound(pathname);
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const answer = await (await docsInstance()).inject({ method: 'GET', url: `${pathname}${search}`, headers });
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !EXCHANGE_HEADERS.has(name)) reply.header(name, value);
    }
    // Its errors are answered as hookd answers errors: a file that is not there or a path out of the static
    // directory is not found; an unsatisfiable range keeps its status (and Content-Range, set above).
    if (answer.statusCode === 404 || answer.statusCode === 403) throw notFound(pathname);
    if (answer.statusCode === 416) throw new HookdError('HOOKD_ERR_RANGE_NOT_SATISFIABLE', `the range ${headers['range'] ?? ''} is not in ${pathname}`);
    if (answer.statusCode >= 400) throw new HookdError(answer.statusCode < 500 ? 'HOOKD_ERR_BAD_REQUEST' : 'HOOKD_ERR_INTERNAL', `the docs answered ${answer.statusCode} ${answer.statusMessage}`);
    // An empty answer (a redirect) goes out empty, not as an empty application/octet-stream.
    return reply.code(answer.statusCode).send(answer.rawPayload.length > 0 ? answer.rawPayload : undefined);
  };
  app.get('/docs', { schema: { hide: true } }, forward);
  app.get('/docs/*', { schema: { hide: true } }, forward);
  app.addHook('onRoute', (route) => {
    if ((route.schema as { hide?: boolean } | undefined)?.hide) return;
    routes.push(route);
    // A document made before this route was added would leave it out: the next request makes a new one.
    if (docs) void closeDocs();
  });
  app.addHook('onClose', closeDocs);
}

async function docsFor(routes: readonly RouteOptions[], routerOptions: RouterOptions): Promise<FastifyInstance> {
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([import('@fastify/swagger'), import('@fastify/swagger-ui')]);
  const docs = Fastify({ routerOptions });
  // The routes here are descriptions: nothing is validated or serialized with their schemas.
  docs.setValidatorCompiler(() => () => true);
  docs.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await docs.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'hookd',
        version: '0.1.0',
        description: 'Self-hosted webhook delivery with a Svix-compatible API. Authenticate with `Authorization: Bearer <token>`.',
      },
      components: { securitySchemes: { HTTPBearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ HTTPBearer: [] }],
    },
    transformObject: (made) => ('openapiObject' in made ? withOptionalBodies(made.openapiObject as OpenApiDocument) : made.swaggerObject),
  });
  // No validator badge: it would load an image from validator.swagger.io, which the page CSP refuses.
  await docs.register(swaggerUi, { routePrefix: '/docs', uiConfig: { validatorUrl: null } });
  // Never answered here: the API instance forwards only /docs paths, which these routes are not.
  const described = async (_request: FastifyRequest, reply: FastifyReply) => reply.code(404).send();
  for (const route of routes) {
    // HEAD routes are the ones Fastify adds beside each GET (@fastify/swagger leaves them out); this instance adds them too.
    const methods = [route.method].flat().filter((method) => method !== 'HEAD');
    if (methods.length > 0) docs.route({ method: methods, url: route.url, schema: markOptionalBody(withIdempotencyKey(methods, route.schema)), config: route.config, handler: described });
  }
  await docs.ready();
  return docs;
}

/** Marks an operation whose body may be left out (withOptionalBodies). */
const OPTIONAL_BODY = 'x-hookd-optional-body';

/**
 * A route whose body schema is `Type.Optional(...)` (an empty POST works: secret rotation, portal access) keeps the
 * mark as an operation field (@fastify/swagger copies `x-` keys of a schema to its operation).
 */
function markOptionalBody(schema: RouteOptions['schema']): RouteOptions['schema'] {
  const body = (schema as { body?: object } | undefined)?.body;
  return body !== undefined && (body as Record<symbol, unknown>)[OptionalKind] === 'Optional' ? ({ ...schema, [OPTIONAL_BODY]: true } as RouteOptions['schema']) : schema;
}

/** @fastify/swagger marks every request body required; the marked ones (markOptionalBody) are not. */
function withOptionalBodies(document: OpenApiDocument): OpenApiDocument {
  for (const operations of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(operations) as { requestBody?: { required?: boolean }; [OPTIONAL_BODY]?: boolean }[]) {
      if (!operation[OPTIONAL_BODY]) continue;
      delete operation[OPTIONAL_BODY];
      if (operation.requestBody) operation.requestBody.required = false;
    }
  }
  return document;
}

/** The `idempotency-key` header every authenticated POST honours (api/idempotency.ts), described as Svix's spec does. */
function withIdempotencyKey(methods: readonly string[], schema: RouteOptions['schema']): RouteOptions['schema'] {
  const described = schema as { security?: unknown[]; headers?: unknown } | undefined;
  if (!methods.includes('POST') || described?.headers !== undefined || (described?.security !== undefined && described.security.length === 0)) return schema;
  return {
    ...schema,
    headers: {
      type: 'object',
      properties: {
        'idempotency-key': {
          type: 'string',
          minLength: 1,
          maxLength: 256,
          description:
            "The request's idempotency key. A repeat from the same API key to the same URL with the same body within HOOKD_IDEMPOTENCY_TTL replays the first 2xx answer (idempotent-replayed: true).",
        },
      },
    },
  };
}
