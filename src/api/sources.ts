import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notFound, validationError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { secretKeyBytes } from '../domain/signing.js';
import { DEFAULT_TOLERANCE_SECONDS, SCHEME_DEFAULTS } from '../inbound/index.js';
import type { Source, SourceEventType, SourceScheme, SourceVerification } from '../store/store.js';
import { resolveApp } from './context.js';
import { AppParams, ListOf, ListQueryOf, errorResponses } from './schemas.js';
import { pageOut } from './wire.js';

/**
 * Inbound sources (hookd extension): `/api/v1/app/{app_id}/source[/{source_id}]`. A source names how an external
 * system's webhooks, POSTed to `/ingest/{source_id}`, are verified and turned into messages of the application.
 * Scoped like every app route (a key scoped to the application may manage its sources). The secret is
 * write-only: responses say `secretSet: true`, never the secret.
 */

const tags = ['Inbound source'];
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const headerName = (description = 'An HTTP header name (any case)') => Type.String({ minLength: 1, maxLength: 256, pattern: "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$", description });
const HeaderName = headerName();
const EventTypeName = Type.String({ minLength: 1, maxLength: 256, pattern: '^[a-zA-Z0-9\\-_.]+$', examples: ['invoice.paid'] });
const Channel = Type.String({ minLength: 1, maxLength: 128, pattern: '^[a-zA-Z0-9\\-_.:]+$' });
const Scheme = Type.Union([Type.Literal('hmac-sha256'), Type.Literal('slack'), Type.Literal('standard-webhooks'), Type.Literal('api-key')], {
  description:
    'hmac-sha256: `<header>: <prefix><HMAC-SHA256(secret, body)>` (hex or base64; with timestampHeader the signed text is `<timestamp>.<body>`). ' +
    "slack: Slack's signing secret; `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, v0:<X-Slack-Request-Timestamp>:<body>)>`. " +
    'standard-webhooks: webhook-id / webhook-timestamp / webhook-signature (or svix-*), secret `whsec_...`. ' +
    'api-key: `<header>: <prefix><secret>`. There is no unverified scheme.',
});
const secretSchema = (description: string) => Type.String({ minLength: 1, maxLength: 1024, description: `Write-only: never returned. ${description}` });
const Secret = secretSchema('hmac-sha256, slack and api-key: at least 16 characters; standard-webhooks: whsec_ + base64.');

const verificationOptions = {
  header: Type.Optional(Nullable(HeaderName)),
  prefix: Type.Optional(Nullable(Type.String({ maxLength: 256, pattern: '^[\\x20-\\x7e]*$', description: 'Text before the signature or key, e.g. `sha256=` or `Bearer ` (printable ASCII: it is part of a header value)' }))),
  encoding: Type.Optional(Nullable(Type.Union([Type.Literal('hex'), Type.Literal('base64')], { description: 'hmac-sha256 only; default hex' }))),
  timestampHeader: Type.Optional(Nullable(HeaderName)),
  toleranceSeconds: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 7 * 86400, description: `Largest accepted clock difference of the timestamp; default ${DEFAULT_TOLERANCE_SECONDS}` }))),
};
const VerificationIn = Type.Object({ scheme: Scheme, secret: Secret, ...verificationOptions });
const VerificationUpdate = Type.Object({
  scheme: Scheme,
  secret: Type.Optional(Nullable(secretSchema('Absent: the current secret stays (required when the scheme changes).'))),
  ...verificationOptions,
});
const VerificationPatch = Type.Partial(VerificationUpdate);

const EventTypeIn = Type.Object(
  {
    header: Type.Optional(Nullable(HeaderName)),
    field: Type.Optional(
      Nullable(
        Type.String({
          minLength: 1,
          maxLength: 256,
          pattern: '^[A-Za-z0-9_$@:-]+(\\.[A-Za-z0-9_$@:-]+)*$',
          description: 'A dotted path of keys (ASCII letters, digits, _ - $ @ :) into the JSON body, e.g. `data.type`; a numeric key also indexes an array',
        }),
      ),
    ),
    default: Type.Optional(Nullable(EventTypeName)),
  },
  { description: 'Where the event type comes from: the header if present, else the field if present, else the default. At least one is required.' },
);

