import { Type, type ObjectOptions, type Static, type TSchema } from '@sinclair/typebox';
import type { IdPrefix } from '../domain/ids.js';
import { PORTAL_CAPABILITIES } from '../domain/types.js';

/**
 * Wire schemas in the Svix format. Route schemas built from these validate input, type the handlers and
 * produce the OpenAPI document. Input is lenient: unknown fields are ignored; nulls count as absent on
 * POST/PUT (see app.ts).
 */

/**
 * A JSON object with any keys and `value` values. Not Type.Record(Type.String(), ...): its key pattern `^(.*)$`
 * does not match keys holding a line break, which would then skip validation and vanish from responses.
 */
const StringMap = <T extends TSchema>(value: T, options: ObjectOptions = {}) =>
  Type.Unsafe<Record<string, Static<T>>>(Type.Object({}, { ...options, additionalProperties: value }));

const NAME_PATTERN = '^[a-zA-Z0-9\\-_.]+$';
const Uid = Type.String({ minLength: 1, maxLength: 256, pattern: NAME_PATTERN, description: 'Optional unique identifier' });
const EventTypeName = Type.String({ minLength: 1, maxLength: 256, pattern: NAME_PATTERN, examples: ['user.signup'] });
const Channel = Type.String({ minLength: 1, maxLength: 128, pattern: '^[a-zA-Z0-9\\-_.:]+$' });
const Tag = Type.String({ minLength: 1, maxLength: 128, pattern: '^[a-zA-Z0-9\\-_./]+$' });
const Metadata = StringMap(Type.String());
const rateLimit = (description: string) => Type.Integer({ minimum: 0, maximum: 65535, description });
const RateLimit = rateLimit('Messages per second');
const DateTime = Type.String({ format: 'date-time' });
const MaxConcurrency = Type.Integer({
  minimum: 1,
  maximum: 10000,
  description: 'hookd extension: most deliveries in flight to this endpoint at once, across all workers (default HOOKD_ENDPOINT_MAX_CONCURRENCY)',
});
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ErrorOut = Type.Object({ code: Type.String(), detail: Type.String() }, { $id: 'HttpError' });
export const ValidationErrorOut = Type.Object(
  {
    code: Type.String(),
    detail: Type.Array(Type.Object({ loc: Type.Array(Type.Union([Type.String(), Type.Number()])), msg: Type.String(), type: Type.String() })),
  },
  { $id: 'HTTPValidationError' },
);

export const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 50 })),
  iterator: Type.Optional(Type.String({ maxLength: 300 })),
  order: Type.Optional(Type.Union([Type.Literal('ascending'), Type.Literal('descending')])),
});
export type ListQuery = Static<typeof ListQuery>;

/**
 * The `iterator` of a list paged by ids with this prefix: an id of the list's kind, "-" before it for a prevIterator.
 * As in Svix, anything else (another kind's id, an empty value) is a 422 at ["query", "iterator"], not a page
 * starting somewhere unrelated.
 */
export const IdIterator = (prefix: IdPrefix) =>
  Type.Optional(
    Type.String({
      maxLength: 300,
      pattern: `^-?${prefix}_`,
      description: `An iterator or prevIterator of a page of this list: a ${prefix}_ id, with "-" before it to page back`,
    }),
  );

/** ListQuery of a list paged by ids with this prefix (IdIterator). */
export const ListQueryOf = (prefix: IdPrefix) => Type.Object({ ...ListQuery.properties, iterator: IdIterator(prefix) });

export const ListOf = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), iterator: Nullable(Type.String()), prevIterator: Nullable(Type.String()), done: Type.Boolean() });

// ---- Applications

/** hookd's own field: how fast an application may ingest. Only an admin key sets it. */
const IngestRateLimit = Type.Integer({
  minimum: 0,
  maximum: 1_000_000,
  description:
    'hookd only: messages per second the application may ingest, beyond which a message answers 429 with Retry-After (null: HOOKD_APP_RATE_LIMIT; 0: not limited). Only an admin API key changes it',
});

/** The v2 SDKs' name for `rateLimit` (svix 1.99.1 knows both): either is accepted, both must agree. */
const ThrottleRate = Type.Optional(Nullable(rateLimit('The same field as rateLimit (the Svix v2 SDKs send this name)')));

