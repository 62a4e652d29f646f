import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { HookdError, notFound, validationError } from '../domain/errors.js';
import { OpenApiImportError, eventTypesFromOpenApi, type EventTypeFromOpenApi } from '../domain/openapi-webhooks.js';
import type { EventType } from '../domain/types.js';
import type { Store } from '../store/store.js';
import { requireAdmin } from './context.js';
import {
  EventTypeImportOpenApiIn,
  EventTypeImportOpenApiOut,
  EventTypeIn,
  EventTypeIterator,
  EventTypeOut,
  EventTypePatch,
  EventTypeUpdate,
  ListOf,
  ListQuery,
  adminErrorResponses,
  errorResponses,
} from './schemas.js';
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

  const fromBody = (existing: Pick<EventType, 'name' | 'createdAt'>, body: EventTypeUpdate, updatedAt = clock()): EventType => eventTypeFromBody(existing, body, updatedAt);

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

  app.post(
    '/api/v1/event-type/import/openapi',
    {
      schema: {
        tags,
        summary: 'Create or update event types from the webhooks of an OpenAPI document',
        description:
          'As svix eventType.importOpenapi: every entry of `webhooks` (OpenAPI 3.1) or `x-webhooks` (3.0) becomes an event type of that name, with its operation\'s description (or summary), deprecated flag and JSON request body schema (local $refs inlined; the body\'s example as the schema\'s `examples`) as `schemas["1"]`; an archived one is unarchived. ' +
          'The document comes as `spec` (JSON) or `specRaw` (YAML or JSON text), one of them. `replaceAll` archives the live event types the document does not name; `dryRun` writes nothing and answers `to_modify` (so Svix names it). `modified` names what was (or would be) created, changed or archived.',
        body: EventTypeImportOpenApiIn,
        response: { 200: EventTypeImportOpenApiOut, ...adminErrorResponses },
      },
    },
    async (request) => {
      requireAdmin(request);
      const { spec, specRaw, dryRun, replaceAll } = request.body;
      if ((spec == null) === (specRaw == null)) throw new HookdError('HOOKD_ERR_BAD_REQUEST', 'give the OpenAPI document as spec (a JSON object) or as specRaw (YAML or JSON text): one of them');
      const at = specRaw == null ? 'spec' : 'specRaw';
      const document = specRaw == null ? spec : await parseDocument(specRaw);
      let imported: EventTypeFromOpenApi[];
      try {
        imported = eventTypesFromOpenApi(document);
      } catch (error) {
        if (error instanceof OpenApiImportError) throw validationError(['body', at, ...error.loc], error.message);
        throw error;
      }
      const now = clock();
      const changed: { type: EventType; created: boolean; from: EventTypeFromOpenApi | null }[] = [];
      for (const from of imported) {
        const existing = await store.getEventType(from.name);
        const next: EventType = {
          ...(existing ?? { name: from.name, featureFlag: null, groupName: null, createdAt: now }),
          description: from.description,
          schemas: from.schemas,
          deprecated: from.deprecated,
          archived: false,
          updatedAt: now,
        };
        if (!existing || !sameContent(existing, next)) changed.push({ type: next, created: !existing, from });
      }
      if (replaceAll) {
        const named = new Set(imported.map((t) => t.name));
        for (const live of await everyEventType(store, false)) if (!named.has(live.name)) changed.push({ type: { ...live, archived: true, updatedAt: now }, created: false, from: null });
      }
      if (!dryRun) {
        await store.saveEventTypes(changed.map(({ type, created }) => ({ eventType: type, created })));
      }
      const modified = changed.map((c) => c.type.name);
      return { data: dryRun ? { modified, to_modify: changed.flatMap((c) => (c.from ? [c.from] : [])) } : { modified } };
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

/** The whole catalog, 250 a page (archived ones too, if asked): an import's replaceAll, an environment export. */
export async function everyEventType(store: Store, includeArchived: boolean): Promise<EventType[]> {
  const all: EventType[] = [];
  for (let iterator: string | undefined, done = false; !done; ) {
    const page = await store.listEventTypes({ limit: 250, iterator, includeArchived });
    all.push(...page.data);
    done = page.done;
    iterator = page.iterator ?? undefined;
  }
  return all;
}

/**
 * The event type named `name`, created at `createdAt`, with every field a create, PUT, unarchiving POST or environment
 * import sets.
 */
export function eventTypeFromBody({ name, createdAt }: Pick<EventType, 'name' | 'createdAt'>, body: EventTypeUpdate, updatedAt: number): EventType {
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

/** Whether an import changes nothing of the event type (its description, schemas, deprecation, archival). */
function sameContent(a: EventType, b: EventType): boolean {
  return a.description === b.description && a.deprecated === b.deprecated && a.archived === b.archived && JSON.stringify(a.schemas) === JSON.stringify(b.schemas);
}

/** As deep as a JSON request body may nest (api/json-body.ts): the import walks the document recursively. */
const MAX_DOCUMENT_DEPTH = 128;

/** specRaw as YAML (JSON is YAML too); anything it cannot be, or too deep a document, is a 422 at ["body", "specRaw"]. */
async function parseDocument(text: string): Promise<unknown> {
  // Loaded when first needed, as the API docs are: most processes never import a document.
  const yaml = await import('yaml');
  let parsed: unknown;
  try {
    // Errors only: a warning would go to process warnings, not to the caller.
    parsed = yaml.parse(text, { logLevel: 'error' });
  } catch (error) {
    // A syntax error, an alias that names nothing, too many aliases (a "billion laughs"), nesting the parser refuses.
    throw validationError(['body', 'specRaw'], `not YAML or JSON: ${String((error as Error).message ?? error).split('\n')[0]}`);
  }
  if (depthOver(parsed, MAX_DOCUMENT_DEPTH)) throw validationError(['body', 'specRaw'], `the document nests deeper than ${MAX_DOCUMENT_DEPTH} levels`);
  return parsed;
}

/** Whether `value` nests objects or arrays deeper than `limit` (walked without recursion). */
function depthOver(value: unknown, limit: number): boolean {
  const stack: { node: unknown; depth: number }[] = [{ node: value, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(node)) stack.push({ node: child, depth: depth + 1 });
  }
  return false;
}
