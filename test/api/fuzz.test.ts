import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { TEST_TOKEN, eventually, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { freshDatabase, testDatabaseUrl } from '../helpers/process.js';
import { jsonErrorProblem, rawHttp, rawRequest, type RawResponse } from '../helpers/raw.js';
import { Receiver } from '../helpers/receiver.js';
import { apiRoutes, fillPath, type ApiRoute } from '../helpers/routes.js';

/**
 * Hostile input, fuzz style: thousands of malformed, oversized, deeply nested, wrong-content-type and
 * unicode-heavy requests to every documented operation (from hookd's own OpenAPI document), to the non-API
 * URLs and to unknown URLs. Every case is built to be invalid for its route, so the answer must be a 4xx JSON
 * `{code, detail}` (the expected status is checked too); the one exception is a message whose payload nests
 * deeply but within the limit, which may be accepted and must then be stored and delivered intact.
 * Afterwards the messages accepted before (and during) the barrage are all retrievable and delivered, the
 * server still answers, and it sent no 5xx. The barrage runs against SQLite and against PostgreSQL: what one
 * store takes and the other refuses with an error (U+0000 in text) is found either way.
 *
 * Deterministic per seed: `npm test` uses a fixed seed, so a run on a clean checkout is reproducible;
 * HOOKD_FUZZ_SEED=random explores a new one (printed), HOOKD_FUZZ_SEED=<n> replays a run, HOOKD_FUZZ_CASES=<n>
 * sets its size and HOOKD_FUZZ_ONLY=<i,j,...> runs only the listed cases of that run.
 */

const SEED = process.env.HOOKD_FUZZ_SEED === 'random' ? randomInt(2 ** 31) : Number(process.env.HOOKD_FUZZ_SEED ?? 20261123);
/** Cases per store adapter (the barrage runs against SQLite and against PostgreSQL). */
const CASES = Number(process.env.HOOKD_FUZZ_CASES ?? 2000);
const ONLY = process.env.HOOKD_FUZZ_ONLY ? new Set(process.env.HOOKD_FUZZ_ONLY.split(',').map(Number)) : null;
const BODY_LIMIT = 65536;
/** hookd's MAX_JSON_DEPTH (src/api/json-body.ts), restated: the test states the contract. */
const MAX_DEPTH = 128;
const CONCURRENCY = 16;
const TIMEOUT_MS = 15_000;
const SLOW_MS = 5_000;

// ---- Deterministic randomness

type Rng = () => number;

/** mulberry32: small, fast, good enough to pick test cases. */
function prng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const caseRng = (index: number): Rng => prng(Math.imul(SEED ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35));
const int = (rng: Rng, below: number): number => Math.floor(rng() * below);
const pick = <T>(rng: Rng, items: readonly T[]): T => items[int(rng, items.length)]!;

/** Valid but awkward Unicode: RTL overrides, combining marks, ZWJ emoji, zero-width and line separators, astral. */
const AWKWARD = [
  '\u202e\u202dgnp.exe',
  '\u200f\u200e\u061c',
  'e\u0301\u0301\u0301\u0301a\u0308\u0336',
  '👩‍👩‍👧‍👦🏳️‍🌈🇺🇳',
  '\u200b\u200c\u200d\u2060\ufeff',
  '\u2028\u2029\u0085',
  'İıſK',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '中文ひらがな한국어',
  'Z̸̡̛̺͔͎̮̞a̷̧̛͓̙l̵̢̰̈g̶̱̈́o̷̢͝',
  '\ue000\uffff\u{10ffff}',
  'مرحبا بالعالم',
  '\u00a0\u3000\t',
];
function awkward(rng: Rng, pieces = 1 + int(rng, 4)): string {
  let out = '';
  for (let i = 0; i < pieces; i++) out += pick(rng, AWKWARD);
  return out;
}
/** An awkward string as HTTP header bytes (UTF-8 read as latin1, which fetch sends unchanged). */
const headerBytes = (text: string): string => Buffer.from(text.replace(/[\u0000-\u001f\u007f]/g, ''), 'utf8').toString('latin1');

// ---- Routes, as the OpenAPI document describes them

interface Schema {
  type?: string;
  nullable?: boolean;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: unknown[];
  anyOf?: Schema[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
}

/** Svix's health checks answer without a token. */
const PUBLIC_API_PATHS = new Set(['/api/v1/health', '/api/v1/health/ping']);

interface FuzzRoute extends ApiRoute {
  label: string;
  auth: boolean;
  query: { name: string; schema: Schema }[];
  body: Schema | null;
}

async function describeRoutes(hookdApp: NonNullable<TestHookd['app']>): Promise<FuzzRoute[]> {
  const document = await hookdApp.openApiDocument();
  const paths = document.paths as Record<string, Record<string, { parameters?: { in: string; name: string; schema: Schema }[]; requestBody?: { content?: Record<string, { schema: Schema }> } }>>;
  return apiRoutes(document).map((route) => {
    const operation = paths[route.path]![route.method.toLowerCase()]!;
    return {
      ...route,
      label: `${route.method} ${route.path}`,
      auth: route.path.startsWith('/api/') && !PUBLIC_API_PATHS.has(route.path),
      query: (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema })),
      body: operation.requestBody?.content?.['application/json']?.schema ?? null,
    };
  });
}

/** Every field a body schema names, nested objects, array items (index 0) and map values (key MAP_KEY) included. */
function fieldsOf(schema: Schema, path: (string | number)[] = []): { path: (string | number)[]; schema: Schema }[] {
  const out: { path: (string | number)[]; schema: Schema }[] = [];
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const at = [...path, name];
    out.push({ path: at, schema: field });
    if (field.properties) out.push(...fieldsOf(field, at));
    if (field.items?.type) out.push({ path: [...at, 0], schema: field.items });
    if (typeof field.additionalProperties === 'object' && field.additionalProperties.type) out.push({ path: [...at, MAP_KEY], schema: field.additionalProperties });
  }
  return out;
}

/** Stands for any key of a map (metadata, headers) until `concrete` picks one, line terminators included. */
const MAP_KEY = '\u0000map-key';
const concrete = (path: (string | number)[], rng: Rng): (string | number)[] =>
  path.map((part) => (part === MAP_KEY ? pick(rng, ['k', 'X-Fuzz', '', 'line\nfeed', 'carriage\rreturn', 'line\u2028separator', awkward(rng)]) : part));

function jsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}
const WRONG_VALUES: unknown[] = ['x', '1', 'true', '', 1.5, 42, -7, 0, true, false, [], ['x'], [1, 2], {}, { a: 1 }];
/** Values whose JSON type the schema does not allow (null excluded: hookd reads null as "not given"). */
function wrongValuesFor(schema: Schema): unknown[] {
  const types = new Set([schema.type, ...(schema.anyOf ?? []).map((s) => s.type)].filter((t): t is string => t !== undefined));
  if (types.size === 0) return [];
  return WRONG_VALUES.filter((value) => {
    const type = jsonType(value);
    return !(types.has(type) || (type === 'integer' && types.has('number')));
  });
}