const APP_RATE = "Messages per second sent to each of the application's endpoints, unless an endpoint has a rate limit of its own (Svix's throttling)";

export const ApplicationIn = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256 }),
  uid: Type.Optional(Nullable(Uid)),
  rateLimit: Type.Optional(Nullable(rateLimit(APP_RATE))),
  throttleRate: ThrottleRate,
  ingestRateLimit: Type.Optional(Nullable(IngestRateLimit)),
  metadata: Type.Optional(Nullable(Metadata)),
});
export type ApplicationIn = Static<typeof ApplicationIn>;
export const ApplicationPatch = Type.Partial(ApplicationIn);
export type ApplicationPatch = Static<typeof ApplicationPatch>;

export const ApplicationOut = Type.Object(
  {
    id: Type.String({ examples: ['app_1srOrx2ZWZBpBUvZwXKQmoEYga2'] }),
    uid: Type.Optional(Type.String()),
    name: Type.String(),
    rateLimit: Type.Optional(Type.Integer({ description: APP_RATE })),
    throttleRate: Type.Optional(Type.Integer({ description: 'The same as rateLimit (the Svix v2 name)' })),
    ingestRateLimit: Type.Optional(Type.Integer({ description: 'hookd only: messages per second the application may ingest (absent: HOOKD_APP_RATE_LIMIT)' })),
    metadata: Metadata,
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { $id: 'ApplicationOut' },
);

// ---- Endpoints

/** Svix stores the (deprecated) endpoint version as a u16 and refuses anything beyond. */
const EndpointVersion = Type.Integer({ minimum: 1, maximum: 65535 });
const eventTypeNames = (description: string) => Type.Array(EventTypeName, { minItems: 1, maxItems: 1000, uniqueItems: true, description });
const CATALOG_RULE = 'Each must be an event type of the catalog that is not archived: otherwise a 422 with loc ["body", "filterTypes"], as in Svix';

const EndpointFields = {
  url: Type.String({ minLength: 1, maxLength: 65536, format: 'uri' }),
  description: Type.Optional(Nullable(Type.String({ maxLength: 4096 }))),
  uid: Type.Optional(Nullable(Uid)),
  rateLimit: Type.Optional(Nullable(RateLimit)),
  maxConcurrency: Type.Optional(Nullable(MaxConcurrency)),
  throttleRate: ThrottleRate,
  version: Type.Optional(Nullable(EndpointVersion)),
  disabled: Type.Optional(Nullable(Type.Boolean())),
  filterTypes: Type.Optional(Nullable(eventTypeNames(`Only messages of these event types are delivered (absent or null: all). ${CATALOG_RULE}`))),
  eventTypes: Type.Optional(Nullable(eventTypeNames(`The same field as filterTypes (the Svix v2 SDKs send this name). ${CATALOG_RULE}`))),
  channels: Type.Optional(Nullable(Type.Array(Channel, { minItems: 1, maxItems: 10, uniqueItems: true }))),
  metadata: Type.Optional(Nullable(Metadata)),
};
const SecretIn = Type.String({ pattern: '^(whsec_)?[a-zA-Z0-9+/=]{32,100}$' });
/** Custom headers of an endpoint: how many, and their names and values together (checked again after a PATCH merges). */
export const MAX_CUSTOM_HEADERS = 50;
export const MAX_CUSTOM_HEADER_BYTES = 16_384;
const HeadersIn = StringMap(Type.String({ maxLength: 8192 }), {
  maxProperties: MAX_CUSTOM_HEADERS,
  description: `At most ${MAX_CUSTOM_HEADERS} headers and ${MAX_CUSTOM_HEADER_BYTES} bytes of names and values together`,
});

export const EndpointIn = Type.Object({ ...EndpointFields, secret: Type.Optional(Nullable(SecretIn)), headers: Type.Optional(Nullable(HeadersIn)) });
export type EndpointIn = Static<typeof EndpointIn>;
export const EndpointUpdate = Type.Object(EndpointFields);
export type EndpointUpdate = Static<typeof EndpointUpdate>;
export const EndpointPatch = Type.Partial(Type.Object({ ...EndpointFields, secret: Type.Optional(Nullable(SecretIn)) }));
export type EndpointPatch = Static<typeof EndpointPatch>;

export const EndpointOut = Type.Object(
  {
    id: Type.String({ examples: ['ep_1srOrx2ZWZBpBUvZwXKQmoEYga2'] }),
    uid: Type.Optional(Type.String()),
    url: Type.String(),
    description: Type.String(),
    rateLimit: Type.Optional(Type.Integer()),
    throttleRate: Type.Optional(Type.Integer({ description: 'The same as rateLimit (the Svix v2 name)' })),
    maxConcurrency: Type.Optional(Type.Integer()),
    version: Type.Integer(),
    disabled: Type.Boolean(),
    filterTypes: Type.Optional(Type.Array(Type.String())),
    eventTypes: Type.Optional(Type.Array(Type.String(), { description: 'The same as filterTypes (the Svix v2 name)' })),
    channels: Type.Optional(Type.Array(Type.String())),
    metadata: Metadata,
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { $id: 'EndpointOut' },
);

export const EndpointSecretOut = Type.Object({ key: Type.String() });
export const EndpointSecretRotateIn = Type.Object({
  key: Type.Optional(Nullable(SecretIn)),
  gracePeriodSeconds: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 7 * 86400 }))),
});
export type EndpointSecretRotateIn = Static<typeof EndpointSecretRotateIn>;
export const EndpointHeadersIn = Type.Object({ headers: HeadersIn });
export type EndpointHeadersIn = Static<typeof EndpointHeadersIn>;
export const EndpointHeadersPatchIn = Type.Object({
  headers: StringMap(Nullable(Type.String({ maxLength: 8192 })), {
    maxProperties: MAX_CUSTOM_HEADERS,
    description: `Merged into the endpoint's headers (null removes one); the result may hold at most ${MAX_CUSTOM_HEADERS} headers and ${MAX_CUSTOM_HEADER_BYTES} bytes`,
  }),
  deleteHeaders: Type.Optional(Nullable(Type.Array(Type.String(), { description: 'Names of headers to remove' }))),
});
export type EndpointHeadersPatchIn = Static<typeof EndpointHeadersPatchIn>;
export const EndpointHeadersOut = Type.Object({ headers: StringMap(Type.String()), sensitive: Type.Array(Type.String()) });
export const RecoverIn = Type.Object({ since: DateTime, until: Type.Optional(Nullable(DateTime)) });
export type RecoverIn = Static<typeof RecoverIn>;
/** Svix's background task kinds hookd has, and its statuses (hookd's tasks are done when answered: 'finished'). */
const BackgroundTaskType = Type.Union([
  Type.Literal('endpoint.recover'),
  Type.Literal('endpoint.replay'),
  Type.Literal('endpoint.bulk-replay'),
  Type.Literal('application.purge_content'),
]);
const BackgroundTaskStatus = Type.Union([Type.Literal('running'), Type.Literal('finished'), Type.Literal('failed')]);
/** Svix's background task answer (a recover's or a replay's; hookd's are done when answered). */
const TaskFields = { id: Type.String(), status: BackgroundTaskStatus, task: BackgroundTaskType, updatedAt: DateTime };
export const RecoverOut = Type.Object({ ...TaskFields, recovered: Type.Integer({ description: 'hookd extension: deliveries rescheduled' }) });
export const ReplayIn = RecoverIn;
export const ReplayOut = Type.Object({ ...TaskFields, replayed: Type.Integer({ description: 'hookd extension: deliveries created' }) });
export const EventTypeImportOpenApiIn = Type.Object({
  spec: Type.Optional(Nullable(Type.Record(Type.String(), Type.Unknown(), { description: 'The OpenAPI document as JSON' }))),
  specRaw: Type.Optional(Nullable(Type.String({ description: 'The OpenAPI document as YAML or JSON text' }))),
  dryRun: Type.Optional(Type.Boolean({ description: 'Write nothing; answer toModify' })),
  replaceAll: Type.Optional(Type.Boolean({ description: 'Archive the live event types the document does not name' })),
});
const EventTypeFromOpenApiOut = Type.Object({
  name: Type.String(),
  description: Type.String(),
  schemas: Nullable(Type.Record(Type.String(), Type.Unknown())),
  deprecated: Type.Boolean(),
});
export const EventTypeImportOpenApiOut = Type.Object({
  // to_modify: Svix's wire name (snake case, unlike every other field).
  data: Type.Object({ modified: Type.Array(Type.String()), to_modify: Type.Optional(Type.Array(EventTypeFromOpenApiOut)) }),
});
export const BulkReplayIn = Type.Object({
  since: DateTime,
  until: Type.Optional(Nullable(DateTime)),
  status: Type.Optional(Nullable(Type.Integer({ enum: [0, 1, 2, 3], description: "Svix's MessageStatus: 0 delivered, 2 failed; 1 (pending) and 3 (sending) match nothing, being on their way" }))),
  statusCodeClass: Type.Optional(
    Nullable(Type.Integer({ enum: [0, 100, 200, 300, 400, 500], description: "The latest attempt's status code class: 0 no response, 100 for 1xx ... 500 for 5xx" })),
  ),
  eventTypes: Type.Optional(Nullable(Type.Array(EventTypeName, { maxItems: 250 }))),
  channel: Type.Optional(Nullable(Channel)),
  tag: Type.Optional(Nullable(Tag)),
});
export type BulkReplayIn = Static<typeof BulkReplayIn>;
export const BulkExpungeIn = Type.Object({
  ids: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 256, description: 'A message id or eventId' }), { maxItems: 1000 })),
});
export const BulkExpungeOut = Type.Object({
  results: Type.Record(Type.String(), Type.Union([Type.Literal('expunged'), Type.Literal('not-found')]), { description: 'Each name given: expunged, or not-found' }),
});
export const ExpungeAllContentsOut = Type.Object({ ...TaskFields, expunged: Type.Integer({ description: 'hookd extension: messages expunged' }) });
export const BackgroundTaskOut = Type.Object({
  ...TaskFields,
  data: Type.Record(Type.String(), Type.Unknown(), {
    description:
      "What the task was asked and did: messagesSent (a recovery, a replay, a bulk replay) or messagesPurged (expunge-all-contents), as in Svix, and hookd's appId, endpointId, since and until",
  }),
});
export const BackgroundTaskListQuery = Type.Object({
  ...ListQueryOf('qtask').properties,
  status: Type.Optional(BackgroundTaskStatus),
  task: Type.Optional(BackgroundTaskType),
});

