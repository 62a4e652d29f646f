import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../domain/errors.js';
import { MessageStatus, type Attempt, type Message } from '../domain/types.js';
import type { AttemptFilter } from '../store/store.js';
import { commaList, resolveApp, resolveEndpoint, resolveMessage, timeRangeOf } from './context.js';
import { AttemptListQuery, EndpointParams, ListOf, MessageAttemptOut, MessageEndpointOut, MessageParams, errorResponses } from './schemas.js';
import { attemptOut, deliveryStatusText, endpointOut, pageOut } from './wire.js';

const tags = ['Message Attempt'];

export async function attemptRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock, wakeWorker } = fastify.hookd;

  /** Attempt rows are finished attempts: filtering for pending (1) or sending (3) matches none. */
  const statusFilter = (status: number | undefined): Attempt['status'] | 'none' | undefined =>
    status === undefined ? undefined : status === MessageStatus.success ? 'success' : status === MessageStatus.fail ? 'fail' : 'none';

  async function listAttempts(filter: AttemptFilter, q: typeof AttemptListQuery.static, messages?: Map<string, Message>) {
    const status = statusFilter(q.status);
    const range = timeRangeOf(q);
    const page =
      status === 'none'
        ? { data: [], iterator: null, prevIterator: null, done: true }
        : await store.listAttempts({ ...filter, ...range, status, statusCodeClass: q.status_code_class, channel: q.channel, tag: q.tag, eventTypes: commaList(q.event_types) }, { limit: q.limit ?? 50, iterator: q.iterator });
    if (q.with_msg && messages) {
      for (const a of page.data) {
        if (!messages.has(a.messageId)) {
          const m = await store.getMessage(filter.appId, a.messageId);
          if (m) messages.set(m.id, m);
        }
      }
    }
    return pageOut(page, (a) => attemptOut(a, q.with_content ?? true, q.with_msg ? messages?.get(a.messageId) : undefined));
  }

  app.get(
    '/api/v1/app/:app_id/attempt/msg/:msg_id',
    { schema: { tags, summary: "List a message's attempts (newest first)", params: MessageParams, querystring: AttemptListQuery, response: { 200: ListOf(MessageAttemptOut), ...errorResponses } } },
    async (request) => {
      const { app: owner, message } = await resolveMessage(request, request.params.app_id, request.params.msg_id);
      let endpointId: string | undefined;
      if (request.query.endpoint_id) {
        const endpoint = await store.getEndpoint(owner.id, request.query.endpoint_id);
        endpointId = endpoint?.id ?? request.query.endpoint_id;
      }
      return listAttempts({ appId: owner.id, messageId: message.id, endpointId }, request.query);
    },
  );

  app.get(
    '/api/v1/app/:app_id/attempt/endpoint/:endpoint_id',
    { schema: { tags, summary: "List an endpoint's attempts (newest first)", params: EndpointParams, querystring: AttemptListQuery, response: { 200: ListOf(MessageAttemptOut), ...errorResponses } } },
    async (request) => {
      const { app: owner, endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
      return listAttempts({ appId: owner.id, endpointId: endpoint.id }, request.query, new Map());
    },
  );

  app.get(
    '/api/v1/app/:app_id/msg/:msg_id/attempt/:attempt_id',
    {
      schema: {
        tags,
        summary: 'Get one attempt',
        params: Type.Object({ ...MessageParams.properties, attempt_id: Type.String({ minLength: 1, maxLength: 256 }) }),
        response: { 200: MessageAttemptOut, ...errorResponses },
      },
    },
    async (request) => {
      const { message } = await resolveMessage(request, request.params.app_id, request.params.msg_id);
      const attempt = await store.getAttempt(message.id, request.params.attempt_id);
      if (!attempt) throw notFound('attempt');
      return attemptOut(attempt);
    },
  );

  app.get(
    '/api/v1/app/:app_id/msg/:msg_id/endpoint',
    { schema: { tags, summary: 'List the endpoints a message goes to, with delivery status', params: MessageParams, response: { 200: ListOf(MessageEndpointOut), ...errorResponses } } },
    async (request) => {
      const { app: owner, message } = await resolveMessage(request, request.params.app_id, request.params.msg_id);
      const now = clock();
      const data = [];
      for (const delivery of await store.listMessageDeliveries(message.id)) {
        const endpoint = await store.getEndpoint(owner.id, delivery.endpointId);
        if (!endpoint) continue;
        const statusText = deliveryStatusText(delivery, now);
        data.push({
          ...endpointOut(endpoint),
          status: MessageStatus[statusText],
          statusText,
          nextAttempt: delivery.status === 'pending' ? new Date(delivery.nextAttemptAt).toISOString() : undefined,
          attempts: delivery.attempts,
        });
      }
      return { data, iterator: null, prevIterator: null, done: true };
    },
  );

  app.post(
    '/api/v1/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/resend',
    {
      schema: {
        tags,
        summary: 'Resend a message to an endpoint',
        description: 'Schedules the delivery now as a manual attempt; it follows the retry schedule again if it fails. Works on failed (dead-lettered) deliveries.',
        params: Type.Object({ ...MessageParams.properties, endpoint_id: Type.String({ minLength: 1, maxLength: 256 }) }),
        response: { 202: Type.Null({ description: 'Scheduled' }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const owner = await resolveApp(request, request.params.app_id);
      const message = await store.getMessage(owner.id, request.params.msg_id);
      if (!message) throw notFound('message');
      const endpoint = await store.getEndpoint(owner.id, request.params.endpoint_id);
      if (!endpoint) throw notFound('endpoint');
      await store.resendDelivery(message, endpoint, clock());
      wakeWorker();
      return reply.code(202).send(null);
    },
  );
}
