import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createPortalToken, isPortalToken } from '../auth/api-keys.js';
import { HookdError, notFound, validationError } from '../domain/errors.js';
import { PORTAL_CAPABILITIES, type App } from '../domain/types.js';
import { isUidPath, newApp } from './apps.js';
import { READ_CAPABILITIES } from './capabilities.js';
import { principalOf, requireAdmin, resolveApp } from './context.js';
import { AppParams, AppPortalAccessIn, AppPortalAccessOut, ApplicationTokenExpireIn, ErrorOut, PORTAL_EXPIRY_DEFAULT_S, adminErrorResponses } from './schemas.js';

const tags = ['Authentication'];

/**
 * Svix's app-portal pair. An admin asks for a token for one application's portal; the token is an API key scoped
 * to that application that expires (and may be read-only), so everything scoped keys may do, it may do, and
 * nothing more. The URL opens the portal UI (served under /portal from the dashboard bundle), which finds out whose
 * it is from GET /api/v1/auth/app-portal-session.
 */
export async function appPortalRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock, config } = fastify.hookd;

  /** A portal token for the application `appId` names (created first with `body.application`), and its url. */
  const grantAccess = async (request: FastifyRequest, appId: string, body: AppPortalAccessIn): Promise<{ url: string; token: string }> => {
    requireAdmin(request);
    // Idempotency would keep the response, token included, in the database: the key is forgotten instead,
    // so a repeat gets a token of its own (tokens exist nowhere but in responses).
    const idempotency = request.idempotency;
    request.idempotency = null;
    try {
      const owner = await portalApp(request, appId, body.application ?? null);
      const { token } = await createPortalToken(store, {
        appId: owner.id,
        nowMs: clock(),
        expiresInMs: (body.expiry ?? PORTAL_EXPIRY_DEFAULT_S) * 1000,
        readOnly: body.readOnly === true || (body.capabilities != null && body.capabilities.every((c) => READ_CAPABILITIES.has(c))),
        // As in Svix, a token asked for without capabilities gets them all: a portal for the application's customer,
        // who manages endpoints, never an application key (it may not send messages, change the application, expunge
        // content or manage sources).
        capabilities: body.capabilities ?? [...PORTAL_CAPABILITIES],
      });
      return { url: `${publicBaseUrl(request, config.publicUrl)}/portal/#token=${encodeURIComponent(token)}`, token };
    } finally {
      if (idempotency) await store.finishIdempotent(idempotency.scope, idempotency.key, null);
    }
  };

  app.post(
    '/api/v1/auth/app-portal-access/:app_id',
    {
      schema: {
        tags,
        summary: "A token for one application's app portal",
        description:
          'Needs an admin key. Answers a bearer token scoped to the application that expires after `expiry` seconds (default 7 days); with readOnly it may only read, and it may do only what its `capabilities` name (each enforced per route; all of them when none are given, as in Svix, which grant no message sending, application change, expunge or source management). ' +
          'With `application`, an application that does not exist yet is created (its uid is the path value). ' +
          'The url is `<HOOKD_PUBLIC_URL>/portal/#token=<token>` (default: this request\'s own host): it opens the app portal signed in (the token stays in the fragment, which browsers never send). ' +
          'Theme parameters may be appended to its fragment: `&accent=%23rrggbb&theme=light|dark|auto&logo=<https URL>`. ' +
          'Tokens are never stored: a repeat with the same idempotency-key gets a new token.',
        params: AppParams,
        body: Type.Optional(AppPortalAccessIn),
        response: { 200: AppPortalAccessOut, ...adminErrorResponses },
      },
    },
    async (request) => grantAccess(request, request.params.app_id, request.body ?? {}),
  );

  app.post(
    '/api/v1/auth/dashboard-access/:app_id',
    {
      schema: {
        tags,
        summary: 'A token for the app portal (deprecated: use app-portal-access)',
        description:
          "Svix's older name for app-portal-access, which its JavaScript SDK 1.x still calls (authentication.dashboardAccess): the same token and url, with the defaults (7 days, every capability). Needs an admin key.",
        params: AppParams,
        response: { 200: AppPortalAccessOut, ...adminErrorResponses },
      },
    },
    async (request) => grantAccess(request, request.params.app_id, {}),
  );

  app.post(
    '/api/v1/auth/app/:app_id/expire-all',
    {
      schema: {
        tags,
        summary: "Expire every app-portal token of an application",
        description:
          "Svix's expire-all (authentication.expireAll in its SDKs). Needs an admin key. Every app-portal token of the application expires `expiry` seconds from now (default: at once) or when it would have, if sooner: " +
          'its next request is refused (401, the token has expired) in this process at once and in every other within a second. API keys, scoped or not, are untouched (revoke those with DELETE /api/v1/api-key/{key_id}).',
        params: AppParams,
        body: Type.Optional(ApplicationTokenExpireIn),
        response: { 204: Type.Null(), ...adminErrorResponses },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const owner = await resolveApp(request, request.params.app_id);
      await store.expirePortalTokens(owner.id, clock() + (request.body?.expiry ?? 0) * 1000);
      request.server.forgetApiKeys();
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/auth/app-portal-session',
    {
      config: { capability: 'always' },
      schema: {
        tags,
        summary: 'Whose app-portal token this is (hookd extension)',
        description:
          'For a token scoped to one application (an app-portal token or a scoped API key): the application, whether the token is read-only, when it expires, and the portal theme set in the application\'s metadata. Admin keys belong to no application: 403.',
        response: { 200: AppPortalSessionOut, 401: ErrorOut, 403: ErrorOut },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      if (principal.appId === null) throw new HookdError('HOOKD_ERR_FORBIDDEN', 'an admin key belongs to no one application: the app portal needs a token from POST /api/v1/auth/app-portal-access/{app_id}');
      const owner = await store.getApp(principal.appId);
      if (!owner) throw notFound('application');
      return {
        app: { id: owner.id, ...(owner.uid ? { uid: owner.uid } : {}), name: owner.name },
        readOnly: principal.readOnly,
        capabilities: principal.capabilities ?? [...PORTAL_CAPABILITIES],
        expiresAt: principal.expiresAt === null ? null : new Date(principal.expiresAt).toISOString(),
        theme: themeOf(owner.metadata),
      };
    },
  );

  app.post(
    '/api/v1/auth/logout',
    {
      config: { capability: 'always' },
      schema: {
        tags,
        summary: 'End the presenting app-portal token',
        description: 'The token of this request is refused (401) from its next request on, in every hookd process within a second. Only app-portal tokens log out (403 for API keys: revoke those with DELETE /api/v1/api-key/{key_id}).',
        response: { 204: Type.Null(), 401: ErrorOut, 403: ErrorOut },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (!isPortalToken(principal)) {
        throw new HookdError('HOOKD_ERR_FORBIDDEN', 'only app-portal tokens log out; revoke an API key with DELETE /api/v1/api-key/{key_id}');
      }
      await store.revokeApiKey(principal.keyId, clock());
      request.server.forgetApiKeys();
      return reply.code(204).send(null);
    },
  );
}

/** The app-portal keys an application's metadata may set: its portal's defaults, overridden by URL parameters. */
const THEME_KEYS = { accent: 'portal.accent', logo: 'portal.logo', theme: 'portal.theme' } as const;

const AppPortalSessionOut = Type.Object(
  {
    app: Type.Object({ id: Type.String(), uid: Type.Optional(Type.String()), name: Type.String() }),
    readOnly: Type.Boolean({ description: 'The token may only read (GET)' }),
    capabilities: Type.Array(Type.String(), {
      description: 'The Svix capabilities the token has: those it was given and those they include (ManageEndpointSecret includes ViewEndpointSecret), else all; read-only: only the read ones. The portal shows a control when its capability is listed.',
    }),
    expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the token stops working; null: an API key that does not expire' }),
    theme: Type.Object(
      {
        accent: Type.Optional(Type.String()),
        logo: Type.Optional(Type.String()),
        theme: Type.Optional(Type.String()),
      },
      { description: "The application's metadata `portal.accent`, `portal.logo`, `portal.theme` as stored (the portal validates them)" },
    ),
  },
  { $id: 'AppPortalSessionOut' },
);

/** The portal's defaults from an application's metadata: only the keys that are set. */
function themeOf(metadata: Record<string, string>): Record<string, string> {
  const theme: Record<string, string> = {};
  for (const [name, key] of Object.entries(THEME_KEYS)) {
    const value = metadata[key];
    if (typeof value === 'string' && value.length > 0) theme[name] = value;
  }
  return theme;
}

/** The application named in the path, created from `inline` (with the path value as its uid) when it does not exist. */
async function portalApp(request: FastifyRequest, appIdOrUid: string, inline: AppPortalAccessIn['application']): Promise<App> {
  const { store, clock } = request.server.hookd;
  if (!inline || (await store.getApp(appIdOrUid))) return resolveApp(request, appIdOrUid);
  if (!isUidPath(appIdOrUid, 'app')) throw notFound('application');
  if (inline.uid != null && inline.uid !== appIdOrUid) {
    throw validationError(['body', 'application', 'uid'], 'the application uid in the path and in the body must match', 'application_uid_mismatch');
  }
  const created = newApp(inline, clock(), appIdOrUid);
  await store.createApp(created);
  return created;
}

/** Where users reach hookd: HOOKD_PUBLIC_URL, else this request's own protocol and host. */
function publicBaseUrl(request: FastifyRequest, configured: string | null): string {
  return configured ?? `${request.protocol}://${request.host}`;
}