// ---- Messages

export const MessagePrecheckIn = Type.Object({
  eventType: EventTypeName,
  channels: Type.Optional(Nullable(Type.Array(Channel, { minItems: 1, maxItems: 10, uniqueItems: true }))),
});
export const MessagePrecheckOut = Type.Object({
  active: Type.Boolean({ description: 'Whether any enabled endpoint of the application would get a message of this event type and channels' }),
});

export const MessageIn = Type.Object({
  eventType: EventTypeName,
  eventId: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 256, pattern: NAME_PATTERN }))),
  payload: StringMap(Type.Unknown(), { description: 'The JSON object delivered as the webhook body, byte for byte as written in this request (numbers, escapes, key order)' }),
  channels: Type.Optional(Nullable(Type.Array(Channel, { minItems: 1, maxItems: 10, uniqueItems: true }))),
  tags: Type.Optional(Nullable(Type.Array(Tag, { minItems: 1, maxItems: 5, uniqueItems: true }))),
  application: Type.Optional(Nullable(ApplicationIn)),
});
export type MessageIn = Static<typeof MessageIn>;

export const MessageOut = Type.Object(
  {
    id: Type.String({ examples: ['msg_1srOrx2ZWZBpBUvZwXKQmoEYga2'] }),
    eventId: Type.Optional(Type.String()),
    eventType: Type.String(),
    payload: StringMap(Type.Unknown(), { description: 'The message routes (/msg) answer the stored payload byte for byte as it was sent and is delivered; `{}` with `with_content=false`' }),
    channels: Type.Optional(Type.Array(Type.String())),
    tags: Type.Optional(Type.Array(Type.String())),
    timestamp: DateTime,
  },
  { $id: 'MessageOut' },
);

