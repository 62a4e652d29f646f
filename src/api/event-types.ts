import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../domain/errors.js';
import type { EventType } from '../domain/types.js';
import { requireAdmin } from './context.js';
import { EventTypeIn, EventTypeIterator, EventTypeOut, EventTypePatch, EventTypeUpdate, ListOf, ListQuery, adminErrorResponses, errorResponses } from './schemas.js';
import { featureFlagOf } from './renamed-fields.js';
import { eventTypeOut, pageOut } from './wire.js';

const tags = ['Event Type'];
const EVENT_TYPE_NAME = /^[a-zA-Z0-9\-_.]+$/;
const NameParams = Type.Object({ event_type_name: Type.String({ minLength: 1, maxLength: 256 }) });

export async function eventTypeRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock } = fastify.hookd;

  const load = async (name: string): Promise<EventType> => {
    const found = await store.getEventType(name);
    if (!found) throw notFound('event type');
    return found;
  };

  app.get(
    '/api/v1/event-type',
    {
      schema: {
        tags,
        summary: 'List event types',
        querystring: Type.Object({
          ...ListQuery.properties,
          iterator: EventTypeIterator,
          include_archived: Type.Optional(Type.Boolean({ default: false })),
          with_content: Type.Optional(
            Type.Boolean({
              description: "false leaves out each event type's schemas; absent, they are included (hookd's default; Svix's is false)",
            }),
          ),
        }),
        response: { 200: ListOf(EventTypeOut), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await store.listEventTypes({ limit: q.limit ?? 50, iterator: q.iterator, order: q.order, includeArchived: q.include_archived ?? false });
      // Only an explicit false leaves the schemas out: the dashboard lists them without asking.
      return pageOut(page, (e) => (q.with_content === false ? { ...eventTypeOut(e), schemas: undefined } : eventTypeOut(e)));
    },
  );

  /** The event type named `name`, created at `createdAt`, with every field a create, PUT or unarchiving POST sets. */
  function fromBody({ name, createdAt }: Pick<EventType, 'name' | 'createdAt'>, body: EventTypeUpdate, updatedAt = clock()): EventType {
    return {
      name,
      description: body.description,
      archived: body.archived ?? false,
      deprecated: body.deprecated ?? false,
      schemas: body.schemas ?? null,
      featureFlag: featureFlagOf(body) ?? null,
      groupName: body.groupName ?? null,
      createdAt,
      updatedAt,
    };
  }

  /** A new event type named `name` from a create (POST) or upsert (PUT) body. */
  async function create(name: string, body: EventTypeUpdate): Promise<EventType> {
    const now = clock();
    const created = fromBody({ name, createdAt: now }, body, now);
    await store.createEventType(created);
    return created;
  }

  app.post(
    '/api/v1/event-type',
    {
      schema: {
        tags,
        summary: 'Create an event type, or unarchive an archived one',
        description: 'As in Svix (and as its SDKs document the call), an archived event type of that name is unarchived and takes the body (201); a live one is a 409.',
        body: EventTypeIn,
        response: { 201: EventTypeOut, ...adminErrorResponses },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const body = request.body;
      const archived = await store.getEventType(body.name);
      if (archived?.archived) {
        const unarchived = fromBody(archived, body);
        await store.updateEventType(unarchived);
        return reply.code(201).send(eventTypeOut(unarchived));
      }
      return reply.code(201).send(eventTypeOut(await create(body.name, body)));
    },
  );

  app.get('/api/v1/event-type/:event_type_name', { schema: { tags, summary: 'Get an event type', params: NameParams, response: { 200: EventTypeOut, ...errorResponses } } }, async (request) =>
    eventTypeOut(await load(request.params.event_type_name)),
  );

  app.put(
    '/api/v1/event-type/:event_type_name',
    {
      schema: {
        tags,
        summary: 'Update (or create) an event type',
        description: 'As in Svix, a PUT to an event type that does not exist creates it (201).',
        params: NameParams,
        body: EventTypeUpdate,
        response: { 200: EventTypeOut, 201: EventTypeOut, ...adminErrorResponses },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const body = request.body;
      const existing = await store.getEventType(request.params.event_type_name);
      if (!existing) {
        const name = request.params.event_type_name;
        // A value that cannot be an event type name names nothing: 404, as for an unknown uid elsewhere.
        if (!EVENT_TYPE_NAME.test(name)) throw notFound('event type');
        return reply.code(201).send(eventTypeOut(await create(name, body)));
      }
      const updated = fromBody(existing, body);
      await store.updateEventType(updated);
      return eventTypeOut(updated);
    },
  );

  app.patch(
    '/api/v1/event-type/:event_type_name',
    { schema: { tags, summary: 'Patch an event type', params: NameParams, body: EventTypePatch, response: { 200: EventTypeOut, ...adminErrorResponses } } },
    async (request) => {
      requireAdmin(request);
      const existing = await load(request.params.event_type_name);
      const body = request.body;
      const featureFlag = featureFlagOf(body);
      const updated: EventType = {
        ...existing,
        description: body.description ?? existing.description,
        archived: body.archived ?? existing.archived,
        deprecated: body.deprecated ?? existing.deprecated,
        schemas: body.schemas === undefined ? existing.schemas : body.schemas,
        featureFlag: featureFlag === undefined ? existing.featureFlag : featureFlag,
        groupName: body.groupName === undefined ? existing.groupName : body.groupName,
        updatedAt: clock(),
      };
      await store.updateEventType(updated);
      return eventTypeOut(updated);
    },
  );

  app.delete(
    '/api/v1/event-type/:event_type_name',
    {
      schema: {
        tags,
        summary: 'Archive (or with expunge=true, delete) an event type',
        params: NameParams,
        querystring: Type.Object({ expunge: Type.Optional(Type.Boolean({ default: false })) }),
        response: { 204: Type.Null(), ...adminErrorResponses },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      if (!(await store.deleteEventType(request.params.event_type_name, request.query.expunge ?? false, clock()))) throw notFound('event type');
      return reply.code(204).send(null);
    },
  );
}
