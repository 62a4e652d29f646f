import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HookdError } from '../domain/errors.js';
import { isId, newId, type IdPrefix } from '../domain/ids.js';
import type { App } from '../domain/types.js';
import { principalOf, requireAdmin, resolveApp } from './context.js';
import { rateLimitOf } from './renamed-fields.js';
import { AppParams, ApplicationIn, ApplicationOut, ApplicationPatch, ListOf, ListQueryOf, adminErrorResponses, errorResponses } from './schemas.js';
import { appOut, pageOut } from './wire.js';

const tags = ['Application'];

/** A new application record from its wire input; `uid` overrides the body's (PUT-creates and inline creation). */
export function newApp(body: ApplicationIn, nowMs: number, uid: string | null = body.uid ?? null): App {
  return {
    id: newId('app', nowMs),
    uid,
    name: body.name,
    metadata: body.metadata ?? {},
    rateLimit: rateLimitOf(body) ?? null,
    ingestRateLimit: body.ingestRateLimit ?? null,
    createdAt: nowMs,
    updatedAt: nowMs,
  };
}

/**
 * Whether a path value names a resource by uid, not by one of hookd's ids. A PUT to an unknown uid creates the
 * resource (Svix's upsert); an unknown id stays a 404, since ids are assigned by hookd, never chosen.
 */
export function isUidPath(value: string, prefix: IdPrefix): boolean {
  return !isId(value, prefix) && /^[a-zA-Z0-9\-_.]+$/.test(value);
}

/**
 * The uid a PUT leaves: the body's, else the uid the path named the resource by. Without the second part, an upsert
 * by uid that does not repeat the uid in its body would clear it, and the next one would create a second resource.
 */
export function uidAfterPut(bodyUid: string | null | undefined, pathValue: string, existingUid: string | null): string | null {
  return bodyUid ?? (existingUid === pathValue ? existingUid : null);
}

/**
 * The uid is the operator's name for an application (messages are often sent to `/app/{uid}/msg`, creating
 * the app on first use). A scoped key that could rename its app could take a uid meant for another tenant and
 * receive that tenant's messages, so only admin keys change uids.
 */
function checkUidChange(request: FastifyRequest, existing: App, uid: string | null): void {
  if (uid !== existing.uid && principalOf(request).appId !== null) {
    throw new HookdError('HOOKD_ERR_FORBIDDEN', "changing an application's uid needs an admin API key");
  }
}

/**
 * The application's ingest rate limit after a write: only an admin key changes it (a key scoped to the application,
 * an app-portal token among them, would otherwise lift its own limit); a scoped write that does not set it keeps it.
 * (Its `rateLimit` / `throttleRate` only slows the sending to its own endpoints: any key that may write it sets it.)
 */
function ingestRateLimitAfter(request: FastifyRequest, existing: App, requested: number | null | undefined, unset: number | null): number | null {
  const scoped = principalOf(request).appId !== null;
  if (requested === undefined) return scoped ? existing.ingestRateLimit : unset;
  if (scoped && requested !== existing.ingestRateLimit) {
    throw new HookdError('HOOKD_ERR_FORBIDDEN', "changing an application's ingest rate limit needs an admin API key");
  }
  return requested;
}

