import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { MessageStatus } from '../domain/types.js';
import type { DeliveryCounts, DeliveryListItem, DeliveryStatusText, MessageDeliveryStatus } from '../store/store.js';
import { commaList, resolveApp, timeRangeOf } from './context.js';
import { AppParams, IdIterator, ListOf, ListQuery, MessageOut, errorResponses } from './schemas.js';
import { messageOut, pageOut } from './wire.js';

/**
 * hookd extensions for operators (the dashboard uses them): an application's deliveries by status (failed ones
 * are the dead letters, brought back with resend or recover), and its messages with their delivery status.
 */

const tags = ['Delivery'];
const iso = (ms: number): string => new Date(ms).toISOString();
const DateTime = Type.String({ format: 'date-time' });
const Counts = Type.Object(
  { success: Type.Integer(), pending: Type.Integer(), sending: Type.Integer(), fail: Type.Integer() },
  { description: 'Deliveries by status' },
);

const DeliveryOut = Type.Object(
  {
    id: Type.String({ description: 'The delivery (one message to one endpoint)' }),
    msgId: Type.String(),
    endpointId: Type.String(),
    eventType: Type.String(),
    msgTimestamp: DateTime,
    status: Type.Integer({ description: '0 success, 1 pending, 2 fail (dead letter), 3 sending' }),
    statusText: Type.String(),
    attempts: Type.Integer({ description: 'Attempts since the last (re)schedule' }),
    nextAttempt: Type.Optional(DateTime),
    lastError: Type.Optional(Type.String()),
    lastStatusCode: Type.Optional(Type.Integer({ description: 'Status code of the latest attempt; 0 when no response arrived' })),
    updatedAt: DateTime,
  },
  { $id: 'DeliveryOut' },
);

const DeliveryListQuery = Type.Object({
  limit: ListQuery.properties.limit,
  iterator: IdIterator('dlv'),
  status: Type.Optional(Type.Integer({ minimum: 0, maximum: 3, description: '0 success, 1 pending, 2 fail (dead letters), 3 sending' })),
  endpoint_id: Type.Optional(Type.String({ maxLength: 256, description: 'Endpoint id or uid' })),
  event_types: Type.Optional(Type.String({ maxLength: 4096, description: 'Comma-separated event type names' })),
  before: Type.Optional(Type.String({ format: 'date-time', description: 'Messages created before' })),
  after: Type.Optional(Type.String({ format: 'date-time', description: 'Messages created after' })),
});

const MessageStatusOut = Type.Object(
  {
    ...MessageOut.properties,
    status: Type.Optional(Type.Integer({ description: '0 success, 1 pending, 2 fail, 3 sending; absent when the message went to no endpoint' })),
    statusText: Type.String({ description: 'success | pending | sending | fail | none' }),
    deliveries: Counts,
  },
  { $id: 'MessageStatusOut' },
);

const MessageStatusQuery = Type.Object({
  limit: ListQuery.properties.limit,
  iterator: IdIterator('msg'),
  status: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 2, description: '0: every delivery succeeded; 1: one is still pending or sending (none failed); 2: one failed (dead letter)' }),
  ),
  event_types: Type.Optional(Type.String({ maxLength: 4096, description: 'Comma-separated event type names' })),
  channel: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[a-zA-Z0-9\\-_.:]+$' })),
  before: Type.Optional(DateTime),
  after: Type.Optional(DateTime),
  with_content: Type.Optional(Type.Boolean({ default: false })),
});

const STATUS_TEXT = ['success', 'pending', 'fail', 'sending'] as const satisfies readonly DeliveryStatusText[];
const MESSAGE_STATUS: readonly MessageDeliveryStatus[] = ['success', 'pending', 'fail'];

