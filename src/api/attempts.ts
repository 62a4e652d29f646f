import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../domain/errors.js';
import { MessageStatus, type Attempt, type Message } from '../domain/types.js';
import type { AttemptFilter, DeliveryStatusText } from '../store/store.js';
import { commaList, pageRequestOf, resolveApp, resolveEndpoint, resolveMessage, timeRangeOf } from './context.js';
import {
  AttemptListQuery,
  EndpointMessageListQuery,
  EndpointMessageOut,
  EndpointParams,
  ErrorOut,
  IdIterator,
  ListOf,
  ListQuery,
  MessageAttemptListQuery,
  MessageAttemptOut,
  MessageEndpointOut,
  MessageParams,
  errorResponses,
} from './schemas.js';
import { attemptOut, deliveryStatusText, endpointMessageJson, endpointOut, pageJson, pageOut, sendJsonText } from './wire.js';
import { expungedResend } from '../store/expunged.js';
import { idLowerBound } from '../store/retention.js';

const tags = ['Message Attempt'];
const AFTER_ONLY =
  'With `after` and neither `before` nor an iterator, the page is the `limit` oldest attempts after that time (newest first), as in Svix: its prevIterator pages on forward in time.';
/** How much earlier than its recorded start an attempt's id may say it started (attemptKeyAt). */
const ATTEMPT_KEY_SLACK_MS = 60_000;
const AttemptParams = Type.Object({ ...MessageParams.properties, attempt_id: Type.String({ minLength: 1, maxLength: 256 }) });
/** Svix's MessageStatus numbers as status texts. */
const STATUS_TEXT = ['success', 'pending', 'fail', 'sending'] as const satisfies readonly DeliveryStatusText[];