function setPath(target: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let node: any = target;
  path.forEach((part, i) => {
    if (i === path.length - 1) node[part] = value;
    else {
      if (node[part] === undefined || node[part] === null || typeof node[part] !== 'object') node[part] = typeof path[i + 1] === 'number' ? [] : {};
      node = node[part];
    }
  });
}
function hasPath(target: unknown, path: (string | number)[]): boolean {
  let node: any = target;
  for (const part of path) {
    if (node === null || typeof node !== 'object' || !(part in node)) return false;
    node = node[part];
  }
  return true;
}

// ---- Cases

interface Case {
  index: number;
  route: string;
  generator: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Raw bytes for a TCP socket, for what fetch will not send. */
  socket?: Buffer;
  /** Acceptable statuses; any 4xx when absent. */
  statuses?: number[];
  /** The loc of the first 422 issue, when it is certain. */
  loc?: (string | number)[];
  /** Why this case may be accepted (2xx) instead. */
  mayAccept?: string;
  /** Sent without the test token (otherwise added unless the case sets its own Authorization). */
  anonymous?: boolean;
}

interface Context {
  ids: Record<string, string>;
  receiverUrl: string;
  port: number;
  methodsByPath: Map<string, Set<string>>;
}

type Draft = Omit<Case, 'index' | 'route' | 'generator'>;

interface Generator {
  name: string;
  appliesTo(route: FuzzRoute): boolean;
  make(route: FuzzRoute, rng: Rng, ctx: Context): Draft;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const hasBodySchema = (route: FuzzRoute): boolean => route.body !== null;
const takesBody = (route: FuzzRoute): boolean => BODY_METHODS.has(route.method);

/** A valid body per operation; the faults are added to it, so a 422 must point exactly at them. */
function validBody(route: FuzzRoute, ctx: Context): Record<string, unknown> | null {
  const bodies: Record<string, Record<string, unknown>> = {
    'POST /api/v1/app': { name: 'fuzz app' },
    'PUT /api/v1/app/{app_id}': { name: 'fuzz app' },
    'PATCH /api/v1/app/{app_id}': { name: 'fuzz app' },
    'POST /api/v1/app/{app_id}/endpoint': { url: `${ctx.receiverUrl}/other` },
    'PUT /api/v1/app/{app_id}/endpoint/{endpoint_id}': { url: `${ctx.receiverUrl}/hook` },
    'PATCH /api/v1/app/{app_id}/endpoint/{endpoint_id}': { description: 'fuzz' },
    'POST /api/v1/app/{app_id}/endpoint/{endpoint_id}/secret/rotate': {},
    'PUT /api/v1/app/{app_id}/endpoint/{endpoint_id}/headers': { headers: { 'x-fuzz': '1' } },
    'PATCH /api/v1/app/{app_id}/endpoint/{endpoint_id}/headers': { headers: { 'x-fuzz': '1' } },
    'POST /api/v1/app/{app_id}/endpoint/{endpoint_id}/recover': { since: '2020-01-01T00:00:00Z' },
    'POST /api/v1/app/{app_id}/endpoint/{endpoint_id}/replay-missing': { since: '2020-01-01T00:00:00Z' },
    'POST /api/v1/app/{app_id}/endpoint/{endpoint_id}/bulk-replay': { since: '2020-01-01T00:00:00Z', status: 2, eventTypes: ['fuzz.event'] },
    'POST /api/v1/app/{app_id}/msg/precheck/active': { eventType: 'user.signup' },
    'POST /api/v1/app/{app_id}/msg/bulk-expunge': { ids: ['evt-none'] },
    'POST /api/v1/app/{app_id}/endpoint/{endpoint_id}/send-example': { eventType: 'svix.ping' },
    'POST /api/v1/auth/app-portal-access/{app_id}': { expiry: 3600 },
    'POST /api/v1/app/{app_id}/msg': { eventType: 'fuzz.event', payload: { ok: true } },
    'POST /api/v1/event-type': { name: 'fuzz.other', description: 'fuzz' },
    'POST /api/v1/environment/import': { eventTypes: [{ name: 'fuzz.environment', description: 'fuzz' }] },
    'POST /api/v1/event-type/import/openapi': { spec: { webhooks: { 'fuzz.imported': { post: { description: 'fuzz' } } } } },
    'POST /api/v1/operational-webhook/endpoint': { url: `${ctx.receiverUrl}/ops` },
    'PUT /api/v1/operational-webhook/endpoint/{endpoint_id}': { url: `${ctx.receiverUrl}/ops` },
    'POST /api/v1/operational-webhook/endpoint/{endpoint_id}/secret/rotate': {},
    'PUT /api/v1/operational-webhook/endpoint/{endpoint_id}/headers': { headers: { 'x-fuzz': '1' } },
    'PUT /api/v1/event-type/{event_type_name}': { description: 'fuzz' },
    'PATCH /api/v1/event-type/{event_type_name}': { description: 'fuzz' },
    // Inbound sources.
    'POST /api/v1/app/{app_id}/source': { name: 'fuzz source', verification: { scheme: 'hmac-sha256', secret: 'fuzz-secret-0123456789', header: 'x-fuzz-signature' }, eventType: { field: 'type' } },
    'PUT /api/v1/app/{app_id}/source/{source_id}': { name: 'fuzz source', verification: { scheme: 'hmac-sha256', prefix: '' }, eventType: { header: 'x-fuzz-event' } },
    'PATCH /api/v1/app/{app_id}/source/{source_id}': { name: 'fuzz source' },
  };
  const body = bodies[route.label];
  return body ? structuredClone(body) : null;
}

/** The path with the real ids (a fault elsewhere in the request must be what is refused). */
const realPath = (route: FuzzRoute, ctx: Context): string => fillPath(route, Object.fromEntries(route.params.map((p) => [p, ctx.ids[p] ?? `unknown~${p}`])));

/** An id that exists nowhere and cannot be created by PUT (a uid may only hold [a-zA-Z0-9-_.]). */
const bogusId = (rng: Rng): string => `${pick(rng, ['nope~', 'app_', 'ep_', 'msg_', ''])}${awkward(rng)}~`;

function jsonBody(value: unknown): { body: string; headers: Record<string, string> } {
  return { body: JSON.stringify(value), headers: { ...JSON_TYPE } };
}

/** The request as raw HTTP/1.1 bytes (Host and Connection: close added, Content-Length unless chunked). */
function httpBytes(method: string, target: string | Buffer, headers: [string, string][], body?: Buffer, chunked = false): Buffer {
  const head = [`${method} `, target, ' HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n'];
  for (const [name, value] of headers) head.push(`${name}: ${value}\r\n`);
  if (body && !chunked) head.push(`Content-Length: ${body.length}\r\n`);
  if (chunked) head.push('Transfer-Encoding: chunked\r\n');
  head.push('\r\n');
  const parts = head.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : part));
  if (body && chunked) {
    for (let at = 0; at < body.length; at += 8192) {
      const chunk = body.subarray(at, at + 8192);
      parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'), chunk, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
  } else if (body) parts.push(body);
  return Buffer.concat(parts);
}
const AUTH: [string, string] = ['Authorization', `Bearer ${TEST_TOKEN}`];

