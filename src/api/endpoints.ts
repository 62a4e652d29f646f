import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { isSensitiveHeader, newEndpoint } from '../domain/endpoint.js';
import { HookdError, conflict, notFound, validationError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { MAX_SIGNING_SECRETS, SECRET_PREFIX, activeSecrets, generateSecret, secretKeyBytes } from '../domain/signing.js';
import type { App, Endpoint, EndpointSecret, Message } from '../domain/types.js';
import { OPERATIONAL_EVENT_TYPES } from '../operations/events.js';
import { OPERATOR_APP_UID } from '../operations/operator.js';
import { parseDate, resolveApp, resolveEndpoint } from './context.js';
import {
  AppParams,
  BulkReplayIn,
  EndpointHeadersIn,
  EndpointHeadersOut,
  EndpointHeadersPatchIn,
  EndpointIn,
  EndpointOut,
  EndpointParams,
  EndpointPatch,
  EndpointSecretOut,
  EndpointSecretRotateIn,
  EndpointUpdate,
  ErrorOut,
  EventExampleIn,
  ListOf,
  ListQueryOf,
  MAX_CUSTOM_HEADER_BYTES,
  MAX_CUSTOM_HEADERS,
  MessageOut,
  RecoverIn,
  RecoverOut,
  ReplayIn,
  ReplayOut,
  errorResponses,
} from './schemas.js';
import { isUidPath, uidAfterPut } from './apps.js';
import { eventTypesOf, rateLimitOf } from './renamed-fields.js';
import { enforceIngestRate } from '../inbound/index.js';
import type { BulkReplayFilter } from '../store/store.js';
import { endpointOut, messageJson, pageOut, sendJsonText } from './wire.js';
import { endpointTaskData, recordFinishedTask, taskOut } from './background-tasks.js';

const tags = ['Endpoint'];
/** Svix's built-in event type for send-example: it needs no schema. */
const PING_EVENT_TYPE = 'svix.ping';
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What an HTTP header value may hold (RFC 9110 field-value with obs-text; Node's and undici's own check). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers hookd sets itself; an endpoint may not override them. */
const RESERVED_HEADERS = /^(webhook-.*|svix-.*|content-type|content-length|host|user-agent|connection|transfer-encoding|te|upgrade|keep-alive|expect)$/i;
/** Header values that GET /headers does not echo back. */

export async function endpointRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock, config, wakeWorker, countStored } = fastify.hookd;
  const base = '/api/v1/app/:app_id/endpoint';

  app.get(base, { schema: { tags, summary: 'List endpoints', params: AppParams, querystring: ListQueryOf('ep'), response: { 200: ListOf(EndpointOut), ...errorResponses } } }, async (request) => {
    const owner = await resolveApp(request, request.params.app_id);
    return pageOut(await store.listEndpoints(owner.id, { limit: request.query.limit ?? 50, iterator: request.query.iterator, order: request.query.order }), endpointOut);
  });

  /**
   * Svix refuses an endpoint filter that names an event type the catalog does not have, or has archived (Svix:
   * deleted): a misspelt name would otherwise go unnoticed, the endpoint silently missing the type meant. Same 422 as
   * Svix's (loc, msg, type), so code written against either server reads it alike. Absent or null filters (every
   * type) pass. Checked before the write, not with it: an event type archived in between is let through, as in Svix.
   * The operator application's endpoints may also filter on hookd's operational events, which are not in the
   * catalog (it is the customers' catalog; they are hookd's own).
   */
  async function checkFilterTypes(owner: App, filterTypes: string[] | null | undefined): Promise<void> {
    if (!filterTypes || filterTypes.length === 0) return;
    const own: readonly string[] = owner.uid === OPERATOR_APP_UID ? OPERATIONAL_EVENT_TYPES : [];
    const missing = await store.missingEventTypes(filterTypes.filter((name) => !own.includes(name)));
    if (missing.length > 0) throw validationError(['body', 'filterTypes'], `The following event types don't exist: ${missing.join(', ')}`);
  }

  /** A new endpoint of `owner` from a create (POST) or upsert (PUT) body. */
  async function create(owner: App, body: EndpointIn, uid: string | null): Promise<Endpoint> {
    const endpoint = newEndpoint(
      {
        appId: owner.id,
        uid,
        url: checkUrl(body.url),
        description: body.description ?? '',
        version: body.version ?? 1,
        disabled: body.disabled ?? false,
        filterTypes: eventTypesOf(body) ?? null,
        channels: body.channels ?? null,
        headers: checkHeaders(body.headers ?? {}),
        rateLimit: rateLimitOf(body) ?? null,
        maxConcurrency: body.maxConcurrency ?? null,
        ...(body.secret ? { secrets: [{ key: normalizeSecret(body.secret, ['body', 'secret']), expiresAt: null }] } : {}),
        metadata: body.metadata ?? {},
      },
      clock(),
    );
    // After the checks of the body itself (the URL, headers, secret), as Svix does: they need no query.
    await checkFilterTypes(owner, endpoint.filterTypes);
    // Every endpoint is a delivery row per message in the commit all tenants share, and work for the worker: a tenant
    // (an app-portal user among them) with thousands of endpoints made each of its messages cost everyone that much.
    // Counted in the create's own transaction: concurrent creates cannot pass the bound.
    if (!(await store.createEndpoint(endpoint, config.maxEndpointsPerApp))) {
      throw new HookdError('HOOKD_ERR_CONFLICT', `this application already has ${config.maxEndpointsPerApp} endpoints, the most HOOKD_MAX_ENDPOINTS_PER_APP allows; delete one first`);
    }
    return endpoint;
  }

  app.post(base, { config: { capability: 'ManageEndpoint' }, schema: { tags, summary: 'Create an endpoint', params: AppParams, body: EndpointIn, response: { 201: EndpointOut, ...errorResponses } } }, async (request, reply) => {
    const owner = await resolveApp(request, request.params.app_id);
    return reply.code(201).send(endpointOut(await create(owner, request.body, request.body.uid ?? null)));
  });

  const one = `${base}/:endpoint_id`;

  app.get(one, { schema: { tags, summary: 'Get an endpoint', params: EndpointParams, response: { 200: EndpointOut, ...errorResponses } } }, async (request) =>
    endpointOut((await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id)).endpoint),
  );

  app.put(
    one,
    {
      config: { capability: 'ManageEndpoint' },
      schema: {
        tags,
        summary: 'Update (or create) an endpoint',
        description:
          'As in Svix, a PUT to an endpoint that does not exist creates it (201) when the path names it by uid: the new endpoint gets that uid unless the body sets one. An unknown ep_ id is a 404 (ids are assigned by hookd). ' +
          'A PUT naming the endpoint by uid keeps that uid unless the body sets another.',
        params: EndpointParams,
        body: EndpointUpdate,
        response: { 200: EndpointOut, 201: EndpointOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const owner = await resolveApp(request, request.params.app_id);
      const body = request.body;
      const endpoint = await store.getEndpoint(owner.id, request.params.endpoint_id);
      if (!endpoint) {
        if (!isUidPath(request.params.endpoint_id, 'ep')) throw notFound('endpoint');
        return reply.code(201).send(endpointOut(await create(owner, body, body.uid ?? request.params.endpoint_id)));
      }
      const updated = reenabled(endpoint, {
        ...endpoint,
        url: checkUrl(body.url),
        uid: uidAfterPut(body.uid, request.params.endpoint_id, endpoint.uid),
        description: body.description ?? '',
        version: body.version ?? endpoint.version,
        disabled: body.disabled ?? false,
        filterTypes: eventTypesOf(body) ?? null,
        channels: body.channels ?? null,
        rateLimit: rateLimitOf(body) ?? null,
        maxConcurrency: body.maxConcurrency ?? null,
        metadata: body.metadata ?? {},
        updatedAt: clock(),
      });
      await checkFilterTypes(owner, updated.filterTypes);
      await store.updateEndpoint(updated);
      return endpointOut(updated);
    },
  );

  app.patch(one, { config: { capability: 'ManageEndpoint' }, schema: { tags, summary: 'Patch an endpoint', params: EndpointParams, body: EndpointPatch, response: { 200: EndpointOut, ...errorResponses } } }, async (request) => {
    const { app: owner, endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
    const body = request.body;
    const pick = <K extends keyof typeof body, T>(key: K, current: T, fallback: T): T =>
      body[key] === undefined ? current : ((body[key] as T | null) ?? fallback);
    const filterTypes = eventTypesOf(body);
    const rateLimit = rateLimitOf(body);
    const updated = reenabled(endpoint, {
      ...endpoint,
      url: body.url === undefined ? endpoint.url : checkUrl(body.url),
      uid: pick('uid', endpoint.uid, null),
      description: pick('description', endpoint.description, ''),
      version: pick('version', endpoint.version, endpoint.version),
      disabled: pick('disabled', endpoint.disabled, false),
      filterTypes: filterTypes === undefined ? endpoint.filterTypes : filterTypes,
      channels: pick('channels', endpoint.channels, null),
      rateLimit: rateLimit === undefined ? endpoint.rateLimit : rateLimit,
      maxConcurrency: pick('maxConcurrency', endpoint.maxConcurrency, null),
      metadata: pick('metadata', endpoint.metadata, {}),
      secrets: body.secret ? rotate(endpoint.secrets, normalizeSecret(body.secret, ['body', 'secret']), clock(), config.secretGraceMs) : endpoint.secrets,
      updatedAt: clock(),
    });
    // Only a filter the body sets is checked: a PATCH of other fields keeps working after a type is archived.
    await checkFilterTypes(owner, filterTypes);
    await store.updateEndpoint(updated);
    return endpointOut(updated);
  });

  app.delete(one, { config: { capability: 'ManageEndpoint' }, schema: { tags, summary: 'Delete an endpoint', params: EndpointParams, response: { 204: Type.Null(), ...errorResponses } } }, async (request, reply) => {
    const { app: owner, endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
    await store.deleteEndpoint(owner.id, endpoint.id, clock());
    return reply.code(204).send(null);
  });

  app.get(`${one}/secret`, { config: { capability: 'ViewEndpointSecret' }, schema: { tags, summary: "Get the endpoint's current signing secret", params: EndpointParams, response: { 200: EndpointSecretOut, ...errorResponses } } }, async (request) => {
    const { endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
    return { key: endpoint.secrets.find((s) => s.expiresAt === null)!.key };
  });

  app.post(
    `${one}/secret/rotate`,
    {
      config: { capability: 'ManageEndpointSecret' },
      schema: {
        tags,
        summary: 'Rotate the signing secret',
        description:
          'The previous secret keeps signing (a second signature) for the grace period, default HOOKD_SECRET_GRACE (24 h). ' +
          "Answers the new secret, as Svix's API does today: the Python SDK 2.x parses it (Svix's open-source server answered 204, which the JavaScript SDK also accepts).",
        params: EndpointParams,
        body: Type.Optional(EndpointSecretRotateIn),
        response: { 200: EndpointSecretOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
      const body = request.body ?? {};
      const graceMs = body.gracePeriodSeconds != null ? body.gracePeriodSeconds * 1000 : config.secretGraceMs;
      const next = body.key ? normalizeSecret(body.key, ['body', 'key']) : generateSecret();
      const now = clock();
      await store.updateEndpoint({ ...endpoint, secrets: rotate(endpoint.secrets, next, now, graceMs), updatedAt: now });
      return { key: next };
    },
  );

  app.get(`${one}/headers`, { schema: { tags, summary: "Get the endpoint's custom headers", params: EndpointParams, response: { 200: EndpointHeadersOut, ...errorResponses } } }, async (request) => {
    const { endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
    const entries = Object.entries(endpoint.headers);
    // Built from entries, never by assignment: a header may be named __proto__.
    const headers = Object.fromEntries(entries.filter(([name]) => !isSensitiveHeader(name)));
    const sensitive = entries.filter(([name]) => isSensitiveHeader(name)).map(([name]) => name);
    return { headers, sensitive };
  });

  app.put(`${one}/headers`, { config: { capability: 'ManageEndpoint' }, schema: { tags, summary: 'Replace the custom headers', params: EndpointParams, body: EndpointHeadersIn, response: { 204: Type.Null(), ...errorResponses } } }, async (request, reply) => {
    const { endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
    await store.updateEndpoint({ ...endpoint, headers: checkHeaders(request.body.headers), updatedAt: clock() });
    return reply.code(204).send(null);
  });

  app.patch(
    `${one}/headers`,
    { config: { capability: 'ManageEndpoint' }, schema: { tags, summary: 'Set or remove (null) custom headers', params: EndpointParams, body: EndpointHeadersPatchIn, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      const { endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
      // A Map, not assignments into an object: a header may be named __proto__.
      const headers = new Map(Object.entries(endpoint.headers));
      // Header names are case-insensitive: `authorization` replaces (or, null, removes) a stored `Authorization`,
      // where both were kept and sent, the receiver reading the old one.
      const remove = (name: string): void => {
        for (const existing of [...headers.keys()]) if (existing.toLowerCase() === name.toLowerCase()) headers.delete(existing);
      };
      for (const [name, value] of Object.entries(request.body.headers)) {
        remove(name);
        if (value !== null) headers.set(name, value);
      }
      // svix SDK: EndpointHeadersPatchIn.deleteHeaders lists the headers to remove.
      for (const name of request.body.deleteHeaders ?? []) remove(name);
      await store.updateEndpoint({ ...endpoint, headers: checkHeaders(Object.fromEntries(headers)), updatedAt: clock() });
      return reply.code(204).send(null);
    },
  );

  app.post(
    `${one}/send-example`,
    {
      config: { capability: 'CreateAttempts' },
      schema: {
        tags,
        summary: "Send an event type's example to this endpoint",
        description:
          'Creates a message of the event type whose payload is the example in its schema (schemas["1"].examples, the first or exampleIndex) and delivers it to this endpoint only, as Svix does. ' +
          'The event type svix.ping needs no schema: its payload is {"success": true}. An event type without such an example is a 400.',
        params: EndpointParams,
        body: EventExampleIn,
        response: { 200: MessageOut, 400: ErrorOut, ...errorResponses, 429: ErrorOut },
      },
    },
    async (request, reply) => {
      const { app: owner, endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
      const { eventType, exampleIndex } = request.body;
      const now = clock();
      const message: Message = {
        id: newId('msg', now),
        appId: owner.id,
        eventId: null,
        eventType,
        payload: JSON.stringify(await examplePayload(eventType, exampleIndex ?? 0)),
        channels: null,
        tags: null,
        createdAt: now,
      };
      // A message like any other: it counts against the application's ingest rate limit.
      await enforceIngestRate(request, reply, owner);
      await store.insertMessageTo(message, endpoint.id);
      countStored(message);
      wakeWorker();
      return sendJsonText(reply, messageJson(message));
    },
  );

  /** The payload send-example sends: svix.ping's fixed one, or the event type's example. */
  async function examplePayload(eventType: string, index: number): Promise<Record<string, unknown>> {
    if (eventType === PING_EVENT_TYPE) return { success: true };
    const found = await store.getEventType(eventType);
    if (!found) throw notFound('event type');
    const examples = (found.schemas?.['1'] as { examples?: unknown } | undefined)?.examples;
    const example: unknown = Array.isArray(examples) ? examples[index] : undefined;
    if (typeof example !== 'object' || example === null || Array.isArray(example)) {
      throw new HookdError('HOOKD_ERR_BAD_REQUEST', `event type "${eventType}" has no example ${index} in its schema (schemas["1"].examples[${index}], a JSON object)`);
    }
    return example as Record<string, unknown>;
  }

  app.post(
    `${one}/recover`,
    {
      config: { capability: 'CreateAttempts' },
      schema: {
        tags,
        summary: 'Resend failed messages since a time',
        description: 'Every failed (dead-lettered) delivery to this endpoint of a message created in [since, until) is scheduled again now.',
        params: EndpointParams,
        body: RecoverIn,
        response: { 202: RecoverOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
      const now = clock();
      const { since, until } = timeWindow(request.body, now);
      const recovered = await store.recoverFailed(endpoint.id, since, until, now);
      if (recovered > 0) wakeWorker();
      const task = await recordFinishedTask(store, endpoint.appId, 'endpoint.recover', endpointTaskData(endpoint, { since, until }, recovered), now);
      return reply.code(202).send({ ...taskOut(task), recovered });
    },
  );

  app.post(
    `${one}/replay-missing`,
    {
      config: { capability: 'CreateAttempts' },
      schema: {
        tags,
        summary: 'Send the messages this endpoint missed since a time',
        description:
          "Every message of the application created in [since, until) that the endpoint subscribes to (event types, channels) and that was never sent to it (it was added later, or its filters changed) is sent to it now, as a manual attempt; messages already sent to it, delivered or not, are not sent again (use recover or resend for those). As in Svix's replayMissing; hookd does the work before it answers, so the task's status is 'finished'.",
        params: EndpointParams,
        body: ReplayIn,
        response: { 202: ReplayOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
      // What it would send would fail at once (a disabled endpoint gets nothing) and then count as sent.
      if (endpoint.disabled) throw conflict('the endpoint is disabled: enable it, then replay what it missed');
      const now = clock();
      const { since, until } = timeWindow(request.body, now);
      const replayed = await store.replayMissing(endpoint, since, until, now);
      if (replayed > 0) wakeWorker();
      const task = await recordFinishedTask(store, endpoint.appId, 'endpoint.replay', endpointTaskData(endpoint, { since, until }, replayed), now);
      return reply.code(202).send({ ...taskOut(task), replayed });
    },
  );

  app.post(
    `${one}/bulk-replay`,
    {
      config: { capability: 'CreateAttempts' },
      schema: {
        tags,
        summary: 'Send the endpoint again the messages it had since a time, filtered',
        description:
          "Every delivery to this endpoint that has ended (delivered or failed; pending ones are on their way) of a message created in [since, until) is sent again now, as a manual attempt from a fresh retry schedule, if it matches every filter given: status (0 delivered, 2 failed), statusCodeClass (of its latest attempt), eventTypes, channel, tag. Expunged messages are not. As in Svix's bulkReplay; hookd does the work before it answers, so the task's status is 'finished'.",
        params: EndpointParams,
        body: BulkReplayIn,
        response: { 202: ReplayOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { endpoint } = await resolveEndpoint(request, request.params.app_id, request.params.endpoint_id);
      if (endpoint.disabled) throw conflict('the endpoint is disabled: enable it, then replay');
      const now = clock();
      const { since, until } = timeWindow(request.body, now);
      const { status, statusCodeClass, eventTypes, channel, tag } = request.body;
      // Svix's MessageStatus: delivered (0) or failed (2) deliveries are replayed; pending (1) and sending (3) ones are
      // on their way already.
      const ended = status === 0 ? ('succeeded' as const) : status === 2 ? ('failed' as const) : status == null ? undefined : null;
      const filter: BulkReplayFilter = {
        sinceMs: since,
        untilMs: until,
        status: ended ?? undefined,
        statusCodeClass: statusCodeClass == null ? undefined : statusCodeClass / 100,
        eventTypes: eventTypes ?? undefined,
        channel: channel ?? undefined,
        tag: tag ?? undefined,
      };
      const replayed = ended === null ? 0 : await store.bulkReplay(endpoint.id, filter, now);
      if (replayed > 0) wakeWorker();
      const task = await recordFinishedTask(store, endpoint.appId, 'endpoint.bulk-replay', { ...endpointTaskData(endpoint, { since, until }, replayed), filter: request.body }, now);
      return reply.code(202).send({ ...taskOut(task), replayed });
    },
  );
}

/** A recovery's or a replay's [since, until) (until: now by default; it must come after since). */
function timeWindow(body: { since: string; until?: string | null | undefined }, now: number): { since: number; until: number } {
  const since = parseDate(body.since, ['body', 'since'])!;
  const until = parseDate(body.until, ['body', 'until']) ?? now + 1;
  if (until <= since) throw validationError(['body', 'until'], 'until must be after since');
  return { since, until };
}

/**
 * Re-enabling an endpoint clears why it was disabled and its failure streak; so does a new URL (a new receiver: the
 * old one's failures must neither show as the new one's nor disable it at its first failure).
 */
function reenabled(before: Endpoint, after: Endpoint): Endpoint {
  if (before.url !== after.url) after = { ...after, firstFailureAt: null };
  if (before.disabled && !after.disabled) return { ...after, disabledReason: null, firstFailureAt: null };
  if (!before.disabled && after.disabled) return { ...after, disabledReason: after.disabledReason ?? 'disabled by API' };
  return after;
}

/**
 * New current secret; the old current one signs until now + grace; already expired ones are dropped, and so are the
 * oldest beyond MAX_SIGNING_SECRETS.
 */
function rotate(secrets: EndpointSecret[], next: string, nowMs: number, graceMs: number): EndpointSecret[] {
  const kept = activeSecrets(secrets, nowMs).map((s) => (s.expiresAt === null ? { key: s.key, expiresAt: nowMs + graceMs } : s));
  return [{ key: next, expiresAt: null }, ...kept.filter((s) => s.expiresAt! > nowMs)].slice(0, MAX_SIGNING_SECRETS);
}

function normalizeSecret(secret: string, loc: string[]): string {
  const full = secret.startsWith(SECRET_PREFIX) ? secret : `${SECRET_PREFIX}${secret}`;
  if (!secretKeyBytes(full)) throw validationError(loc, 'secret must be whsec_ followed by base64 of 24 to 64 bytes');
  return full;
}

function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw validationError(['body', 'url'], 'invalid URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw validationError(['body', 'url'], 'URL scheme must be http or https');
  if (parsed.username || parsed.password) throw validationError(['body', 'url'], 'credentials in the URL are not allowed; use endpoint headers');
  return url;
}

/**
 * An endpoint's custom headers as they will be sent with every delivery (and recorded with every attempt): at most
 * MAX_CUSTOM_HEADERS of them and MAX_CUSTOM_HEADER_BYTES of names and values together (PATCH merges into what is
 * there, so the result is checked, not the request), each value what an HTTP header can carry (an HTTP client refuses
 * anything else, so every delivery would fail).
 */
function checkHeaders(headers: Record<string, string>): Record<string, string> {
  let bytes = 0;
  const names = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) throw validationError(['body', 'headers', name], 'invalid header name');
    if (names.has(name.toLowerCase())) throw validationError(['body', 'headers', name], 'this header is given twice (header names are case-insensitive)');
    names.add(name.toLowerCase());
    if (RESERVED_HEADERS.test(name)) throw validationError(['body', 'headers', name], 'this header is set by hookd and cannot be overridden');
    if (!HEADER_VALUE.test(value)) {
      throw validationError(['body', 'headers', name], 'header values may hold only tabs, spaces, visible ASCII and Latin-1 characters (no CR, LF, NUL or other control characters)');
    }
    bytes += name.length + value.length;
  }
  const count = Object.keys(headers).length;
  if (count > MAX_CUSTOM_HEADERS) throw validationError(['body', 'headers'], `at most ${MAX_CUSTOM_HEADERS} custom headers (this would make ${count})`);
  if (bytes > MAX_CUSTOM_HEADER_BYTES) throw validationError(['body', 'headers'], `at most ${MAX_CUSTOM_HEADER_BYTES} bytes of custom header names and values together (this would make ${bytes})`);
  return headers;
}
