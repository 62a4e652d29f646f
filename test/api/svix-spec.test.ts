import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Ajv, type ErrorObject } from 'ajv';
import { ApiClient, eventually, startTestHookd, type ApiResponse, type TestHookd } from '../helpers/hookd.js';
import { freshDatabase, testDatabaseUrl } from '../helpers/process.js';
import { Receiver } from '../helpers/receiver.js';

/**
 * Every operation of Svix's open-source server spec (test/fixtures/svix-server-openapi.json, hookd's compatibility
 * target), called against a real hookd with valid parameters: each must answer one of the 2xx statuses the spec
 * declares, with a body of the shape the spec declares (validated against the spec's own response schema). One
 * run names every operation that fails, and what is wrong with it. It runs on SQLite and on PostgreSQL.
 */

interface SpecOperation {
  operationId?: string;
  responses?: Record<string, { content?: { 'application/json'?: { schema: unknown } } }>;
}
interface Spec {
  paths: Record<string, Record<string, SpecOperation>>;
  components: unknown;
}

const spec = JSON.parse(readFileSync(new URL('../fixtures/svix-server-openapi.json', import.meta.url), 'utf8')) as Spec;
const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);
const specOperations = Object.entries(spec.paths).flatMap(([path, operations]) =>
  Object.entries(operations)
    .filter(([method]) => METHODS.has(method))
    .map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, operation })),
);

/** The spec declares no response for the two expunge operations; Svix's server answers them 204. */
const UNDECLARED_STATUSES: Record<string, number[]> = {
  'DELETE /api/v1/app/{app_id}/msg/{msg_id}/content': [204],
  'DELETE /api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}/content': [204],
};

/**
 * Answers hookd gives instead of the spec's, deliberately: rotating a secret answers the new secret (200
 * EndpointSecretOut), as Svix's API does today and as the Python SDK 2.x requires (it parses the body); the
 * spec's server answered 204.
 */
const OTHER_ANSWERS: Record<string, { status: number; schema: unknown }> = {
  'POST /api/v1/app/{app_id}/endpoint/{endpoint_id}/secret/rotate': { status: 200, schema: { $ref: '#/components/schemas/EndpointSecretOut' } },
};

/**
 * Where hookd knowingly answers beyond the spec, by operation and JSON pointer: a recover is done when it is
 * answered, so its status is "finished" (a BackgroundTaskStatus the SDKs know; the server's spec lists only
 * "running").
 */
const KNOWN_DEVIATIONS: Record<string, string[]> = {
  'POST /api/v1/app/{app_id}/endpoint/{endpoint_id}/recover': ['/status'],
};

const EVENT_TYPE = 'walk.example';
const EXAMPLE = { walk: 'example', amount: 42 };

interface Step {
  key: string;
  body?: unknown;
  /** Sent with this token instead of the admin's. */
  token?: () => string;
  /** Runs after a 2xx answer (keeps what later steps need). */
  then?: (response: ApiResponse) => Promise<void> | void;
}

/** The walk, in an order where each operation finds what it needs; deletions last. */
function steps(receiverUrl: string, ctx: { attemptId: string; portalToken: string; hookd: TestHookd }): Step[] {
  const app = '/api/v1/app/{app_id}';
  const ep = `${app}/endpoint/{endpoint_id}`;
  const msg = `${app}/msg/{msg_id}`;
  return [
    { key: 'GET /api/v1/health' },
    { key: 'GET /api/v1/health/ping' },
    { key: 'POST /api/v1/event-type', body: { name: EVENT_TYPE, description: 'walked', schemas: { '1': { type: 'object', examples: [EXAMPLE] } } } },
    { key: 'GET /api/v1/event-type' },
    { key: 'GET /api/v1/event-type/{event_type_name}' },
    { key: 'PUT /api/v1/event-type/{event_type_name}', body: { description: 'walked again', schemas: { '1': { type: 'object', examples: [EXAMPLE] } } } },
    { key: 'PATCH /api/v1/event-type/{event_type_name}', body: { description: 'patched' } },
    { key: 'POST /api/v1/app', body: { name: 'walk', uid: 'walk-app' } },
    { key: 'GET /api/v1/app' },
    { key: `GET ${app}` },
    { key: `PUT ${app}`, body: { name: 'walk', uid: 'walk-app' } },
    { key: `PATCH ${app}`, body: { name: 'walk, patched' } },
    { key: `POST ${app}/endpoint`, body: { url: `${receiverUrl}/walk`, uid: 'walk-ep', eventTypes: [EVENT_TYPE] } },
    { key: `GET ${app}/endpoint` },
    { key: `GET ${ep}` },
    { key: `PUT ${ep}`, body: { url: `${receiverUrl}/walk`, uid: 'walk-ep', eventTypes: [EVENT_TYPE] } },
    { key: `PATCH ${ep}`, body: { description: 'patched' } },
    { key: `GET ${ep}/headers` },
    { key: `PUT ${ep}/headers`, body: { headers: { 'x-walk': '1' } } },
    { key: `PATCH ${ep}/headers`, body: { headers: { 'x-walk': '2' } } },
    { key: `GET ${ep}/secret` },
    { key: `POST ${ep}/secret/rotate`, body: {} },
    {
      key: `POST ${app}/msg`,
      body: { eventType: EVENT_TYPE, eventId: 'walk-msg', payload: { walk: 'message' } },
      then: async () => {
        ctx.attemptId = await eventually(
          async () => (await ctx.hookd.api.get('/api/v1/app/walk-app/attempt/msg/walk-msg')).body?.data?.[0]?.id as string | undefined,
          10_000,
          'an attempt of the walked message',
        );
      },
    },
    { key: `GET ${app}/msg` },
    { key: `GET ${msg}` },
    { key: `GET ${app}/attempt/msg/{msg_id}` },
    { key: `GET ${app}/attempt/endpoint/{endpoint_id}` },
    { key: `GET ${msg}/attempt/{attempt_id}` },
    { key: `GET ${msg}/endpoint` },
    { key: `GET ${ep}/msg` },
    { key: `GET ${ep}/stats` },
    { key: `POST ${ep}/send-example`, body: { eventType: EVENT_TYPE } },
    { key: `POST ${msg}/endpoint/{endpoint_id}/resend` },
    { key: `POST ${ep}/recover`, body: { since: new Date(Date.now() - 3_600_000).toISOString() } },
    {
      key: 'POST /api/v1/auth/app-portal-access/{app_id}',
      body: {},
      then: (response) => {
        ctx.portalToken = response.body.token as string;
      },
    },
    { key: 'POST /api/v1/auth/logout', token: () => ctx.portalToken },
    { key: `DELETE ${msg}/attempt/{attempt_id}/content` },
    { key: `DELETE ${msg}/content` },
    { key: `DELETE ${ep}` },
    { key: 'DELETE /api/v1/event-type/{event_type_name}' },
    { key: `DELETE ${app}` },
  ];
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: 'svix', components: spec.components });