const sourceFields = {
  name: Type.String({ minLength: 1, maxLength: 256 }),
  idempotencyHeader: Type.Optional(
    Nullable(headerName("Its value becomes the message's eventId: a repeat is answered with the first message, not stored twice. Absent (or null: on POST and PUT null is absent): webhook-id for a standard-webhooks source, else none. A PATCH with null removes it")),
  ),
  eventType: EventTypeIn,
  channels: Type.Optional(Nullable(Type.Array(Channel, { minItems: 1, maxItems: 10, uniqueItems: true }))),
};
export const SourceIn = Type.Object({ ...sourceFields, verification: VerificationIn });
export const SourceUpdate = Type.Object({ ...sourceFields, verification: VerificationUpdate });
export const SourcePatch = Type.Partial(Type.Object({ ...sourceFields, verification: VerificationPatch }));
type VerificationInput = Static<typeof VerificationPatch>;
type EventTypeInput = Static<typeof EventTypeIn>;

export const SourceOut = Type.Object(
  {
    id: Type.String({ examples: ['src_1srOrx2ZWZBpBUvZwXKQmoEYga2'] }),
    name: Type.String(),
    ingestPath: Type.String({ description: 'Where the external system POSTs its webhooks', examples: ['/ingest/src_1srOrx2ZWZBpBUvZwXKQmoEYga2'] }),
    verification: Type.Object({
      scheme: Type.String(),
      header: Type.String(),
      prefix: Type.String(),
      encoding: Type.Optional(Type.String()),
      timestampHeader: Type.Optional(Type.String()),
      toleranceSeconds: Type.Integer(),
      secretSet: Type.Boolean({ description: 'The secret itself is never returned' }),
    }),
    idempotencyHeader: Type.Optional(Type.String()),
    eventType: Type.Object({ header: Type.Optional(Type.String()), field: Type.Optional(Type.String()), default: Type.Optional(Type.String()) }),
    channels: Type.Optional(Type.Array(Type.String())),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'SourceOut' },
);

export const SourceParams = Type.Object({ ...AppParams.properties, source_id: Type.String({ minLength: 1, maxLength: 256 }) });

const opt = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

/** The wire form of a source: everything but the secret. */
export const sourceOut = (s: Source): Static<typeof SourceOut> => ({
  id: s.id,
  name: s.name,
  ingestPath: `/ingest/${s.id}`,
  verification: {
    scheme: s.verification.scheme,
    header: s.verification.header,
    prefix: s.verification.prefix,
    encoding: opt(s.verification.encoding),
    timestampHeader: opt(s.verification.timestampHeader),
    toleranceSeconds: s.verification.toleranceSeconds,
    secretSet: s.verification.secret.length > 0,
  },
  idempotencyHeader: opt(s.idempotencyHeader),
  eventType: { header: opt(s.eventType.header), field: opt(s.eventType.field), default: opt(s.eventType.default) },
  channels: opt(s.channels),
  createdAt: new Date(s.createdAt).toISOString(),
  updatedAt: new Date(s.updatedAt).toISOString(),
});

