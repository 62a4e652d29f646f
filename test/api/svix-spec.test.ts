import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Ajv, type ErrorObject } from 'ajv';
import { ApiClient, eventually, startTestHookd, type ApiResponse, type TestHookd } from '../helpers/hookd.js';
import { freshDatabase, testDatabaseUrl } from '../helpers/process.js';
import { Receiver } from '../helpers/receiver.js';

/**
 * Every operation of Svix's open-source server spec (hookd's compatibility target), called against a real hookd with
 * valid parameters, on SQLite and on PostgreSQL: each must answer the 2xx status the walk expects. When Svix's spec
 * itself can be read (it is reference data beside the project, `../shared/reference/svix-server-openapi.json`, never
 * copied into it; or HOOKD_SVIX_SPEC), the walk must also cover exactly its operations, each status must be one the
 * spec declares, and each body must match the spec's own response schema. One run names every operation that fails,
 * and what is wrong with it.
 */

interface SpecOperation {
  operationId?: string;
  responses?: Record<string, { content?: { 'application/json'?: { schema: unknown } } }>;
}
interface Spec {
  paths: Record<string, Record<string, SpecOperation>>;
  components: unknown;
}

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SPEC_PATH = join('shared', 'reference', 'svix-server-openapi.json');

/**
 * Where Svix's spec is: HOOKD_SVIX_SPEC, or beside this repository, or beside the repository this one was cloned
 * from (a fresh clone of the project in a temp dir).
 */
function specCandidates(): string[] {
  const candidates = [process.env.HOOKD_SVIX_SPEC, join(REPO, '..', SPEC_PATH)];
  try {
    const origin = execFileSync('git', ['config', '--get', 'remote.origin.url'], { cwd: REPO, encoding: 'utf8' }).trim();
    if (isAbsolute(origin)) candidates.push(join(origin, '..', SPEC_PATH));
  } catch {
    // Not a clone, or no git: the other places only.
  }
  return candidates.filter((c): c is string => typeof c === 'string' && c.length > 0);
}
const specFile = specCandidates().find((candidate) => existsSync(candidate)) ?? null;
const spec = specFile ? (JSON.parse(readFileSync(specFile, 'utf8')) as Spec) : null;
const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);
const specOperations = Object.entries(spec?.paths ?? {}).flatMap(([path, operations]) =>
  Object.entries(operations)
    .filter(([method]) => METHODS.has(method))
    .map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, operation })),
);

/**
 * The 41 operations of Svix's server spec and the answer each must get in this walk (an upsert of something that
 * exists: 200). With the spec at hand, the test checks this list against it.
 */
const WALK_STATUS: Record<string, number> = {
  'GET /api/v1/health': 204,
  'GET /api/v1/health/ping': 204,
  'POST /api/v1/event-type': 201,
  'GET /api/v1/event-type': 200,
  'GET /api/v1/event-type/{event_type_name}': 200,
  'PUT /api/v1/event-type/{event_type_name}': 200,
  'PATCH /api/v1/event-type/{event_type_name}': 200,
  'DELETE /api/v1/event-type/{event_type_name}': 204,
  'POST /api/v1/app': 201,
  'GET /api/v1/app': 200,
  'GET /api/v1/app/{app_id}': 200,
  'PUT /api/v1/app/{app_id}': 200,
  'PATCH /api/v1/app/{app_id}': 200,
  'DELETE /api/v1/app/{app_id}': 204,
  'POST /api/v1/app/{app_id}/endpoint': 201,
  'GET /api/v1/app/{app_id}/endpoint': 200,
  'GET /api/v1/app/{app_id}/endpoint/{endpoint_id}': 200,
  'PUT /api/v1/app/{app_id}/endpoint/{endpoint_id}': 200,
  'PATCH /api/v1/app/{app_id}/endpoint/{endpoint_id}': 200,
  'DELETE /api/v1/app/{app_id}/endpoint/{endpoint_id}': 204,
  'GET /api/v1/app/{app_id}/endpoint/{endpoint_id}/headers': 200,
  'PUT /api/v1/app/{app_id}/endpoint/{endpoint_id}/headers': 204,
  'PATCH /api/v1/app/{app_id}/endpoint/{endpoint_id}/headers': 204,
  'GET /api/v1/app/{app_id}/endpoint/{endpoint_id}/secret': 200,
  'POST /api/v1/app/{app_id}/endpoint/{endpoint_id}/secret/rotate': 200,
  'GET /api/v1/app/{app_id}/endpoint/{endpoint_id}/msg': 200,
  'GET /api/v1/app/{app_id}/endpoint/{endpoint_id}/stats': 200,
  'POST /api/v1/app/{app_id}/endpoint/{endpoint_id}/send-example': 200,
  'POST /api/v1/app/{app_id}/endpoint/{endpoint_id}/recover': 202,
  'POST /api/v1/app/{app_id}/msg': 202,
  'GET /api/v1/app/{app_id}/msg': 200,
  'GET /api/v1/app/{app_id}/msg/{msg_id}': 200,
  'DELETE /api/v1/app/{app_id}/msg/{msg_id}/content': 204,
  'GET /api/v1/app/{app_id}/msg/{msg_id}/endpoint': 200,
  'POST /api/v1/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend': 202,
  'GET /api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}': 200,
  'DELETE /api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}/content': 204,
  'GET /api/v1/app/{app_id}/attempt/msg/{msg_id}': 200,
  'GET /api/v1/app/{app_id}/attempt/endpoint/{endpoint_id}': 200,
  'POST /api/v1/auth/app-portal-access/{app_id}': 200,
  'POST /api/v1/auth/logout': 204,
};

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
if (spec) ajv.addSchema({ $id: 'svix', components: spec.components });

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
function problemsOf(key: string, response: ApiResponse): string[] {
  const expected = WALK_STATUS[key]!;
  if (response.status !== expected) return [`answered ${response.status} (expected ${expected}): ${JSON.stringify(response.body)}`];
  if (!spec) return response.status === 204 || response.body !== null ? [] : ['no body'];
  const operation = specOperations.find((o) => o.key === key)?.operation;
  if (!operation) return ['not an operation of the spec'];
  const other = OTHER_ANSWERS[key];
  const declared = Object.keys(operation.responses ?? {}).filter((code) => code.startsWith('2'));
  const statuses = other ? [other.status] : declared.length > 0 ? declared.map(Number) : (UNDECLARED_STATUSES[key] ?? []);
  if (!statuses.includes(response.status)) return [`answered ${response.status}, which the spec does not declare (${statuses.join(' or ')})`];
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

    test('each answers a declared 2xx with the declared shape', async (t) => {
      if (spec) assert.deepEqual(Object.keys(WALK_STATUS).sort(), specOperations.map((o) => o.key).sort(), `the walk's list is the spec's operations (${specFile})`);
      else t.diagnostic(`Svix's spec not found (looked at ${specCandidates().join(', ')}): answers checked against the walk's list, shapes not`);
      const ctx = { attemptId: '', portalToken: '', hookd };
      const walk = steps(receiver.url, ctx);
      assert.deepEqual(walk.map((s) => s.key).sort(), Object.keys(WALK_STATUS).sort(), 'the walk covers every operation once');
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
        const found = problemsOf(step.key, response);
        problems.push(...found.map((p) => `${step.key}: ${p}`));
        if (found.length === 0) await step.then?.(response);
      }
      assert.deepEqual(problems, []);
    });
  });
}
