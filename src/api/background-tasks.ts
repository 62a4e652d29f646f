import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { BackgroundTask, Endpoint } from '../domain/types.js';
import { DEFAULT_LIMIT } from '../store/paging.js';
import type { Store } from '../store/store.js';
import { BackgroundTaskListQuery, BackgroundTaskOut, ListOf, errorResponses } from './schemas.js';
import { backgroundTaskOut, pageOut } from './wire.js';

const tags = ['Background Task'];
const TaskParams = Type.Object({ task_id: Type.String({ minLength: 1, maxLength: 256 }) });
const description =
  "Recoveries, replays, bulk replays and expunge-all-contents. hookd runs each before it answers, so each task is 'finished' when its id is first seen; they are kept as long as messages (HOOKD_RETENTION). An application-scoped key sees its application's tasks only.";

/**
 * Records a task that has just run, as Svix's background task: the SDKs answer a recover, a replay or an
 * expunge-all-contents with the task's id, and a caller may poll it (`backgroundTask.get`) until it is finished.
 */
export async function recordFinishedTask(store: Store, appId: string, task: BackgroundTask['task'], data: Record<string, unknown>, now: number): Promise<BackgroundTask> {
  const record: BackgroundTask = { id: newId('qtask', now), appId, task, status: 'finished', data: { ...data, appId }, updatedAt: now };
  await store.saveBackgroundTask(record);
  return record;
}

/** What an endpoint's task (a recovery or a replay) records: Svix's messagesSent, the endpoint and the window. */
export function endpointTaskData(endpoint: Endpoint, window: { since: number; until: number }, messagesSent: number): Record<string, unknown> {
  return { messagesSent, endpointId: endpoint.id, since: new Date(window.since).toISOString(), until: new Date(window.until).toISOString() };
}

/** A task's answer to the request that ran it (Svix's RecoverOut, ReplayOut, ExpungeAllContentsOut): the task without its data. */
export function taskOut(task: BackgroundTask): Omit<ReturnType<typeof backgroundTaskOut>, 'data'> {
  const { data: _data, ...fields } = backgroundTaskOut(task);
  return fields;
}

/** Svix's background tasks: GET one by id, or list them (`svix.backgroundTask.get` / `.list`). */
export async function backgroundTaskRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store } = fastify.hookd;
  /** An application-scoped key sees its own application's tasks; an admin key every one. */
  const scopeOf = (request: FastifyRequest): string | null => request.principal?.appId ?? null;

  app.get(
    '/api/v1/background-task',
    {
      schema: {
        tags,
        summary: 'List background tasks (newest first)',
        description,
        querystring: BackgroundTaskListQuery,
        response: { 200: ListOf(BackgroundTaskOut), ...errorResponses },
      },
    },
    async (request) => {
      const { status, task, limit, iterator, order } = request.query;
      const page = await store.listBackgroundTasks({ appId: scopeOf(request), status, task }, { limit: limit ?? DEFAULT_LIMIT, iterator, order });
      return pageOut(page, backgroundTaskOut);
    },
  );

  app.get(
    '/api/v1/background-task/:task_id',
    {
      schema: { tags, summary: 'Get a background task', description, params: TaskParams, response: { 200: BackgroundTaskOut, ...errorResponses } },
    },
    async (request) => {
      const found = await store.getBackgroundTask(request.params.task_id, scopeOf(request));
      if (!found) throw notFound('background task');
      return backgroundTaskOut(found);
    },
  );
}