export async function sourceRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock } = fastify.hookd;
  const base = '/api/v1/app/:app_id/source';
  const one = `${base}/:source_id`;

  const resolveSource = async (request: FastifyRequest, appIdOrUid: string, sourceId: string): Promise<Source> => {
    const owner = await resolveApp(request, appIdOrUid);
    const source = await store.getSource(owner.id, sourceId);
    if (!source) throw notFound('source');
    return source;
  };

  app.get(base, { schema: { tags, summary: 'List inbound sources', params: AppParams, querystring: ListQueryOf('src'), response: { 200: ListOf(SourceOut), ...errorResponses } } }, async (request) => {
    const owner = await resolveApp(request, request.params.app_id);
    return pageOut(await store.listSources(owner.id, { limit: request.query.limit ?? 50, iterator: request.query.iterator, order: request.query.order }), sourceOut);
  });

  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Create an inbound source',
        description: "External systems POST webhooks to the answer's `ingestPath`; each verified request becomes a message of this application.",
        params: AppParams,
        body: SourceIn,
        response: { 201: SourceOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const owner = await resolveApp(request, request.params.app_id);
      const body = request.body;
      const now = clock();
      const verification = verificationOf(body.verification, null, 'replace');
      const source: Source = {
        id: newId('src', now),
        appId: owner.id,
        name: body.name,
        verification,
        idempotencyHeader: idempotencyHeaderOf(body.idempotencyHeader, verification),
        eventType: eventTypeOf(body.eventType),
        channels: body.channels ?? null,
        createdAt: now,
        updatedAt: now,
      };
      await store.createSource(source);
      return reply.code(201).send(sourceOut(source));
    },
  );

  app.get(one, { schema: { tags, summary: 'Get an inbound source', params: SourceParams, response: { 200: SourceOut, ...errorResponses } } }, async (request) =>
    sourceOut(await resolveSource(request, request.params.app_id, request.params.source_id)),
  );

  app.put(
    one,
    {
      schema: {
        tags,
        summary: 'Update an inbound source',
        description: 'Replaces the source. Without `verification.secret` the current secret stays, unless the scheme changes.',
        params: SourceParams,
        body: SourceUpdate,
        response: { 200: SourceOut, ...errorResponses },
      },
    },
    async (request) => {
      const source = await resolveSource(request, request.params.app_id, request.params.source_id);
      const body = request.body;
      const verification = verificationOf(body.verification, source.verification, 'replace');
      const updated: Source = {
        ...source,
        name: body.name,
        verification,
        idempotencyHeader: idempotencyHeaderOf(body.idempotencyHeader, verification),
        eventType: eventTypeOf(body.eventType),
        channels: body.channels ?? null,
        updatedAt: clock(),
      };
      await store.updateSource(updated);
      return sourceOut(updated);
    },
  );

  app.patch(
    one,
    {
      schema: {
        tags,
        summary: 'Patch an inbound source',
        description: 'Changes the fields given; `verification` fields merge into the current ones (a new scheme needs a new secret). null clears idempotencyHeader and channels.',
        params: SourceParams,
        body: SourcePatch,
        response: { 200: SourceOut, ...errorResponses },
      },
    },
    async (request) => {
      const source = await resolveSource(request, request.params.app_id, request.params.source_id);
      const body = request.body;
      const updated: Source = {
        ...source,
        name: body.name ?? source.name,
        verification: body.verification ? verificationOf(body.verification, source.verification, 'merge') : source.verification,
        idempotencyHeader: body.idempotencyHeader === undefined ? source.idempotencyHeader : (body.idempotencyHeader?.toLowerCase() ?? null),
        eventType: body.eventType ? eventTypeOf(body.eventType) : source.eventType,
        channels: body.channels === undefined ? source.channels : body.channels,
        updatedAt: clock(),
      };
      await store.updateSource(updated);
      return sourceOut(updated);
    },
  );

  app.delete(one, { schema: { tags, summary: 'Delete an inbound source', params: SourceParams, response: { 204: Type.Null(), ...errorResponses } } }, async (request, reply) => {
    const source = await resolveSource(request, request.params.app_id, request.params.source_id);
    await store.deleteSource(source.appId, source.id);
    return reply.code(204).send(null);
  });
}

const MIN_SECRET_CHARS = 16;
/** Fields a scheme fixes (standard-webhooks, slack: the sender names its headers) or does not use (api-key). */
const FIXED_FIELDS: Record<SourceScheme, readonly ('header' | 'prefix' | 'encoding' | 'timestampHeader')[]> = {
  'hmac-sha256': [],
  slack: ['header', 'prefix', 'encoding', 'timestampHeader'],
  'standard-webhooks': ['header', 'prefix', 'encoding', 'timestampHeader'],
  'api-key': ['encoding', 'timestampHeader'],
};

/**
 * The idempotency header a source is created (or replaced) with: the one given, and when none is (a null is none on
 * POST and PUT, app.ts), the sender's own message id for a Standard Webhooks sender (`webhook-id`, which the signature
 * covers and a sender keeps when it retries): a retry, or a replay of a captured request within the tolerance, is
 * answered with the first message, not stored again. A PATCH with null removes it.
 */