export async function attemptRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock, wakeWorker } = fastify.hookd;

  /** Attempt rows are finished attempts: filtering for pending (1) or sending (3) matches none. */
  const statusFilter = (status: number | undefined): Attempt['status'] | 'none' | undefined =>
    status === undefined ? undefined : status === MessageStatus.success ? 'success' : status === MessageStatus.fail ? 'fail' : 'none';

  /**
   * No attempt listed for being after `after` sorts below this id: an attempt's id is made when its request starts,
   * and the lists filter on that start (attemptStartedAt); the slack covers a clock that moved meanwhile.
   */
  const attemptKeyAt = (afterMs: number): string => idLowerBound('atmpt', afterMs - ATTEMPT_KEY_SLACK_MS);

  async function listAttempts(filter: AttemptFilter, q: AttemptListQuery, messages?: Map<string, Message>) {
    const status = statusFilter(q.status);
    const range = timeRangeOf(q);
    // Svix's status_code_class is 0 or a hundred (100 = 1xx); the store counts classes 0..5.
    const statusCodeClass = q.status_code_class === undefined ? undefined : q.status_code_class / 100;
    const page =
      status === 'none'
        ? { data: [], iterator: null, prevIterator: null, done: true }
        : await store.listAttempts(
            { ...filter, ...range, status, statusCodeClass, channel: q.channel, tag: q.tag, eventTypes: commaList(q.event_types) },
            pageRequestOf(q, range.afterMs, attemptKeyAt),
          );
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
    {
      schema: {
        tags,
        summary: "List a message's attempts (newest first)",
        description: AFTER_ONLY,
        params: MessageParams,
        querystring: MessageAttemptListQuery,
        response: { 200: ListOf(MessageAttemptOut), ...errorResponses },
      },
    },
    async (request) => {
      const { app: owner, message } = await resolveMessage(request, request.params.app_id, request.params.msg_id);
      let endpointId: string | undefined;
      if (request.query.endpoint_id !== undefined) {
        // As in Svix, an endpoint the application does not have is a 404, not an empty list.
        const endpoint = await store.getEndpoint(owner.id, request.query.endpoint_id);
        if (!endpoint) throw notFound('endpoint');
        endpointId = endpoint.id;
      }
      return listAttempts({ appId: owner.id, messageId: message.id, endpointId }, request.query);
    },
  );

  app.get(
    '/api/v1/app/:app_id/attempt/endpoint/:endpoint_id',
    {
      schema: {
        tags,
        summary: "List an endpoint's attempts (newest first)",
        description: AFTER_ONLY,
        params: EndpointParams,
        querystring: AttemptListQuery,
        response: { 200: ListOf(MessageAttemptOut), ...errorResponses },
      },
    },
    async (request) => {
      const { app: owner, endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
      return listAttempts({ appId: owner.id, endpointId: endpoint.id }, request.query, new Map());
    },
  );

  app.get(
    '/api/v1/app/:app_id/endpoint/:endpoint_id/msg',
    {
      schema: {
        tags,
        summary: 'List the messages an endpoint gets, with their delivery status (newest first)',
        description:
          "Svix's list-attempted-messages. One entry per message routed to the endpoint (its delivery's status and next attempt), including messages not attempted yet; " +
          'paged by message id, as in Svix. With `after` and neither `before` nor an iterator, the page is the `limit` oldest messages after that time (newest first): its prevIterator pages on forward in time.',
        params: EndpointParams,
        querystring: EndpointMessageListQuery,
        response: { 200: ListOf(EndpointMessageOut), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { app: owner, endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
      const q = request.query;
      const range = timeRangeOf(q);
      const filter = { status: q.status === undefined ? undefined : STATUS_TEXT[q.status], channel: q.channel, tag: q.tag, eventTypes: commaList(q.event_types), ...range };
      // Paged by message id; a message's id is made at its creation time, which `after` bounds.
      const page = await store.listEndpointMessages(owner.id, endpoint.id, filter, pageRequestOf(q, range.afterMs, (afterMs) => idLowerBound('msg', afterMs)), clock());
      // Sent as text, payloads byte for byte as they are delivered (as the message routes do); the schema documents it.
      return sendJsonText(reply, pageJson(page, (item) => endpointMessageJson(item, q.with_content ?? true)));
    },
  );

  app.get(
    '/api/v1/app/:app_id/msg/:msg_id/attempt/:attempt_id',
    {
      schema: {
        tags,
        summary: 'Get one attempt',
        params: AttemptParams,
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

  app.delete(
    '/api/v1/app/:app_id/msg/:msg_id/attempt/:attempt_id/content',
    {
      schema: {
        tags,
        summary: "Expunge an attempt's response body",
        description: 'The response body becomes "EXPUNGED", as in Svix (for an endpoint that answered with sensitive content).',
        params: AttemptParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { message } = await resolveMessage(request, request.params.app_id, request.params.msg_id);
      if (!(await store.expungeAttemptContent(message.id, request.params.attempt_id))) throw notFound('attempt');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/app/:app_id/msg/:msg_id/endpoint',
    {
      schema: {
        tags,
        summary: 'List the endpoints a message goes to, with delivery status',
        description: 'By endpoint id; `iterator` is the last endpoint id of the page before.',
        params: MessageParams,
        querystring: Type.Object({ limit: ListQuery.properties.limit, iterator: IdIterator('ep') }),
        response: { 200: ListOf(MessageEndpointOut), ...errorResponses },
      },
    },
    async (request) => {
      const { app: owner, message } = await resolveMessage(request, request.params.app_id, request.params.msg_id);
      const now = clock();
      const limit = request.query.limit ?? 50;
      const after = request.query.iterator;
      // At most HOOKD_MAX_ENDPOINTS_PER_APP deliveries per message: paged here, by endpoint id.
      const deliveries = (await store.listMessageDeliveries(message.id))
        .filter((delivery) => after === undefined || delivery.endpointId > after)
        .sort((a, b) => (a.endpointId < b.endpointId ? -1 : a.endpointId > b.endpointId ? 1 : 0));
      const page = deliveries.slice(0, limit);
      const data = [];
      for (const delivery of page) {
        const endpoint = await store.getEndpoint(owner.id, delivery.endpointId);
        if (!endpoint) continue;
        const statusText = deliveryStatusText(delivery, now);
        data.push({
          ...endpointOut(endpoint),
          status: MessageStatus[statusText],
          statusText,
          nextAttempt: delivery.shownNextAttemptAt === null ? undefined : new Date(delivery.shownNextAttemptAt).toISOString(),
          attempts: delivery.attempts,
        });
      }
      const done = deliveries.length <= limit;
      return { data, iterator: page.at(-1)?.endpointId ?? after ?? null, prevIterator: null, done };
    },
  );

  app.post(
    '/api/v1/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/resend',
    {
      config: { capability: 'CreateAttempts' },
      schema: {
        tags,
        summary: 'Resend a message to an endpoint',
        description:
          'Schedules the delivery now as a manual attempt; it follows the retry schedule again if it fails. Works on failed (dead-lettered) deliveries. ' +
          'A message whose content was expunged is not resent (400 missing_payload).',
        params: Type.Object({ ...MessageParams.properties, endpoint_id: Type.String({ minLength: 1, maxLength: 256 }) }),
        response: { 202: Type.Object({}, { description: 'Scheduled (an empty object, as Svix answers: the SDKs parse the body as JSON)' }), 400: ErrorOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const owner = await resolveApp(request, request.params.app_id);
      const message = await store.getMessage(owner.id, request.params.msg_id);
      if (!message) throw notFound('message');
      if (message.expungedAt != null) throw expungedResend();
      const endpoint = await store.getEndpoint(owner.id, request.params.endpoint_id);
      if (!endpoint) throw notFound('endpoint');
      await store.resendDelivery(message, endpoint, clock());
      wakeWorker();
      return reply.code(202).send({});
    },
  );
}