/** A message's status from its delivery counts: failed if one failed, else in progress if one is, else success. */
export function messageStatusText(counts: DeliveryCounts | undefined): DeliveryStatusText | 'none' {
  if (!counts) return 'none';
  if (counts.fail > 0) return 'fail';
  if (counts.sending > 0) return 'sending';
  if (counts.pending > 0) return 'pending';
  return counts.success > 0 ? 'success' : 'none';
}

const deliveryOut = (item: DeliveryListItem) => ({
  id: item.delivery.id,
  msgId: item.delivery.messageId,
  endpointId: item.delivery.endpointId,
  eventType: item.eventType,
  msgTimestamp: iso(item.messageCreatedAt),
  status: MessageStatus[item.statusText],
  statusText: item.statusText,
  attempts: item.delivery.attempts,
  nextAttempt: item.delivery.shownNextAttemptAt === null ? undefined : iso(item.delivery.shownNextAttemptAt),
  lastError: item.delivery.lastError ?? undefined,
  lastStatusCode: item.lastStatusCode ?? undefined,
  updatedAt: iso(item.delivery.updatedAt),
});

export async function deliveryRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock } = fastify.hookd;

  app.get(
    '/api/v1/app/:app_id/delivery',
    {
      schema: {
        tags,
        summary: "List an application's deliveries (newest first)",
        description:
          'hookd extension. One delivery per message and endpoint, with its status, attempt count, next attempt, last error and last status code. ' +
          'status=2 lists the dead letters (retries exhausted): bring one back with POST .../msg/{msg_id}/endpoint/{endpoint_id}/resend, ' +
          'or all of an endpoint with POST .../endpoint/{endpoint_id}/recover. before/after bound the message creation time.',
        params: AppParams,
        querystring: DeliveryListQuery,
        response: { 200: ListOf(DeliveryOut), ...errorResponses },
      },
    },
    async (request) => {
      const owner = await resolveApp(request, request.params.app_id);
      const q = request.query;
      let endpointId: string | undefined;
      if (q.endpoint_id) endpointId = (await store.getEndpoint(owner.id, q.endpoint_id))?.id ?? q.endpoint_id;
      const page = await store.listDeliveries(
        owner.id,
        {
          status: q.status === undefined ? undefined : STATUS_TEXT[q.status],
          endpointId,
          eventTypes: commaList(q.event_types),
          ...timeRangeOf(q),
        },
        { limit: q.limit ?? 50, iterator: q.iterator },
        clock(),
      );
      return pageOut(page, deliveryOut);
    },
  );

  app.get(
    '/api/v1/app/:app_id/msg-status',
    {
      schema: {
        tags,
        summary: 'List messages with their delivery status (newest first)',
        description:
          "hookd extension. A message's status sums up its deliveries: fail when one failed, else sending/pending while one is in progress, " +
          'else success; none when it matched no endpoint. Filters as in the message list, plus status. Payloads only with with_content=true.',
        params: AppParams,
        querystring: MessageStatusQuery,
        response: { 200: ListOf(MessageStatusOut), ...errorResponses },
      },
    },
    async (request) => {
      const owner = await resolveApp(request, request.params.app_id);
      const q = request.query;
      const page = await store.listMessages(
        owner.id,
        {
          channel: q.channel,
          eventTypes: commaList(q.event_types),
          ...timeRangeOf(q),
          deliveryStatus: q.status === undefined ? undefined : MESSAGE_STATUS[q.status],
        },
        { limit: q.limit ?? 50, iterator: q.iterator },
      );
      const counts = await store.countMessageDeliveries(
        page.data.map((m) => m.id),
        clock(),
      );
      return pageOut(page, (m) => {
        const statusText = messageStatusText(counts.get(m.id));
        return {
          ...messageOut(m, q.with_content ?? false),
          status: statusText === 'none' ? undefined : MessageStatus[statusText],
          statusText,
          deliveries: counts.get(m.id) ?? { success: 0, pending: 0, sending: 0, fail: 0 },
        };
      });
    },
  );
}
