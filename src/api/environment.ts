import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { validationError } from '../domain/errors.js';
import type { EventTypeChange } from '../store/store.js';
import { requireAdmin } from './context.js';
import { eventTypeFromBody, everyEventType } from './event-types.js';
import { EnvironmentIn, EnvironmentOut, adminErrorResponses } from './schemas.js';
import { eventTypeOut } from './wire.js';

const tags = ['Environment'];
/** The version of the export's format (Svix's EnvironmentOut.version). */
const ENVIRONMENT_VERSION = 1;

/**
 * Svix's environment export and import (svix `environment.export` / `.import`): what is configured for every
 * application, which in hookd is the event type catalog. An export from Svix imports here, and one from hookd there:
 * the way to move a catalog between the two, or between two hookd deployments. Admin keys only.
 */
export async function environmentRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, clock } = fastify.hookd;

  app.post(
    '/api/v1/environment/export',
    {
      schema: {
        tags,
        summary: 'Export the event type catalog',
        description: 'Every event type, archived ones included, as Svix exports an environment. hookd has no organisation settings or connectors: `settings` is null and `connectors` empty.',
        response: { 200: EnvironmentOut, ...adminErrorResponses },
      },
    },
    async (request) => {
      requireAdmin(request);
      const eventTypes = await everyEventType(store, true);
      return { version: ENVIRONMENT_VERSION, createdAt: new Date(clock()).toISOString(), eventTypes: eventTypes.map(eventTypeOut), settings: null, connectors: [] };
    },
  );

  app.post(
    '/api/v1/environment/import',
    {
      schema: {
        tags,
        summary: 'Import event types',
        description:
          'Creates the event types given, and updates those that exist (description, schemas, archived, deprecated, feature flag, group): nothing is deleted, as in Svix. `settings` (Svix organisation settings) is ignored; connectors, which hookd does not have, are a 422.',
        body: EnvironmentIn,
        response: { 204: { type: 'null' }, ...adminErrorResponses },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const { eventTypes, connectors } = request.body;
      if (connectors && connectors.length > 0) throw validationError(['body', 'connectors'], 'hookd has no connectors (transformation templates): import without them');
      const now = clock();
      // A name given twice takes its last entry, as when each was written in turn.
      const changes = new Map<string, EventTypeChange>();
      for (const body of eventTypes ?? []) {
        const existing = await store.getEventType(body.name);
        changes.set(body.name, { eventType: eventTypeFromBody(existing ?? { name: body.name, createdAt: now }, body, now), created: !existing });
      }
      // One transaction: the catalog is imported whole or not at all.
      await store.saveEventTypes([...changes.values()]);
      return reply.code(204).send(null);
    },
  );
}