function nestedJson(kind: 'array' | 'object', levels: number): string {
  return kind === 'array' ? `${'['.repeat(levels)}1${']'.repeat(levels)}` : `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
}
const DEPTHS = [2, 50, 126, 127, 128, 129, 200, 1000, 3000, 5000, 8000, 10_000, 30_000, 100_000];

/** A body just over, or far over, the limit: the valid body padded by an unknown field. */
function oversized(base: Record<string, unknown>, target: number): string {
  const text = JSON.stringify({ ...base, padding: '' });
  return text.replace('"padding":""', `"padding":"${'x'.repeat(Math.max(0, target - text.length))}"`);
}

const MALFORMED: ((valid: string) => string | Buffer)[] = [
  (v) => v.slice(0, Math.max(1, v.length - 1 - (v.length >> 1))),
  (v) => `${v} trailing`,
  (v) => `${v}}`,
  () => '{"a": NaN}',
  () => '{"a": Infinity}',
  () => "{'name': 'single'}",
  () => '{"name": "x" /* comment */}',
  () => '// comment\n{}',
  (v) => `${v}\ufeff`,
  (v) => `\ufeff\ufeff${v}`,
  () => '{"name": "a\u0000b"}',
  (v) => `${v}\u0000`,
  () => '{"name": "line\nbreak"}',
  () => '{"name": "\\x41"}',
  () => '{"name": "\\u12"}',
  () => '{"a":1,}',
  () => '[1,2,]',
  () => '{name: "unquoted"}',
  () => '{"a": undefined}',
  () => '{"a": 0x10}',
  () => '{"a": 01}',
  () => '{"a": +1}',
  () => '{"a": .5}',
  () => '   \n\t  ',
  () => '{',
  () => ']]]]',
  () => '{"a":1}{"b":2}',
  () => '"unterminated',
  () => Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]), // overlong "/"
  () => Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), // UTF-8 encoded surrogate
  () => Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x80, 0x22, 0x7d]),
  () => Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe2, 0x82, 0x22, 0x7d]), // truncated sequence
  () => Buffer.from('{"name":"x"}', 'utf16le'),
];

const WRONG_CONTENT_TYPES = [
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'application/xml',
  'text/xml',
  'multipart/form-data; boundary=fuzz',
  'application/json; charset=utf-16',
  'application/json; charset=iso-8859-1',
  'application/json-patch+json',
  'application/jsonx',
  'application/json, text/plain',
  'text/json',
  'application/*',
  '*/*',
  'json',
  'application/octet-stream',
  '',
];

const generators: Generator[] = [
  {
    name: 'auth',
    appliesTo: (route) => route.auth,
    make(route, rng, ctx) {
      const base = validBody(route, ctx);
      const authorization = pick(rng, [
        null,
        'Bearer',
        'Bearer ',
        `Bearer ${TEST_TOKEN}x`,
        `Bearer ${TEST_TOKEN.slice(0, -1)}`,
        `Basic ${TEST_TOKEN}`,
        `Token ${TEST_TOKEN}`,
        `Bearer ${TEST_TOKEN} ${TEST_TOKEN}`,
        `Bearer ${'x'.repeat(8000)}`,
        `Bearer ${headerBytes(awkward(rng))}`,
        headerBytes(awkward(rng)),
      ]);
      const headers: Record<string, string> = base ? { ...JSON_TYPE } : {};
      if (authorization !== null) headers.authorization = authorization;
      return { method: route.method, path: realPath(route, ctx), headers, body: base ? JSON.stringify(base) : undefined, statuses: [401], anonymous: authorization === null };
    },
  },
  {
    name: 'malformed-json',
    appliesTo: takesBody,
    make(route, rng, ctx) {
      const valid = JSON.stringify(validBody(route, ctx) ?? { name: 'x' });
      const body = pick(rng, MALFORMED)(valid);
      return { method: route.method, path: realPath(route, ctx), headers: { ...JSON_TYPE }, body: typeof body === 'string' ? body : new Uint8Array(body), statuses: [400] };
    },
  },
  {
    name: 'wrong-type',
    appliesTo: hasBodySchema,
    make(route, rng, ctx) {
      const base = validBody(route, ctx);
      const fields = fieldsOf(route.body!).filter((f) => wrongValuesFor(f.schema).length > 0);
      if (fields.length === 0 || rng() < 0.2) {
        // The body itself of the wrong type.
        const body = pick(rng, ['[]', '"x"', '42', 'true', '[{"name":"a"}]', JSON.stringify([base ?? {}])]);
        return { method: route.method, path: realPath(route, ctx), headers: { ...JSON_TYPE }, body, statuses: [422], loc: ['body'] };
      }
      const field = pick(rng, fields);
      const fieldPath = concrete(field.path, rng);
      const body: Record<string, unknown> = base ?? {};
      const parentKnown = base !== null && hasPath(base, fieldPath.slice(0, -1));
      setPath(body, fieldPath, pick(rng, wrongValuesFor(field.schema)));
      return { method: route.method, path: realPath(route, ctx), ...jsonBody(body), statuses: [422], loc: parentKnown ? ['body', ...fieldPath] : undefined };
    },
  },
  {
    name: 'unknown-fields',
    appliesTo: hasBodySchema,
    make(route, rng, ctx) {
      const body: Record<string, unknown> = validBody(route, ctx) ?? {};
      const size = pick(rng, [100, 5000, 30_000, BODY_LIMIT]);
      const extra = pick(rng, ['string', 'many', 'awkward']);
      if (extra === 'string') body[`unknown_${awkward(rng)}`] = 'u'.repeat(size);
      else if (extra === 'many') for (let i = 0; i < size / 20; i++) body[`k${i}_${int(rng, 1e6)}`] = i;
      else body[awkward(rng, 8)] = awkward(rng, size / 50);
      // The unknown fields alone are ignored (as in Svix): one wrong type makes the request invalid.
      const fields = fieldsOf(route.body!).filter((f) => f.path.length === 1 && wrongValuesFor(f.schema).length > 0);
      const field = fields.length > 0 ? pick(rng, fields) : null;
      if (field) setPath(body, field.path, pick(rng, wrongValuesFor(field.schema)));
      const text = field ? JSON.stringify(body) : `[${JSON.stringify(body)}]`;
      return { method: route.method, path: realPath(route, ctx), headers: { ...JSON_TYPE }, body: text, statuses: Buffer.byteLength(text) > BODY_LIMIT ? [413] : [422] };
    },
  },
  {
    // Prototype keys are ordinary JSON keys (JSON.parse sets no prototype): beside one wrong-typed field the
    // request answers 422 exactly there, so validation read the body as written and nothing else changed.
    name: 'prototype-keys',
    appliesTo: hasBodySchema,
    make(route, rng, ctx) {
      const key = pick(rng, [
        '"__proto__":{"polluted":true}',
        '"constructor":{"prototype":{"polluted":true}}',
        '"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":true}',
        '"nested":{"deeper":{"__proto__":{"isAdmin":true}}}',
      ]);
      const base = validBody(route, ctx);
      const fields = fieldsOf(route.body!).filter((f) => f.path.length === 1 && wrongValuesFor(f.schema).length > 0);
      if (base === null || fields.length === 0) return { method: route.method, path: realPath(route, ctx), headers: { ...JSON_TYPE }, body: `[{${key}}]`, statuses: [422], loc: ['body'] };
      const field = pick(rng, fields);
      setPath(base, field.path, pick(rng, wrongValuesFor(field.schema)));
      const body = `{${key},${JSON.stringify(base).slice(1)}`;
      return { method: route.method, path: realPath(route, ctx), headers: { ...JSON_TYPE }, body, statuses: [422], loc: ['body', ...field.path] };
    },
  },
  {
    name: 'deep-nesting',
    appliesTo: hasBodySchema,
    make(route, rng, ctx) {
      const kind = pick(rng, ['array', 'object'] as const);
      const depth = pick(rng, DEPTHS);
      const isMessage = route.label === 'POST /api/v1/app/{app_id}/msg';
      const placement = isMessage && rng() < 0.6 ? 'payload' : pick(rng, ['top', 'field'] as const);
      let body: string;
      let loc: (string | number)[] | undefined;
      let total: number;
      if (placement === 'payload') {
        // {"eventType", "payload": {"deep": <depth - 2 levels>}}: the body nests `depth` levels.
        body = `{"eventType":"fuzz.deep","payload":{"deep":${nestedJson(kind, Math.max(0, depth - 2))}}}`;
        total = Math.max(depth, 2);
        loc = ['body', 'payload'];
      } else if (placement === 'top') {
        // An array body is the wrong type at any depth; an object body only when too deep.
        const levels = kind === 'array' ? depth : Math.max(depth, MAX_DEPTH + 1);
        body = nestedJson(kind, levels);
        total = levels;
        loc = undefined;
      } else {
        const base = validBody(route, ctx) ?? {};
        const name = pick(rng, Object.keys(route.body!.properties ?? { deep: {} }));
        const levels = Math.max(depth, MAX_DEPTH);
        const text = JSON.stringify({ ...base, [name]: 0 });
        body = text.replace(`${JSON.stringify(name)}:0`, `${JSON.stringify(name)}:${nestedJson(kind, levels)}`);
        total = levels + 1;
        loc = ['body', name];
      }
      const draft: Draft = { method: route.method, path: realPath(route, ctx), headers: { ...JSON_TYPE }, body };
      if (Buffer.byteLength(body) > BODY_LIMIT) return { ...draft, statuses: [413] };
      if (total > MAX_DEPTH) return { ...draft, statuses: [422], loc };
      if (placement === 'payload') return { ...draft, statuses: [422], mayAccept: `a message whose payload nests ${total} <= ${MAX_DEPTH} levels is valid` };
      return { ...draft, statuses: [422] };
    },
  },
  {
    name: 'oversized',
    appliesTo: takesBody,
    make(route, rng, ctx) {
      const base = validBody(route, ctx) ?? {};
      const size = pick(rng, [BODY_LIMIT + 1, BODY_LIMIT + 1000, BODY_LIMIT * 10]);
      const body = oversized(base, size);
      const path = realPath(route, ctx);
      if (rng() < 0.5) return { method: route.method, path, headers: { ...JSON_TYPE }, body, statuses: [413] };
      // Chunked: no Content-Length to refuse up front, the limit applies while reading.
      const socket = httpBytes(route.method, path, [AUTH, ['Content-Type', 'application/json']], Buffer.from(body), true);
      return { method: route.method, path, headers: {}, socket, statuses: [413] };
    },
  },
  {
    name: 'content-type',
    appliesTo: takesBody,
    make(route, rng, ctx): Draft {
      const body = JSON.stringify(validBody(route, ctx) ?? {});
      const path = realPath(route, ctx);
      const variant = int(rng, 5);
      if (variant === 0) return { method: route.method, path, headers: {}, body: new TextEncoder().encode(body), statuses: [415] }; // no content-type
      if (variant === 1) {
        const encoding = pick(rng, ['gzip', 'br', 'deflate', 'gzip, deflate', 'x-garbage']);
        const payload = rng() < 0.5 ? body : `\u001f\u008b${awkward(rng)}garbage`;
        return { method: route.method, path, headers: { ...JSON_TYPE, 'content-encoding': encoding }, body: payload, statuses: [415] };
      }
      if (variant === 2) {
        // Bytes fetch refuses in a header value.
        const type = pick(rng, ['application/json\u0000', 'application/json\u0000; charset=utf-8', 'application/\u0001json', 'application/json\u007f', 'application/json\rX: 1']);
        return { method: route.method, path, headers: {}, socket: httpBytes(route.method, path, [AUTH, ['Content-Type', type]], Buffer.from(body)), statuses: [400, 415] };
      }
      return { method: route.method, path, headers: { 'content-type': pick(rng, WRONG_CONTENT_TYPES) }, body, statuses: [415] };
    },
  },
  {
    name: 'unicode-body',
    appliesTo: hasBodySchema,
    make(route, rng, ctx) {
      const base = validBody(route, ctx);
      const body: Record<string, unknown> = base ?? {};
      const fields = fieldsOf(route.body!);
      // Awkward but valid text in every free-text field of the valid body...
      for (const field of fields) {
        if (field.path.length === 1 && field.schema.type === 'string' && !field.schema.pattern && !field.schema.format && body[field.path[0]!] !== undefined) {
          body[field.path[0]!] = Array.from(awkward(rng)).slice(0, field.schema.maxLength ?? 100).join('');
        }
      }
      // ...and one thing no store can keep, or a pattern-checked field full of Unicode.
      const strings = fields.filter((f) => f.schema.type === 'string');
      const patterned = strings.filter((f) => f.schema.pattern);
      const variant = int(rng, 4);
      const path = realPath(route, ctx);
      if (variant === 0 && patterned.length > 0) {
        const field = pick(rng, patterned);
        const fieldPath = concrete(field.path, rng);
        const parentKnown = base !== null && hasPath(base, fieldPath.slice(0, -1));
        setPath(body, fieldPath, awkward(rng));
        return { method: route.method, path, ...jsonBody(body), statuses: [422], loc: parentKnown ? ['body', ...fieldPath] : undefined };
      }
      if (variant <= 1 && strings.length > 0) {
        const field = pick(rng, strings);
        const fieldPath = concrete(field.path, rng);
        setPath(body, fieldPath, `${awkward(rng)}${pick(rng, ['\ud800', '\udfff', '\u0000', '\udc00\ud800', 'a\ud83d'])}${awkward(rng)}`);
        // Refused while parsing, before the schema: the loc is exact even where the schema has more to say.
        return { method: route.method, path, ...jsonBody(body), statuses: [422], loc: ['body', ...fieldPath] };
      }
      if (variant === 2) {
        // A number beyond a double (JSON.parse makes it Infinity, JSON.stringify would store null).
        const text = JSON.stringify({ ...body, huge: 0 }).replace('"huge":0', `"huge":${pick(rng, ['1e400', '-1e999', '123456789e999999'])}`);
        return { method: route.method, path, headers: { ...JSON_TYPE }, body: text, statuses: [422], loc: ['body', 'huge'] };
      }
      // Raw bytes that are not UTF-8 inside an otherwise valid body.
      const text = JSON.stringify({ ...body, raw: 'RAW' });
      const at = text.indexOf('RAW');
      const bad = pick(rng, [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80]]);
      const bytes = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bad), Buffer.from(text.slice(at + 3))]);
      return { method: route.method, path, headers: { ...JSON_TYPE }, body: new Uint8Array(bytes), statuses: [400] };
    },
  },
  {
    name: 'path-params',
    appliesTo: (route) => route.params.length > 0 && route.auth,
    make(route, rng, ctx) {
      const bogus = pick(rng, route.params);
      const base = validBody(route, ctx);
      const values: Record<string, string> = Object.fromEntries(route.params.map((p) => [p, ctx.ids[p] ?? bogusId(rng)]));
      const variant = int(rng, 8);
      const withBody = base ? { headers: { ...JSON_TYPE }, body: JSON.stringify(base) } : { headers: {} };
      const encodedPath = (value: string) => fillPath(route, { ...values, [bogus]: value });
      const rawPath = (segment: string) => route.path.replace(/\{(\w+)\}/g, (_, name: string) => (name === bogus ? segment : encodeURIComponent(values[name]!)));
      switch (variant) {
        case 0:
          return { method: route.method, path: encodedPath(bogusId(rng)), ...withBody, statuses: [404] };
        case 1:
          return { method: route.method, path: encodedPath('x'.repeat(257 + int(rng, 240))), ...withBody, statuses: [422], loc: ['path', bogus] };
        case 2:
          return { method: route.method, path: rawPath('y'.repeat(501 + int(rng, 3000))), ...withBody, statuses: [422] };
        case 3:
          return { method: route.method, path: rawPath(pick(rng, ['%zz', '%c0%af', '%ed%a0%80', '%ff', '%e2%82', 'a%', '%%', '%u202e'])), ...withBody, statuses: [400] };
        case 4:
          return { method: route.method, path: rawPath(`a${pick(rng, ['%00', '%00%00', 'b%00'])}`), ...withBody, statuses: [422], loc: ['path', bogus] };
        case 5:
          // An encoded slash or dot segment inside a parameter is a value, not a path step.
          return { method: route.method, path: rawPath(pick(rng, ['..%2f..%2f', '%2e%2e%2f', 'a%2fb~', '%5c..%5c', '~%2f'])), ...withBody, statuses: [404] };
        case 6: {
          // Dot segments and raw non-ASCII bytes, sent as is (fetch would normalise or encode them).
          const segment = pick(rng, ['..', '.', '../..', Buffer.from([0xc0, 0xaf]), Buffer.from('\u202eabc', 'utf8'), Buffer.from([0xff])]);
          const target = Buffer.concat(
            route.path.split(/(\{\w+\})/).map((part) => {
              const name = /^\{(\w+)\}$/.exec(part)?.[1];
              if (!name) return Buffer.from(part);
              return name === bogus ? (typeof segment === 'string' ? Buffer.from(segment) : segment) : Buffer.from(encodeURIComponent(values[name]!));
            }),
          );
          // A dot segment may land on another route (GET /api/v1/app/.. is not /api/v1/app): only a 4xx is certain.
          return { method: route.method, path: target.toString('latin1'), headers: {}, socket: httpBytes(route.method, target, [AUTH, ['Content-Type', 'application/json']], Buffer.from('{}')) };
        }
        default:
          // An empty parameter (but not the last segment: /api/v1/app/ is the list, by ignoreTrailingSlash).
          if (route.path.endsWith(`{${bogus}}`)) return { method: route.method, path: encodedPath(bogusId(rng)), ...withBody, statuses: [404] };
          return { method: route.method, path: rawPath(''), ...withBody };
      }
    },
  },
  {
    name: 'query',
    appliesTo: (route) => route.query.some((q) => invalidQueryValues(q.schema).length > 0),
    make(route, rng, ctx) {
      const constrained = route.query.filter((q) => invalidQueryValues(q.schema).length > 0);
      const target = pick(rng, constrained);
      const params: [string, string][] = [];
      // Noise: awkward values for the other parameters, unknown keys, repeated keys, junk encodings.
      for (const q of route.query) if (q !== target && rng() < 0.3) params.push([q.name, awkward(rng)]);
      for (let i = int(rng, 4); i > 0; i--) params.push([pick(rng, ['x', awkward(rng), '%zz', 'a[b]', '__proto__', 'constructor']), awkward(rng)]);
      const variant = int(rng, 3);
      if (variant === 0) params.push([target.name, '1'], [target.name, pick(rng, invalidQueryValues(target.schema))]);
      else params.push([target.name, pick(rng, invalidQueryValues(target.schema))]);
      let query = params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
      if (variant === 2) query += `&${pick(rng, ['%zz=%zz', '%c0%af=1', 'a=%ff%fe', '=', '&&&', 'x'.repeat(4000)])}`;
      const base = validBody(route, ctx);
      const body = base ? { headers: { ...JSON_TYPE }, body: JSON.stringify(base) } : { headers: {} };
      return { method: route.method, path: `${realPath(route, ctx)}?${query}`, ...body, statuses: [422] };
    },
  },
  {
    name: 'headers',
    appliesTo: (route) => route.auth,
    make(route, rng, ctx) {
      const base = validBody(route, ctx);
      const path = realPath(route, ctx);
      const variant = int(rng, 4);
      if (variant === 0 && route.method === 'POST') {
        // Valid in every other way: the over-long idempotency-key is the fault.
        return { method: route.method, path, headers: { ...JSON_TYPE, 'idempotency-key': 'k'.repeat(257 + int(rng, 5000)) }, body: JSON.stringify(base ?? {}), statuses: [422] };
      }
      if (variant === 1) {
        // Headers past Node's 16 KB limit.
        const headers: Record<string, string> = { authorization: `Bearer ${TEST_TOKEN}` };
        if (rng() < 0.5) headers['x-huge'] = 'h'.repeat(17_000 + int(rng, 10_000));
        else for (let i = 0; i < 400; i++) headers[`x-many-${i}`] = 'v'.repeat(50);
        return { method: route.method, path, headers, statuses: [400] };
      }
      // Awkward header values on a request refused for its token.
      const headers: Record<string, string> = { authorization: `Bearer wrong-${int(rng, 1e9)}` };
      for (const name of ['accept', 'accept-language', 'user-agent', 'x-request-id', 'idempotency-key', 'accept-version', 'x-forwarded-for', 'cookie', 'expect-ct', 'if-none-match']) {
        if (rng() < 0.4) headers[name] = headerBytes(awkward(rng)).slice(0, 4000);
      }
      if (base) Object.assign(headers, JSON_TYPE);
      return { method: route.method, path, headers, body: base ? JSON.stringify(base) : undefined, statuses: [401] };
    },
  },
  {
    name: 'method',
    appliesTo: () => true,
    make(route, rng, ctx) {
      const defined = ctx.methodsByPath.get(route.path)!;
      const method = pick(rng, ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'SEARCH', 'PROPFIND'].filter((m) => !defined.has(m)));
      const path = realPath(route, ctx);
      const body = method === 'OPTIONS' ? {} : { headers: { ...JSON_TYPE }, body: JSON.stringify({ name: awkward(rng) }) };
      // The path exists: a method it does not serve is a 405 (with an Allow header).
      return { method, path, headers: {}, ...body, statuses: route.auth ? [401, 405] : [405] };
    },
  },
  {
    name: 'malformed-http',
    appliesTo: () => true,
    make(route, rng, ctx) {
      const path = realPath(route, ctx);
      const auth = `Authorization: Bearer ${TEST_TOKEN}\r\n`;
      const request = pick(rng, [
        `${route.method} ${path} HTTP/9.9\r\nHost: x\r\n\r\n`,
        `${route.method.toLowerCase()} ${path} HTTP/1.1\r\nHost: x\r\n\r\n`,
        `FUZZ ${path} HTTP/1.1\r\nHost: x\r\n\r\n`,
        `${route.method} ${path} HTTP/1.1\nHost: x\n\n`,
        `${route.method} ${path} HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n`,
        `${route.method} ${path} HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n`,
        `${route.method} ${path} HTTP/1.1\r\nHost: x\r\nX: a\u0000b\r\n\r\n`,
        `${route.method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
        `${route.method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        `${route.method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: xchunked\r\n\r\n{}`,
        `${route.method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
        `${route.method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: -1\r\n\r\n`,
        `${route.method} ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 1e3\r\n\r\n`,
        `${route.method} ${path} HTTP/1.1\r\n${auth}Connection: close\r\n\r\n`,
        `${route.method} ${path}\u00c0\u00af HTTP/1.1\r\nHost: x\r\n\r\n`,
        `${route.method} /${'a'.repeat(17_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`,
        `CONNECT 127.0.0.1:${ctx.port} HTTP/1.1\r\nHost: x\r\n\r\n`,
        `${headerBytes(awkward(rng))} ${path} HTTP/1.1\r\nHost: x\r\n\r\n`,
      ]);
      return { method: route.method, path, headers: {}, socket: Buffer.from(request, 'latin1') };
    },
  },
];

