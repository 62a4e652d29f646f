import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HookdError, conflict, notFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { endpointMatches } from '../domain/matching.js';
import type { App, Message } from '../domain/types.js';
import { commaList, pageRequestOf, principalOf, resolveApp, resolveMessage, timeRangeOf } from './context.js';
import { newApp } from './apps.js';
import { AppParams, type ApplicationIn, BulkExpungeIn, BulkExpungeOut, ErrorOut, ExpungeAllContentsOut, ListOf, MessageIn, MessageListQuery, MessageOut, MessageParams, MessagePrecheckIn, MessagePrecheckOut, errorResponses } from './schemas.js';
import { memberText } from './json-body.js';
import { messageJson, messagePageJson, sendJsonText } from './wire.js';
import { recordFinishedTask, taskOut } from './background-tasks.js';
import { isPortalToken } from '../auth/api-keys.js';
import { enforceIngestRate } from '../inbound/index.js';
import { idLowerBound } from '../store/retention.js';

const tags = ['Message'];
const WithContent = Type.Object({ with_content: Type.Optional(Type.Boolean({ default: true })) });

export async function messageRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock, ingest } = fastify.hookd;

  app.post(
    '/api/v1/app/:app_id/msg',
    {
      schema: {
        tags,
        summary: 'Create a message',
        description:
          'Stores the message and one delivery per matching endpoint in one transaction, then answers 202: a 202 means the message is durably committed. ' +
          'A second message with the same eventId in the application answers 409.',
        params: AppParams,
        querystring: WithContent,
        body: MessageIn,
        response: { 202: MessageOut, ...errorResponses, 429: ErrorOut },
      },
    },
    async (request, reply) => {
      const body = request.body;
      // The payload exactly as the sender wrote it (validated above as an object): stored, signed and delivered
      // as these bytes.
      const payload = memberText(request.bodyText ?? '', 'payload');
      if (payload === null) throw new HookdError('HOOKD_ERR_INTERNAL', 'a validated payload was not found in the request text');
      const owner = await appForMessage(request, request.params.app_id, body.application ?? null);
      // Per-application ingest rate limit: over it, 429 + Retry-After and nothing is stored.
      await enforceIngestRate(request, reply, owner);
      const now = clock();
      const message: Message = {
        id: newId('msg', now),
        appId: owner.id,
        eventId: body.eventId ?? null,
        eventType: body.eventType,
        payload,
        channels: body.channels ?? null,
        tags: body.tags ?? null,
        createdAt: now,
        // Named by uid: stored only if the application still has it (the lookup may be up to a second old).
        ...(owner.id === request.params.app_id ? {} : { addressedUid: request.params.app_id }),
      };
      const result = await ingest.submit(message);
      if (result.kind === 'no-app') throw notFound('application');
      if (result.kind === 'duplicate') throw conflict(`a message with eventId "${message.eventId}" already exists (${result.existing.id})`);
      return sendJsonText(reply.code(202), messageJson(message, request.query.with_content ?? true));
    },
  );

  app.post(
    '/api/v1/app/:app_id/msg/precheck/active',
    {
      schema: {
        tags,
        summary: 'Whether a message would go anywhere',
        description:
          "Answers whether any enabled endpoint of the application subscribes to this event type and these channels (svix message.precheck): a sender can skip building a message nobody receives. Nothing is stored; it is answered from the endpoints as they are now, as a message's fan-out would be.",
        params: AppParams,
        body: MessagePrecheckIn,
        response: { 200: MessagePrecheckOut, ...errorResponses },
      },
    },
    async (request) => {
      const owner = await resolveApp(request, request.params.app_id);
      const { eventType, channels } = request.body;
      let iterator: string | undefined;
      for (;;) {
        const page = await store.listEndpoints(owner.id, { limit: 250, ...(iterator ? { iterator } : {}) });
        if (page.data.some((endpoint) => endpointMatches(endpoint, eventType, channels ?? null))) return { active: true };
        if (page.done || !page.iterator) return { active: false };
        iterator = page.iterator;
      }
    },
  );

  app.get(
    '/api/v1/app/:app_id/msg',
    {
      schema: {
        tags,
        summary: 'List messages (newest first)',
        description:
          'With `after` and neither `before` nor an iterator, the page is the `limit` oldest messages after that time (newest first), as in Svix: its prevIterator pages on forward in time.',
        params: AppParams,
        querystring: MessageListQuery,
        response: { 200: ListOf(MessageOut), ...errorResponses },
      },
    },
    async (request, reply) => {
      const owner = await resolveApp(request, request.params.app_id);
      const q = request.query;
      const range = timeRangeOf(q);
      // A message's id is made at its creation time: no message created after `after` sorts below this id.
      const page = await store.listMessages(
        owner.id,
        { channel: q.channel, tag: q.tag, eventTypes: commaList(q.event_types), ...range },
        { ...pageRequestOf(q, range.afterMs, (afterMs) => idLowerBound('msg', afterMs)), order: q.order },
      );
      return sendJsonText(reply, messagePageJson(page, q.with_content ?? true));
    },
  );

  app.get(
    '/api/v1/app/:app_id/msg/:msg_id',
    { schema: { tags, summary: 'Get a message by id or eventId', params: MessageParams, querystring: WithContent, response: { 200: MessageOut, ...errorResponses } } },
    async (request, reply) => {
      const { message } = await resolveMessage(request, request.params.app_id, request.params.msg_id);
      return sendJsonText(reply, messageJson(message, request.query.with_content ?? true));
    },
  );

  app.delete(
    '/api/v1/app/:app_id/msg/:msg_id/content',
    {
      schema: {
        tags,
        summary: "Expunge a message's payload",
        description:
          'For a message sent with sensitive content, as in Svix: the payload is replaced by {"expired": true} and the message is never sent again. ' +
          'Its pending deliveries fail ("message content expunged"); a request already on the wire completes and is recorded. Resend answers 400 missing_payload and recover passes it over.',
        params: MessageParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { app: owner, message } = await resolveMessage(request, request.params.app_id, request.params.msg_id);
      if ((await store.expungeMessageContent(owner.id, [message.id], clock())).length === 0) throw notFound('message');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/app/:app_id/msg/bulk-expunge',
    {
      schema: {
        tags,
        summary: 'Expunge the payloads of the messages named',
        description:
          'As DELETE .../msg/{msg_id}/content does for each message named (by id or eventId), all in one transaction, so all or none (svix message.bulkExpungeContent). `results` maps each name given to `expunged` or `not-found`.',
        params: AppParams,
        body: BulkExpungeIn,
        response: { 200: BulkExpungeOut, ...errorResponses },
      },
    },
    async (request) => {
      const owner = await resolveApp(request, request.params.app_id);
      // Each name read as GET .../msg/{msg_id} reads it, then every message found expunged in one transaction.
      const names = new Set(request.body.ids ?? []);
      const named = new Map<string, string>();
      for (const name of names) {
        const message = await store.getMessage(owner.id, name);
        if (message) named.set(name, message.id);
      }
      const expunged = new Set(await store.expungeMessageContent(owner.id, [...new Set(named.values())], clock()));
      const results: Record<string, 'expunged' | 'not-found'> = {};
      for (const name of names) {
        const id = named.get(name);
        results[name] = id !== undefined && expunged.has(id) ? 'expunged' : 'not-found';
      }
      return { results };
    },
  );

  app.post(
    '/api/v1/app/:app_id/msg/expunge-all-contents',
    {
      schema: {
        tags,
        summary: "Expunge the payload of every message of the application",
        description:
          'As DELETE .../msg/{msg_id}/content does for one message, for every message the application has when asked (svix message.expungeAllContents), 2,000 a transaction: payloads become {"expired": true} and their pending deliveries fail. ' +
          "hookd does the work before it answers, so the task (application.purge_content) is 'finished'; `expunged` counts the messages whose payload it expunged.",
        params: AppParams,
        response: { 202: ExpungeAllContentsOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      // The application's own keys, not its customers: an app-portal token, whatever its capabilities, may not.
      if (isPortalToken(principalOf(request))) throw new HookdError('HOOKD_ERR_FORBIDDEN', 'an app-portal token may not expunge every message: use an API key');
      const owner = await resolveApp(request, request.params.app_id);
      const now = clock();
      const expunged = await store.expungeAllContents(owner.id, now);
      const task = await recordFinishedTask(store, owner.id, 'application.purge_content', { messagesPurged: expunged }, now);
      return reply.code(202).send({ ...taskOut(task), expunged });
    },
  );
}

/**
 * The message's application. As in Svix, an admin may pass `application` to create it on the fly when the
 * path's id/uid does not exist yet (the path value becomes the uid).
 */
async function appForMessage(request: FastifyRequest, appIdOrUid: string, inline: ApplicationIn | null): Promise<App> {
  try {
    return await resolveApp(request, appIdOrUid, { recent: true });
  } catch (error) {
    if (!inline || principalOf(request).appId !== null) throw error;
  }
  const { store, clock } = request.server.hookd;
  const created = newApp(inline, clock(), appIdOrUid);
  try {
    await store.createApp(created);
    return created;
  } catch {
    // Created concurrently by another request: use that one.
    const existing = await store.getApp(appIdOrUid);
    if (!existing) throw notFound('application');
    return existing;
  }
}
