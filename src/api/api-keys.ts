import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { createApiKey } from '../auth/api-keys.js';
import { conflict, notFound } from '../domain/errors.js';
import { requireAdmin, resolveApp } from './context.js';
import { ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut, ListOf, adminErrorResponses } from './schemas.js';
import { apiKeyOut } from './wire.js';

const tags = ['API Key'];
const KeyParams = Type.Object({ key_id: Type.String({ minLength: 1, maxLength: 256 }) });
const description = 'hookd extension (Svix has no equivalent); needs an admin key.';

/** API key management over REST (the CLI's `hookd apikey` as routes). Admin keys only. */
export async function apiKeyRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock } = fastify.hookd;

  // Revocations run one at a time in this process, so two concurrent requests cannot both pass the
  // last-admin-key check and leave no admin key. (API processes sharing PostgreSQL are not serialised.)
  let revocations: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(task: () => Promise<T>): Promise<T> => {
    const run = revocations.then(task, task);
    revocations = run.catch(() => undefined);
    return run;
  };

  app.get(
    '/api/v1/api-key',
    { schema: { tags, summary: 'List API keys (never their tokens)', description, response: { 200: ListOf(ApiKeyOut), ...adminErrorResponses } } },
    async (request) => {
      requireAdmin(request);
      return { data: (await store.listApiKeys()).map(apiKeyOut), iterator: null, prevIterator: null, done: true };
    },
  );

  app.post(
    '/api/v1/api-key',
    {
      schema: {
        tags,
        summary: 'Create an API key',
        description: `${description} With appId (an application id or uid) the key is scoped to that application; without, it is an admin key. The token is in this response only.`,
        body: ApiKeyIn,
        response: { 201: ApiKeyCreatedOut, ...adminErrorResponses },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const { name, appId } = request.body;
      const scopedTo = appId == null ? null : (await resolveApp(request, appId)).id;
      // The idempotency cache keeps responses in the database: store this one without the token, which must
      // exist nowhere but in this response. A repeat then replays the key without its token.
      const idempotency = request.idempotency;
      request.idempotency = null;
      let created: Awaited<ReturnType<typeof createApiKey>>;
      try {
        created = await createApiKey(store, { appId: scopedTo, name, nowMs: clock() });
      } catch (error) {
        if (idempotency) await store.finishIdempotent(idempotency.scope, idempotency.key, null);
        throw error;
      }
      if (idempotency) await store.finishIdempotent(idempotency.scope, idempotency.key, { status: 201, body: JSON.stringify(apiKeyOut(created.key)) });
      return reply.code(201).send({ ...apiKeyOut(created.key), token: created.token });
    },
  );

  app.delete(
    '/api/v1/api-key/:key_id',
    {
      schema: {
        tags,
        summary: 'Revoke an API key',
        description: `${description} A revoked key is refused (401) from its next request on. The last active admin key cannot be revoked (409).`,
        params: KeyParams,
        response: { 204: Type.Null(), ...adminErrorResponses },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      await oneAtATime(async () => {
        const keys = await store.listApiKeys();
        const target = keys.find((k) => k.id === request.params.key_id && k.revokedAt === null);
        if (!target) throw notFound('active API key');
        const otherAdmins = keys.filter((k) => k.appId === null && k.revokedAt === null && k.id !== target.id);
        if (target.appId === null && otherAdmins.length === 0) {
          throw conflict('this is the last active admin API key; create another admin key before revoking it, or nobody could administer hookd');
        }
        if (!(await store.revokeApiKey(target.id, clock()))) throw notFound('active API key');
        request.server.forgetApiKeys();
      });
      return reply.code(204).send(null);
    },
  );
}