function invalidQueryValues(schema: Schema): string[] {
  const enums = [...(schema.enum ?? []), ...(schema.anyOf ?? []).flatMap((s) => s.enum ?? [])];
  if (enums.length > 0) return ['sideways', 'ASCENDING', '', awkward(prng(enums.length))];
  switch (schema.type) {
    case 'integer':
      return ['abc', '1.5', '', 'NaN', 'Infinity', '9'.repeat(400), String((schema.minimum ?? 0) - 1), ...(schema.maximum !== undefined ? [String(schema.maximum + 1)] : []), '١٢', '+'];
    case 'boolean':
      return ['maybe', 'yes', '2', 'TRUE', '', 'nul', '\u202etrue'];
    case 'string': {
      const values: string[] = [];
      if (schema.format === 'date-time') values.push('not-a-date', '2020-13-45T00:00:00Z', '2020-01-01', '0000-00-00T00:00:00Z', '２０２０-01-01T00:00:00Z', 'x'.repeat(5000));
      if (schema.pattern) values.push('has space', '\u202eabc', 'a/b\\c%', '👩‍👩‍👧');
      if (schema.maxLength !== undefined) values.push('m'.repeat(schema.maxLength + 1));
      return values;
    }
    default:
      return [];
  }
}

/** Cases for the URLs outside the API document and for URLs that do not exist. */
function otherUrlCase(rng: Rng, ctx: Context): Draft & { route: string; generator: string } {
  const variant = int(rng, 6);
  if (variant === 0) {
    const path = pick(rng, ['/health', '/ready', '/api/v1/health', '/openapi.json', '/docs', '/docs/static/index.html', '/docs/json']);
    const method = pick(rng, ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
    const body = method === 'OPTIONS' ? {} : { headers: { ...JSON_TYPE }, body: '{"x":' };
    // These paths serve GET only: any other method is a 405 (or a 400 for the body, when it is parsed first).
    return { route: `* ${path}`, generator: 'method', method, path, headers: {}, ...body, statuses: [400, 405] };
  }
  if (variant === 1) {
    // Traversal out of the Swagger UI's static files, as sent (fetch would normalise dot segments).
    const target = pick(rng, ['/docs/static/../../package.json', '/docs/static/%2e%2e/%2e%2e/package.json', '/docs/static/..%2f..%2f..%2fetc%2fpasswd', '/docs/../src/app.ts', '/docs/static/%c0%ae%c0%ae/package.json', '/docs/static/....//....//package.json', '/docs/static/%00']);
    return { route: '* /docs', generator: 'traversal', method: 'GET', path: target, headers: {}, socket: httpBytes('GET', target, []) };
  }
  if (variant === 2) {
    const path = `${pick(rng, ['/health', '/ready', '/docs', '/openapi.json', '/'])}${pick(rng, ['/%zz', '/%c0%af', `/${'z'.repeat(600)}`, '/x/y/z', `/${encodeURIComponent(awkward(rng))}`, '%00'])}`;
    return { route: '* non-API', generator: 'path', method: 'GET', path, headers: {}, statuses: [400, 404] };
  }
  const anonymous = rng() < 0.5;
  const prefix = pick(rng, ['', '/api', '/api/v1', '/api/v2', `/api/v1/app/${ctx.ids.app_id}`, '/%61pi/v1', '//api/v1', '/API/V1']);
  const segments = Array.from({ length: 1 + int(rng, 4) }, () => pick(rng, ['nope', encodeURIComponent(awkward(rng)), '%zz', '%2e%2e', '%2f', 'x'.repeat(int(rng, 3000)), ';jsessionid=1', '*']));
  const method = pick(rng, ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
  const body = method === 'GET' ? undefined : '{"name":"x"}';
  const path = `${prefix}/zz-${segments.join('/')}`;
  // As sent, over a raw socket: fetch would resolve `%2e%2e` segments, turning `DELETE .../app/{id}/zz-x/%2e%2e`
  // into a real `DELETE .../app/{id}`.
  const headers: [string, string][] = [...(anonymous ? [] : [AUTH]), ...(body ? [['Content-Type', 'application/json'] as [string, string]] : [])];
  return { route: '* unknown', generator: 'unknown-url', method, path, headers: body ? { ...JSON_TYPE } : {}, body, anonymous, socket: httpBytes(method, path, headers, body ? Buffer.from(body) : undefined) };
}

// ---- The barrage, once per store adapter

/** Inbound sources' webhook route: authenticated by the sender's signature, which no case carries. */
const INGEST_ROUTE = 'POST /ingest/{source_id}';

/** Every (route, generator) pair once, then random pairs and other URLs up to CASES. */
function planCases(routes: FuzzRoute[], ctx: Context): Case[] {
  const pairs = routes.flatMap((route) => generators.filter((g) => g.appliesTo(route)).map((generator) => ({ route, generator })));
  const cases: Case[] = [];
  for (let index = 0; index < CASES; index++) {
    const rng = caseRng(index);
    if (index >= pairs.length && rng() < 0.08) {
      cases.push({ index, ...otherUrlCase(rng, ctx) });
      continue;
    }
    const { route, generator } = index < pairs.length ? pairs[index]! : pick(rng, pairs);
    const draft = generator.make(route, rng, ctx);
    // POST /ingest/{source_id} has no bearer auth: an unsigned request is refused for its signature (401) first.
    if (route.label === INGEST_ROUTE && draft.statuses) draft.statuses = [...new Set([...draft.statuses, 401])];
    cases.push({ index, route: route.label, generator: generator.name, ...draft });
  }
  return cases;
}

function judge(c: Case, response: RawResponse, ms: number): string | null {
  if (ms > SLOW_MS) return `took ${ms} ms`;
  if (c.mayAccept && response.status >= 200 && response.status < 300) return null;
  const problem = jsonErrorProblem(response, c.statuses);
  if (problem) return problem;
  if (c.loc && response.status === 422) {
    const loc = response.json.detail[0].loc;
    if (JSON.stringify(loc) !== JSON.stringify(c.loc)) return `loc ${JSON.stringify(loc)}, expected ${JSON.stringify(c.loc)}`;
  }
  return null;
}

const preview = (value: string | Uint8Array | Buffer | undefined, limit = 160): string => {
  if (value === undefined) return '(none)';
  const text = typeof value === 'string' ? value : Buffer.from(value).toString('latin1');
  const shown = JSON.stringify(text.length > limit ? `${text.slice(0, limit)}…` : text);
  return text.length > limit ? `${shown} (${text.length} chars)` : shown;
};

function describeCase(c: Case): string {
  if (c.socket) return `raw socket ${preview(c.socket, 200)}`;
  return `${c.method} ${preview(c.path, 160)} headers ${preview(JSON.stringify(c.headers), 200)} body ${preview(c.body)}`;
}

const tally = (counts: Map<number | string, number>): string => [...counts].map(([key, n]) => `${key}:${n}`).join(' ');
const count = <K>(counts: Map<K, number>, key: K): void => {
  counts.set(key, (counts.get(key) ?? 0) + 1);
};

for (const adapter of ['sqlite', 'postgres'] as const) {
  describe(`hostile input (${adapter})`, () => {
    let hookd: TestHookd & { cleanup: () => Promise<void> };
    let database: Awaited<ReturnType<typeof freshDatabase>> | null = null;
    let receiver: Receiver;
    let ctx: Context;
    const accepted: { id: string; payload: unknown }[] = [];
    const serverStatuses = new Map<number, number>();

    before(async () => {
      receiver = await Receiver.start();
      if (adapter === 'postgres') database = await freshDatabase(testDatabaseUrl(), 'fuzz');
      const env: Record<string, string> = { HOOKD_BODY_LIMIT: String(BODY_LIMIT), HOOKD_SSRF_ALLOW: '127.0.0.0/8,::1/128' };
      if (database) env.DATABASE_URL = database.url;
      hookd = await startTestHookd({ env });
      // Every response the HTTP server finishes, whatever produced it.
      hookd.app!.server.on('request', (_request: IncomingMessage, response: ServerResponse) => response.on('finish', () => count(serverStatuses, response.statusCode)));
      const app = await hookd.api.post('/api/v1/app', { name: 'fuzz', uid: 'fuzz' });
      assert.equal(app.status, 201);
      const endpoint = await hookd.api.post(`/api/v1/app/${app.body.id}/endpoint`, { url: `${receiver.url}/hook` });
      assert.equal(endpoint.status, 201);
      assert.equal((await hookd.api.post('/api/v1/event-type', { name: 'fuzz.event', description: 'fuzz' })).status, 201);
      const source = await hookd.api.post(`/api/v1/app/${app.body.id}/source`, {
        name: 'fuzz source',
        verification: { scheme: 'hmac-sha256', secret: 'fuzz-secret-0123456789' },
        eventType: { default: 'fuzz.event' },
      });
      assert.equal(source.status, 201, JSON.stringify(source.body));
      // Accepted before the barrage, awkward but valid; checked again at the end.
      const rng = prng(SEED);
      const payloads: Record<string, unknown>[] = [
        { n: 0 },
        {},
        { text: awkward(rng, 12), [awkward(rng)]: [awkward(rng), 1.5e300, -0.000001, true, null] },
        { 'line\nfeed': 1, 'carriage\rreturn': 2, 'line\u2028separator': 3, 'paragraph\u2029separator': { 'nested\nkey': 4 }, '': 5 },
        { nested: JSON.parse(nestedJson('object', MAX_DEPTH - 3)) },
        { nested: JSON.parse(nestedJson('array', MAX_DEPTH - 3)) },
        { big: 'b'.repeat(BODY_LIMIT - 200) },
        { max: Number.MAX_SAFE_INTEGER, min: Number.MIN_SAFE_INTEGER, tiny: 5e-324, escaped: '\u0001\u001f"\\/' },
      ];
      for (let i = 0; i < 12; i++) payloads.push({ n: i + 1, [awkward(rng)]: awkward(rng) });
      for (const payload of payloads) {
        const message = await hookd.api.post(`/api/v1/app/${app.body.id}/msg`, { eventType: 'fuzz.event', payload });
        assert.equal(message.status, 202, JSON.stringify(message.body));
        accepted.push({ id: message.body.id, payload });
      }
      const first = accepted[0]!.id;
      const attemptId = await eventually(
        async () => (await hookd.api.get(`/api/v1/app/${app.body.id}/attempt/msg/${first}`)).body?.data?.[0]?.id as string | undefined,
        10_000,
        'an attempt of the first message',
      );
      const methodsByPath = new Map<string, Set<string>>();
      for (const route of apiRoutes(await hookd.app!.openApiDocument())) methodsByPath.set(route.path, (methodsByPath.get(route.path) ?? new Set(['GET', 'HEAD'])).add(route.method));
      ctx = {
        ids: { app_id: app.body.id, endpoint_id: endpoint.body.id, msg_id: first, attempt_id: attemptId, event_type_name: 'fuzz.event', source_id: source.body.id },
        receiverUrl: receiver.url,
        port: Number(new URL(hookd.url).port),
        methodsByPath,
      };
    });

    after(async () => {
      await hookd?.cleanup();
      await receiver?.close();
      await database?.drop();
    });

    async function send(c: Case): Promise<RawResponse> {
      if (c.socket) return rawHttp(ctx.port, c.socket, TIMEOUT_MS);
      const token = c.anonymous || 'authorization' in c.headers ? null : TEST_TOKEN;
      return rawRequest(hookd.url, c.method, c.path, { token, headers: c.headers, body: c.body, signal: AbortSignal.timeout(TIMEOUT_MS) });
    }

    test('hostile requests to every route answer a 4xx JSON error, without a 5xx or a stall', async () => {
      const started = Date.now();
      const routes = await describeRoutes(hookd.app!);
      const cases = planCases(routes, ctx).filter((c) => !ONLY || ONLY.has(c.index));
      console.log(`fuzz (${adapter}): seed ${SEED} (HOOKD_FUZZ_SEED=${SEED} to replay), ${cases.length} cases over ${routes.length} documented operations plus other URLs`);
      const failures = new Map<string, { count: number; example: string }>();
      const byGenerator = new Map<string, number>();
      const clientStatuses = new Map<number, number>();
      let slowest = { ms: 0, index: -1 };
      const loopDelay = monitorEventLoopDelay({ resolution: 10 });
      loopDelay.enable();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < cases.length) {
          const c = cases[next++]!;
          count(byGenerator, c.generator);
          const t0 = Date.now();
          let problem: string | null;
          let answer = '';
          try {
            const response = await send(c);
            const ms = Date.now() - t0;
            if (ms > slowest.ms) slowest = { ms, index: c.index };
            count(clientStatuses, response.status);
            problem = judge(c, response, ms);
            answer = `${response.status} ${preview(response.text, 200)}`;
            if (c.mayAccept && response.status >= 200 && response.status < 300 && response.json?.id) {
              accepted.push({ id: response.json.id, payload: JSON.parse(c.body as string).payload });
            }
          } catch (error) {
            problem = `no answer: ${(error as Error).message}`;
          }
          if (problem) {
            const key = `${c.route} · ${c.generator}`;
            const failure = failures.get(key) ?? { count: 0, example: `case #${c.index}: ${describeCase(c)}\n      -> ${answer || '(nothing)'}: ${problem}` };
            failure.count++;
            failures.set(key, failure);
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      loopDelay.disable();
      const sorted = (counts: Map<number, number>) => new Map([...counts].sort(([a], [b]) => a - b));
      console.log(`fuzz (${adapter}): ${cases.length} requests in ${((Date.now() - started) / 1000).toFixed(1)} s; answers ${tally(sorted(clientStatuses))}; server sent ${tally(sorted(serverStatuses))}`);
      console.log(`fuzz (${adapter}): per generator ${tally(byGenerator)}`);
      console.log(`fuzz (${adapter}): slowest answer ${slowest.ms} ms (case #${slowest.index}); event-loop delay max ${(loopDelay.max / 1e6).toFixed(0)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms`);
      if (failures.size > 0) {
        const report = [...failures].map(([key, f]) => `  ${key}: ${f.count} failing\n    ${f.example}`).join('\n');
        const failed = [...failures.values()].reduce((n, f) => n + f.count, 0);
        assert.fail(`${adapter}, seed ${SEED}: ${failed} of ${cases.length} cases failed (HOOKD_FUZZ_SEED=${SEED} HOOKD_FUZZ_ONLY=<case> replays one)\n${report}`);
      }
      assert.deepEqual([...serverStatuses].filter(([status]) => status >= 500), [], 'the server sent 5xx responses');
    });

    test('after the barrage hookd answers /health and /ready', async () => {
      const health = await fetch(`${hookd.url}/health`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok' });
      assert.equal((await fetch(`${hookd.url}/ready`)).status, 200);
    });

    test('every message accepted before or during the barrage is retrievable with its exact payload and was delivered', async () => {
      const appId = ctx.ids.app_id!;
      for (const message of accepted) {
        const stored = await hookd.api.get(`/api/v1/app/${appId}/msg/${message.id}`);
        assert.equal(stored.status, 200, `message ${message.id}`);
        assert.deepEqual(stored.body.payload, message.payload, `payload of ${message.id} as the API returns it`);
      }
      const ids = new Set(accepted.map((m) => m.id));
      const requests = await receiver.waitFor((rs) => [...ids].every((id) => rs.some((r) => r.headers['webhook-id'] === id)), 30_000, `${ids.size} deliveries`);
      for (const message of accepted) {
        const delivered = requests.find((r) => r.headers['webhook-id'] === message.id)!;
        assert.deepEqual(JSON.parse(delivered.body), message.payload, `delivered payload of ${message.id}`);
      }
      // Nothing else was created: the application holds exactly these messages, and it is the only one.
      const listed: string[] = [];
      for (let iterator: string | null = null, done = false; !done; ) {
        const page: { status: number; body: { data: { id: string }[]; iterator: string | null; done: boolean } } = await hookd.api.get(
          `/api/v1/app/${appId}/msg?limit=250${iterator ? `&iterator=${iterator}` : ''}`,
        );
        assert.equal(page.status, 200);
        listed.push(...page.body.data.map((m) => m.id));
        ({ iterator, done } = page.body);
      }
      assert.deepEqual(new Set(listed), ids);
      // No application made by the barrage but the operator's, which the operational webhook endpoint routes create.
      const apps = await hookd.api.get('/api/v1/app');
      assert.deepEqual(
        apps.body.data.map((a: { uid: string }) => a.uid).filter((uid: string) => uid !== 'hookd-operator'),
        ['fuzz'],
      );
    });
  });
}