export const EndpointMessageOut = Type.Object(
  {
    ...MessageOut.properties,
    status: Type.Integer({ description: "The message's delivery to this endpoint: 0 success, 1 pending, 2 fail, 3 sending" }),
    statusText: Type.String(),
    nextAttempt: Type.Optional(DateTime),
  },
  { $id: 'EndpointMessageOut' },
);

export const EndpointMessageListQuery = Type.Object({
  limit: ListQuery.properties.limit,
  iterator: IdIterator('msg'),
  channel: Type.Optional(Channel),
  tag: Type.Optional(Tag),
  status: Type.Optional(Type.Integer({ minimum: 0, maximum: 3, description: '0 success, 1 pending, 2 fail, 3 sending' })),
  before: Type.Optional(DateTime),
  after: Type.Optional(DateTime),
  with_content: Type.Optional(Type.Boolean({ default: true })),
  event_types: Type.Optional(Type.String({ description: 'Comma-separated event type names' })),
});
export type EndpointMessageListQuery = Static<typeof EndpointMessageListQuery>;

export const EventExampleIn = Type.Object({
  eventType: EventTypeName,
  exampleIndex: Type.Optional(Nullable(Type.Integer({ minimum: 0, description: 'Which of the schema\'s examples (default the first)' }))),
});
export type EventExampleIn = Static<typeof EventExampleIn>;