function idempotencyHeaderOf(given: string | null | undefined, verification: SourceVerification): string | null {
  if (given === undefined) return verification.scheme === 'standard-webhooks' ? 'webhook-id' : null;
  return given?.toLowerCase() ?? null;
}

/**
 * The verification settings from the input, with the scheme's defaults. `replace` (POST, PUT): absent fields
 * take the defaults; `merge` (PATCH): absent fields keep the current values when the scheme stays, null resets
 * one to its default. The secret stays when the scheme does and no new one is given.
 */
function verificationOf(input: VerificationInput, current: SourceVerification | null, mode: 'replace' | 'merge'): SourceVerification {
  const loc = (field: string) => ['body', 'verification', field];
  const scheme = input.scheme ?? current?.scheme;
  if (!scheme) throw validationError(loc('scheme'), 'field required', 'value_error.missing');
  const same = current !== null && current.scheme === scheme;
  const keep = mode === 'merge' && same ? current : null;
  const defaults = SCHEME_DEFAULTS[scheme];
  const lower = (value: string | null) => (value === null ? null : value.toLowerCase());
  const given = {
    header: input.header === undefined ? undefined : lower(input.header),
    prefix: input.prefix,
    encoding: input.encoding,
    timestampHeader: input.timestampHeader === undefined ? undefined : lower(input.timestampHeader),
  };
  for (const field of FIXED_FIELDS[scheme]) {
    const value = given[field];
    if (value !== undefined && value !== null && value !== defaults[field]) {
      const what = defaults[field] === null || defaults[field] === '' ? 'does not use it' : `always uses ${JSON.stringify(defaults[field])}`;
      throw validationError(loc(field), `the ${scheme} scheme ${what}`, 'value_error.scheme');
    }
  }
  const field = <K extends keyof typeof given>(name: K): SourceVerification[K] => {
    const value = given[name];
    if (value !== undefined) return (value ?? defaults[name]) as SourceVerification[K];
    return (keep ? keep[name] : defaults[name]) as SourceVerification[K];
  };
  const secret = input.secret ?? (same ? current.secret : null);
  if (secret === null) throw validationError(loc('secret'), current ? 'a new secret is required when the scheme changes' : 'field required', 'value_error.missing');
  checkSecret(scheme, secret, loc('secret'));
  const tolerance = input.toleranceSeconds === undefined ? (keep?.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS) : (input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS);
  return {
    scheme,
    secret,
    header: field('header'),
    prefix: field('prefix'),
    encoding: field('encoding'),
    timestampHeader: field('timestampHeader'),
    toleranceSeconds: tolerance,
  };
}

function checkSecret(scheme: SourceScheme, secret: string, loc: (string | number)[]): void {
  switch (scheme) {
    case 'standard-webhooks':
      if (!secretKeyBytes(secret)) throw validationError(loc, 'a standard-webhooks secret is whsec_ + base64 of 24 to 64 bytes', 'value_error.secret');
      return;
    case 'api-key':
      // The key travels in a header: visible ASCII only, or it could never match.
      if (!/^[\x21-\x7e]+$/.test(secret)) throw validationError(loc, 'an api-key secret is visible ASCII characters only', 'value_error.secret');
      if (secret.length < MIN_SECRET_CHARS) throw validationError(loc, `a secret is at least ${MIN_SECRET_CHARS} characters`, 'value_error.secret');
      return;
    case 'hmac-sha256':
    case 'slack':
      if (secret.length < MIN_SECRET_CHARS) throw validationError(loc, `a secret is at least ${MIN_SECRET_CHARS} characters`, 'value_error.secret');
      return;
  }
}

function eventTypeOf(input: EventTypeInput): SourceEventType {
  const eventType: SourceEventType = { header: input.header?.toLowerCase() ?? null, field: input.field ?? null, default: input.default ?? null };
  if (eventType.header === null && eventType.field === null && eventType.default === null) {
    throw validationError(['body', 'eventType'], 'give at least one of header, field or default', 'value_error.missing');
  }
  return eventType;
}