export async function appRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock } = fastify.hookd;

  app.get('/api/v1/app', { schema: { tags, summary: 'List applications', querystring: ListQueryOf('app'), response: { 200: ListOf(ApplicationOut), ...errorResponses } } }, async (request) => {
    const principal = principalOf(request);
    if (principal.appId !== null) {
      // getApp also matches uids: only the app whose id is the key's own counts.
      const own = await store.getApp(principal.appId);
      return { data: own && own.id === principal.appId ? [appOut(own)] : [], iterator: null, prevIterator: null, done: true };
    }
    return pageOut(await store.listApps({ limit: request.query.limit ?? 50, iterator: request.query.iterator, order: request.query.order }), appOut);
  });

  app.post(
    '/api/v1/app',
    {
      schema: {
        tags,
        summary: 'Create an application',
        description: 'With get_if_exists=true, an existing application with the same uid is returned (200) instead of a 409.',
        querystring: Type.Object({ get_if_exists: Type.Optional(Type.Boolean({ default: false })) }),
        body: ApplicationIn,
        response: { 200: ApplicationOut, 201: ApplicationOut, ...adminErrorResponses },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const body = request.body;
      if (body.uid && request.query.get_if_exists) {
        const existing = await store.getApp(body.uid);
        if (existing) return reply.code(200).send(appOut(existing));
      }
      const created = newApp(body, clock());
      await store.createApp(created);
      return reply.code(201).send(appOut(created));
    },
  );

  app.get('/api/v1/app/:app_id', { schema: { tags, summary: 'Get an application', params: AppParams, response: { 200: ApplicationOut, ...errorResponses } } }, async (request) =>
    appOut(await resolveApp(request, request.params.app_id)),
  );

  app.put(
    '/api/v1/app/:app_id',
    {
      schema: {
        tags,
        summary: 'Create or update an application',
        description:
          'As in Svix, an admin PUT to an unknown uid creates the application (201) with that uid (unless the body sets one); an unknown app_ id is a 404. ' +
          'A PUT naming the application by uid keeps that uid unless the body sets another.',
        params: AppParams,
        body: ApplicationIn,
        response: { 200: ApplicationOut, 201: ApplicationOut, ...adminErrorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const found = await store.getApp(request.params.app_id);
      if (!found && principalOf(request).appId === null && isUidPath(request.params.app_id, 'app')) {
        const created = newApp(body, clock(), body.uid ?? request.params.app_id);
        await store.createApp(created);
        return reply.code(201).send(appOut(created));
      }
      const existing = await resolveApp(request, request.params.app_id);
      const uid = uidAfterPut(body.uid, request.params.app_id, existing.uid);
      checkUidChange(request, existing, uid);
      const updated: App = {
        ...existing,
        name: body.name,
        uid,
        metadata: body.metadata ?? {},
        rateLimit: rateLimitOf(body) ?? null,
        ingestRateLimit: ingestRateLimitAfter(request, existing, body.ingestRateLimit, null),
        updatedAt: clock(),
      };
      await store.updateApp(updated);
      return appOut(updated);
    },
  );

  app.patch(
    '/api/v1/app/:app_id',
    { schema: { tags, summary: 'Patch an application', params: AppParams, body: ApplicationPatch, response: { 200: ApplicationOut, ...adminErrorResponses } } },
    async (request) => {
      const existing = await resolveApp(request, request.params.app_id);
      const body = request.body;
      if (body.uid !== undefined) checkUidChange(request, existing, body.uid);
      const rateLimit = rateLimitOf(body);
      const updated: App = {
        ...existing,
        name: body.name ?? existing.name,
        uid: body.uid === undefined ? existing.uid : body.uid,
        metadata: body.metadata === undefined ? existing.metadata : (body.metadata ?? {}),
        rateLimit: rateLimit === undefined ? existing.rateLimit : rateLimit,
        ingestRateLimit: ingestRateLimitAfter(request, existing, body.ingestRateLimit, existing.ingestRateLimit),
        updatedAt: clock(),
      };
      await store.updateApp(updated);
      return appOut(updated);
    },
  );

  app.delete('/api/v1/app/:app_id', { schema: { tags, summary: 'Delete an application and all its data', params: AppParams, response: { 204: Type.Null(), ...adminErrorResponses } } }, async (request, reply) => {
    requireAdmin(request);
    const existing = await resolveApp(request, request.params.app_id);
    await store.deleteApp(existing.id);
    request.server.forgetApiKeys(); // its scoped keys are gone with it
    return reply.code(204).send(null);
  });
}