export const MessageListQuery = Type.Object({
  ...ListQueryOf('msg').properties,
  channel: Type.Optional(Channel),
  tag: Type.Optional(Tag),
  before: Type.Optional(DateTime),
  after: Type.Optional(DateTime),
  with_content: Type.Optional(Type.Boolean({ default: true })),
  event_types: Type.Optional(Type.String({ description: 'Comma-separated event type names' })),
});
export type MessageListQuery = Static<typeof MessageListQuery>;

// ---- Attempts

export const MessageAttemptOut = Type.Object(
  {
    id: Type.String({ examples: ['atmpt_1srOrx2ZWZBpBUvZwXKQmoEYga2'] }),
    msgId: Type.String(),
    endpointId: Type.String(),
    url: Type.String(),
    response: Type.String(),
    responseStatusCode: Type.Integer({ description: '0 when no response was received (network error, timeout)' }),
    responseDurationMs: Type.Integer(),
    status: Type.Integer({ description: '0 success, 1 pending, 2 fail, 3 sending' }),
    statusText: Type.String(),
    triggerType: Type.Integer({ description: '0 scheduled, 1 manual' }),
    timestamp: DateTime,
    error: Type.Optional(Type.String({ description: 'hookd extension: why the attempt failed' })),
    requestHeaders: Type.Optional(
      StringMap(Type.String(), { description: 'hookd extension: the headers of the request as sent, values of sensitive custom headers (authorization, cookie...) redacted' }),
    ),
    responseHeaders: Type.Optional(
      StringMap(Type.String(), { description: 'hookd extension: the headers of the response (repeated ones joined by ", ", at most 8 KiB); absent when no response arrived' }),
    ),
    msg: Type.Optional(MessageOut),
  },
  { $id: 'MessageAttemptOut' },
);

/** The query of the attempt lists (by endpoint, by message): no `order`, as in Svix (they are newest first). */
export const AttemptListQuery = Type.Object({
  limit: ListQuery.properties.limit,
  iterator: IdIterator('atmpt'),
  status: Type.Optional(Type.Integer({ minimum: 0, maximum: 3 })),
  status_code_class: Type.Optional(
    Type.Integer({ enum: [0, 100, 200, 300, 400, 500], description: "Svix's StatusCodeClass: 0 no response, 100 for 1xx ... 500 for 5xx" }),
  ),
  before: Type.Optional(DateTime),
  after: Type.Optional(DateTime),
  with_content: Type.Optional(Type.Boolean({ default: true })),
  with_msg: Type.Optional(Type.Boolean({ default: false })),
  channel: Type.Optional(Channel),
  tag: Type.Optional(Tag),
  event_types: Type.Optional(Type.String()),
  expanded_statuses: Type.Optional(Type.Boolean()),
});
export type AttemptListQuery = Static<typeof AttemptListQuery>;

/** A message's attempts: AttemptListQuery, and only those to one endpoint (its id or uid; unknown: 404, as in Svix). */
export const MessageAttemptListQuery = Type.Object({
  ...AttemptListQuery.properties,
  endpoint_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Only the attempts to this endpoint (id or uid); an unknown one is a 404' })),
});
export type MessageAttemptListQuery = Static<typeof MessageAttemptListQuery>;

export const MessageEndpointOut = Type.Object({
  ...EndpointOut.properties,
  status: Type.Integer(),
  statusText: Type.String(),
  nextAttempt: Type.Optional(DateTime),
  attempts: Type.Integer({ description: 'hookd extension: attempts since the last (re)schedule' }),
});