/** Where the answer differs from the schema, as "pointer: message" lines (known deviations left out). */
function schemaProblems(key: string, schema: unknown, body: unknown): string[] {
  // The spec's $refs point into its own document: resolve them against the copy added as "svix".
  const validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"svix#/components/')) as object);
  if (validate(body)) return [];
  const allowed = KNOWN_DEVIATIONS[key] ?? [];
  return (validate.errors ?? [])
    .filter((e: ErrorObject) => !allowed.includes(e.instancePath))
    .map((e: ErrorObject) => `${e.instancePath || '/'}: ${e.message}${e.params && 'missingProperty' in e.params ? '' : ` (${JSON.stringify(e.params)})`}`);
}

/** What is wrong with one operation's answer, or nothing. */
function problemsOf(key: string, operation: SpecOperation, response: ApiResponse): string[] {
  const other = OTHER_ANSWERS[key];
  const declared = Object.keys(operation.responses ?? {}).filter((code) => code.startsWith('2'));
  const statuses = other ? [other.status] : declared.length > 0 ? declared.map(Number) : (UNDECLARED_STATUSES[key] ?? []);
  if (!statuses.includes(response.status)) return [`answered ${response.status} (expected ${statuses.join(' or ')}): ${JSON.stringify(response.body)}`];
  const schema = other ? other.schema : operation.responses?.[String(response.status)]?.content?.['application/json']?.schema;
  if (!schema) return response.body === null ? [] : [`a ${response.status} with a body: ${JSON.stringify(response.body)}`];
  return schemaProblems(key, schema, response.body);
}

for (const adapter of ['sqlite', 'postgres'] as const) {
  describe(`every operation of Svix's server spec (${adapter})`, () => {
    let hookd: TestHookd & { cleanup: () => Promise<void> };
    let receiver: Receiver;
    let database: Awaited<ReturnType<typeof freshDatabase>> | undefined;

    before(async () => {
      receiver = await Receiver.start();
      if (adapter === 'postgres') database = await freshDatabase(testDatabaseUrl(), 'svixspec');
      hookd = await startTestHookd({ env: database ? { DATABASE_URL: database.url } : {} });
    });

    after(async () => {
      await hookd?.cleanup();
      await receiver?.close();
      await database?.drop();
    });

    test('each answers a declared 2xx with the declared shape', async () => {
      assert.equal(specOperations.length, 41, 'the fixture is the 41-operation spec');
      const ctx = { attemptId: '', portalToken: '', hookd };
      const walk = steps(receiver.url, ctx);
      assert.deepEqual(walk.map((s) => s.key).sort(), specOperations.map((o) => o.key).sort(), 'the walk covers every operation of the spec once');
      const params = (): Record<string, string> => ({
        app_id: 'walk-app',
        endpoint_id: 'walk-ep',
        msg_id: 'walk-msg',
        attempt_id: ctx.attemptId,
        event_type_name: EVENT_TYPE,
      });
      const problems: string[] = [];
      for (const step of walk) {
        const [method, template] = step.key.split(' ') as [string, string];
        const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params()[name]!));
        const client = step.token ? new ApiClient(hookd.url, step.token()) : hookd.api;
        const response = await client.request(method, path, step.body);
        const operation = specOperations.find((o) => o.key === step.key)!.operation;
        const found = problemsOf(step.key, operation, response);
        problems.push(...found.map((p) => `${step.key}: ${p}`));
        if (found.length === 0) await step.then?.(response);
      }
      assert.deepEqual(problems, []);
    });
  });
}
