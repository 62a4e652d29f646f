import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../domain/errors.js';
import { OPERATOR_APP_UID, ensureOperatorApp } from '../operations/operator.js';
import { requireAdmin } from './context.js';
import {
  EndpointHeadersIn,
  EndpointHeadersOut,
  EndpointIn,
  EndpointOut,
  EndpointSecretOut,
  EndpointSecretRotateIn,
  EndpointUpdate,
  ListOf,
  ListQueryOf,
  adminErrorResponses,
} from './schemas.js';

const tags = ['Operational Webhook Endpoint'];
const base = '/api/v1/operational-webhook/endpoint';
const one = `${base}/:endpoint_id`;
const Params = Type.Object({ endpoint_id: Type.String({ minLength: 1, maxLength: 256 }) });
const description =
  "An endpoint of the hookd-operator application, where hookd's operational events go (endpoint.disabled, message.attempt.failing, exhausted, recovered): the same operation as on /api/v1/app/hookd-operator/endpoint/... Needs an admin key.";
/** Svix's OperationalWebhookEndpointOut: an endpoint's fields but its version, channels and concurrency. */
const OperationalWebhookEndpointOut = Type.Pick(EndpointOut, ['id', 'uid', 'url', 'description', 'rateLimit', 'throttleRate', 'disabled', 'filterTypes', 'eventTypes', 'metadata', 'createdAt', 'updatedAt']);

/**
 * Svix's operational webhook endpoints (svix `operationalWebhookEndpoint.*`). hookd raises its operational events as
 * messages of its operator application (operations/operator.ts), so these are that application's endpoints: each route
 * runs the endpoint route of the same name on it, and so validates, stores, signs and guards (SSRF) exactly as an
 * endpoint does. The operator application is created on first use; events are raised once it has an endpoint.
 */
export async function operationalWebhookRoutes(fastify: FastifyInstance): Promise<void> {
  // The untyped instance: every handler is the same forwarding, whatever its route's schema.
  const app = fastify;
  const { store, clock } = fastify.hookd;

  /**
   * Runs the same request on the operator application's endpoint route (`path` after `.../endpoint`) and answers what
   * it answered, with the headers that matter to a client (Retry-After on a 503, Allow, Location). A read does not
   * create the application: without it there is nothing to list, and no endpoint to find.
   */
  async function onOperatorApp(request: FastifyRequest, reply: FastifyReply, path: string): Promise<FastifyReply> {
    requireAdmin(request);
    const reading = request.method === 'GET';
    const operator = reading ? await store.getApp(OPERATOR_APP_UID) : await ensureOperatorApp(store, clock());
    if (!operator) {
      if (path !== '') throw notFound('endpoint');
      return reply.send({ data: [], iterator: null, prevIterator: null, done: true });
    }
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const body = request.body === undefined || request.body === null ? undefined : JSON.stringify(request.body);
    const answered = await fastify.inject({
      method: request.method as 'GET' | 'POST' | 'PUT' | 'DELETE',
      url: `/api/v1/app/${operator.id}/endpoint${path}${query}`,
      headers: { authorization: request.headers.authorization ?? '', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: body }),
    });
    reply.code(answered.statusCode);
    for (const name of ['retry-after', 'allow', 'location']) {
      const value = answered.headers[name];
      if (value !== undefined) reply.header(name, value);
    }
    return answered.body === '' ? reply.send() : reply.send(JSON.parse(answered.body));
  }
  const endpointPath = (request: FastifyRequest): string => {
    const id = (request.params as { endpoint_id: string }).endpoint_id;
    // A path segment "." or ".." (encoded or not) is resolved away by URL parsing: it would name another route.
    if (id === '.' || id === '..') throw notFound('endpoint');
    return `/${encodeURIComponent(id)}`;
  };

  app.get(
    base,
    { schema: { tags, summary: 'List operational webhook endpoints', description, querystring: ListQueryOf('ep'), response: { 200: ListOf(OperationalWebhookEndpointOut), ...adminErrorResponses } } },
    (request, reply) => onOperatorApp(request, reply, ''),
  );
  app.post(
    base,
    { schema: { tags, summary: 'Create an operational webhook endpoint', description, body: EndpointIn, response: { 201: OperationalWebhookEndpointOut, ...adminErrorResponses } } },
    (request, reply) => onOperatorApp(request, reply, ''),
  );
  app.get(
    one,
    { schema: { tags, summary: 'Get an operational webhook endpoint', description, params: Params, response: { 200: OperationalWebhookEndpointOut, ...adminErrorResponses } } },
    (request, reply) => onOperatorApp(request, reply, endpointPath(request)),
  );
  app.put(
    one,
    {
      schema: {
        tags,
        summary: 'Create or update an operational webhook endpoint',
        description,
        params: Params,
        body: EndpointUpdate,
        response: { 200: OperationalWebhookEndpointOut, 201: OperationalWebhookEndpointOut, ...adminErrorResponses },
      },
    },
    (request, reply) => onOperatorApp(request, reply, endpointPath(request)),
  );
  app.delete(
    one,
    { schema: { tags, summary: 'Delete an operational webhook endpoint', description, params: Params, response: { 204: Type.Null(), ...adminErrorResponses } } },
    (request, reply) => onOperatorApp(request, reply, endpointPath(request)),
  );
  app.get(
    `${one}/secret`,
    { schema: { tags, summary: "Get an operational webhook endpoint's signing secret", description, params: Params, response: { 200: EndpointSecretOut, ...adminErrorResponses } } },
    (request, reply) => onOperatorApp(request, reply, `${endpointPath(request)}/secret`),
  );
  app.post(
    `${one}/secret/rotate`,
    {
      schema: {
        tags,
        summary: "Rotate an operational webhook endpoint's signing secret",
        description,
        params: Params,
        body: Type.Optional(EndpointSecretRotateIn),
        response: { 200: EndpointSecretOut, ...adminErrorResponses },
      },
    },
    (request, reply) => onOperatorApp(request, reply, `${endpointPath(request)}/secret/rotate`),
  );
  app.get(
    `${one}/headers`,
    { schema: { tags, summary: "Get an operational webhook endpoint's custom headers", description, params: Params, response: { 200: EndpointHeadersOut, ...adminErrorResponses } } },
    (request, reply) => onOperatorApp(request, reply, `${endpointPath(request)}/headers`),
  );
  app.put(
    `${one}/headers`,
    {
      schema: {
        tags,
        summary: "Replace an operational webhook endpoint's custom headers",
        description,
        params: Params,
        body: EndpointHeadersIn,
        response: { 204: Type.Null(), ...adminErrorResponses },
      },
    },
    (request, reply) => onOperatorApp(request, reply, `${endpointPath(request)}/headers`),
  );
}