// ---- Event types

const FeatureFlag = Type.String({ maxLength: 256 });

export const EventTypeIn = Type.Object({
  name: EventTypeName,
  description: Type.String({ maxLength: 4096 }),
  archived: Type.Optional(Nullable(Type.Boolean())),
  deprecated: Type.Optional(Nullable(Type.Boolean())),
  schemas: Type.Optional(Nullable(StringMap(Type.Unknown()))),
  featureFlag: Type.Optional(Nullable(FeatureFlag)),
  featureFlags: Type.Optional(
    Nullable(Type.Array(FeatureFlag, { maxItems: 1, description: 'The v2 SDKs\' list form of featureFlag: hookd keeps one feature flag per event type' })),
  ),
  groupName: Type.Optional(Nullable(Type.String({ maxLength: 256 }))),
});
export type EventTypeIn = Static<typeof EventTypeIn>;
/**
 * The event type list's iterator: an event type name, "-" before it to page back. As in Svix, anything else (an empty
 * value, a character a name cannot hold) is a 422 at ["query", "iterator"].
 */
export const EventTypeIterator = Type.Optional(
  Type.String({
    maxLength: 257,
    pattern: '^(-[a-zA-Z0-9\\-_.]|[a-zA-Z0-9_.])[a-zA-Z0-9\\-_.]*$',
    description: 'An iterator or prevIterator of a page of this list: an event type name, with "-" before it to page back',
  }),
);
export const EventTypeUpdate = Type.Omit(EventTypeIn, ['name']);
export type EventTypeUpdate = Static<typeof EventTypeUpdate>;
export const EventTypePatch = Type.Partial(EventTypeUpdate);
export type EventTypePatch = Static<typeof EventTypePatch>;

export const EventTypeOut = Type.Object(
  {
    name: Type.String(),
    description: Type.String(),
    archived: Type.Boolean(),
    deprecated: Type.Boolean(),
    schemas: Type.Optional(StringMap(Type.Unknown())),
    featureFlag: Type.Optional(Type.String()),
    featureFlags: Type.Optional(Type.Array(Type.String(), { description: 'featureFlag as a list (the Svix v2 name)' })),
    groupName: Type.Optional(Type.String()),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { $id: 'EventTypeOut' },
);

/** Svix's environment export and import: hookd's is its event type catalog. */
export const EnvironmentIn = Type.Object({
  eventTypes: Type.Optional(Nullable(Type.Array(EventTypeIn, { maxItems: 10_000 }))),
  settings: Type.Optional(Nullable(Type.Record(Type.String(), Type.Unknown(), { description: 'Svix organisation settings: hookd has none, and ignores them' }))),
  connectors: Type.Optional(Nullable(Type.Array(Type.Unknown(), { description: 'Svix connectors: hookd has none; a non-empty list is a 422' }))),
});
export const EnvironmentOut = Type.Object({
  version: Type.Integer(),
  createdAt: DateTime,
  eventTypes: Type.Array(EventTypeOut),
  settings: Type.Null(),
  connectors: Type.Array(Type.Unknown()),
});

// ---- API keys (hookd extension; admin only)

export const ApiKeyIn = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256 }),
  appId: Type.Optional(
    Nullable(Type.String({ minLength: 1, maxLength: 256, description: 'Scope the key to this application (id or uid); absent or null: an admin key' })),
  ),
});
export type ApiKeyIn = Static<typeof ApiKeyIn>;

/** One of Svix's app-portal capabilities (src/api/capabilities.ts). */
const PortalCapabilityName = Type.Union(PORTAL_CAPABILITIES.map((c) => Type.Literal(c)));

export const ApiKeyOut = Type.Object(
  {
    id: Type.String({ examples: ['key_1srOrx2ZWZBpBUvZwXKQmoEYga2'] }),
    name: Type.String(),
    appId: Nullable(Type.String({ description: 'The application the key is scoped to; null for an admin key' })),
    prefix: Type.String({ description: 'The first characters of the token, to recognise it' }),
    createdAt: DateTime,
    revokedAt: Nullable(DateTime),
    expiresAt: Nullable(Type.String({ format: 'date-time', description: 'App-portal tokens expire; other keys never (null)' })),
    readOnly: Type.Boolean({ description: 'A read-only app-portal token: it may only read (GET)' }),
    capabilities: Nullable(Type.Array(PortalCapabilityName, { description: 'The Svix capabilities an app-portal token is limited to; null: not limited' })),
  },
  { $id: 'ApiKeyOut' },
);

export const ApiKeyCreatedOut = Type.Object(
  {
    ...ApiKeyOut.properties,
    token: Type.Optional(
      Type.String({
        description: 'The bearer token, shown only in this response: hookd stores only its SHA-256. A repeat with the same idempotency-key replays the response without it.',
      }),
    ),
  },
  { $id: 'ApiKeyCreatedOut' },
);

// ---- App portal access (Svix's authentication operations)

export const PORTAL_EXPIRY_DEFAULT_S = 7 * 86400;

export const AppPortalAccessIn = Type.Object({
  /** Creates the application (uid = the path value) when it does not exist yet. */
  application: Type.Optional(Nullable(ApplicationIn)),
  expiry: Type.Optional(
    Nullable(Type.Integer({ minimum: 3600, maximum: PORTAL_EXPIRY_DEFAULT_S, description: 'Seconds the token is valid for: 1 hour to 7 days (default)' })),
  ),
  readOnly: Type.Optional(Nullable(Type.Boolean({ description: 'The token may only read (GET)' }))),
  capabilities: Type.Optional(
    Nullable(
      Type.Array(PortalCapabilityName, {
        uniqueItems: true,
        description:
          'Svix capabilities the token is limited to, each enforced per route: ViewBase (reads but the endpoint secret), ViewEndpointSecret, ManageEndpointSecret (rotation; includes viewing), ' +
          'CreateAttempts (resend, recover, send-example), ManageEndpoint (create, change, delete endpoints and their headers), ManageTransformations (hookd has none). ' +
          'No capability grants other writes (messages, the application, content expunging, sources): 403. Only ViewBase and ViewEndpointSecret make a read-only token. Absent or null: not limited.',
      }),
    ),
  ),
  featureFlags: Type.Optional(Nullable(Type.Array(Type.String({ maxLength: 256 }), { description: 'Accepted for Svix compatibility; hookd has no feature-flagged event types to show or hide yet' }))),
  sessionId: Type.Optional(Nullable(Type.String({ maxLength: 256, description: 'Accepted for Svix compatibility; not used' }))),
});
export type AppPortalAccessIn = Static<typeof AppPortalAccessIn>;

/** Svix's ApplicationTokenExpireIn (POST /api/v1/auth/app/{app_id}/expire-all). */
export const ApplicationTokenExpireIn = Type.Object({
  expiry: Type.Optional(
    Nullable(
      Type.Integer({
        minimum: 0,
        maximum: PORTAL_EXPIRY_DEFAULT_S,
        description: 'Seconds until the tokens expire: 0 (default) at once; at most 7 days, the longest a token lives',
      }),
    ),
  ),
  sessionIds: Type.Optional(
    Nullable(
      Type.Array(Type.String({ maxLength: 256 }), {
        maxItems: 0,
        description: 'hookd keeps no session ids with its tokens, so it cannot expire only some: absent, null or empty (every token of the application)',
      }),
    ),
  ),
});
export type ApplicationTokenExpireIn = Static<typeof ApplicationTokenExpireIn>;

export const AppPortalAccessOut = Type.Object(
  {
    url: Type.String({ description: '<public URL>/portal/#token=<token>: opens the app portal signed in' }),
    token: Type.String({ description: 'A bearer token scoped to the application; it expires, and POST /api/v1/auth/logout ends it' }),
  },
  { $id: 'AppPortalAccessOut' },
);

export const AppParams = Type.Object({ app_id: Type.String({ minLength: 1, maxLength: 256 }) });
export const EndpointParams = Type.Object({ ...AppParams.properties, endpoint_id: Type.String({ minLength: 1, maxLength: 256 }) });
export const MessageParams = Type.Object({ ...AppParams.properties, msg_id: Type.String({ minLength: 1, maxLength: 256 }) });

/** Standard error responses for a route's OpenAPI document. */
export const errorResponses = {
  401: ErrorOut,
  404: ErrorOut,
  409: ErrorOut,
  422: ValidationErrorOut,
};

/** Error responses of a route that needs an admin key (a scoped key gets 403). */
export const adminErrorResponses = { ...errorResponses, 403: ErrorOut };
