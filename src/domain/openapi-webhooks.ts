/**
 * Event types from the webhooks of an OpenAPI document (Svix's event-type import): each entry of `webhooks` (OpenAPI
 * 3.1) or `x-webhooks` (3.0) is an event type of that name, whose description, deprecation and payload schema come from
 * its operation (POST, or the first the entry has). The schema is the request body's `application/json` schema with
 * every local `$ref` inlined, so that it stands alone as the event type's `schemas["1"]`; the body's example, if any,
 * becomes the schema's `examples`, which send-example sends.
 */

export interface EventTypeFromOpenApi {
  name: string;
  description: string;
  schemas: Record<string, unknown> | null;
  deprecated: boolean;
}

/** A document that is not one hookd can import: `loc` is where in it, as a validation error's. */
export class OpenApiImportError extends Error {
  constructor(
    readonly loc: (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

const NAME = /^[a-zA-Z0-9\-_.]+$/;
const OPERATIONS = ['post', 'put', 'patch', 'get', 'delete', 'options', 'head', 'trace'] as const;
/** How deep `$ref`s are inlined: a recursive schema stops there, as `{}` (anything). */
const MAX_REF_DEPTH = 32;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export function eventTypesFromOpenApi(spec: unknown): EventTypeFromOpenApi[] {
  if (!isObject(spec)) throw new OpenApiImportError([], 'the OpenAPI document must be an object');
  const key = isObject(spec.webhooks) ? 'webhooks' : isObject(spec['x-webhooks']) ? 'x-webhooks' : null;
  if (key === null) throw new OpenApiImportError([], 'the OpenAPI document has no webhooks (a "webhooks" or "x-webhooks" object)');
  const resolve = refResolver(spec);
  return Object.entries(spec[key] as Json).map(([name, entry]) => {
    const loc = [key, name];
    if (!NAME.test(name) || name.length > 256) throw new OpenApiImportError(loc, `"${name}" is not an event type name (letters, digits, "-", "_" and ".", at most 256)`);
    const item = resolve(entry, 0) as unknown;
    if (!isObject(item)) throw new OpenApiImportError(loc, 'a webhook must be a path item object');
    const method = OPERATIONS.find((m) => isObject(item[m]));
    if (!method) throw new OpenApiImportError(loc, 'the webhook has no operation');
    const operation = item[method] as Json;
    const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
    const description = text(operation.description) ?? text(operation.summary) ?? text(item.description) ?? text(item.summary) ?? '';
    return { name, description, schemas: payloadSchema(operation, resolve), deprecated: operation.deprecated === true };
  });
}

/** `{"1": schema}` from the operation's JSON request body (its example as the schema's `examples`), or null. */
function payloadSchema(operation: Json, resolve: (value: unknown, depth: number) => unknown): Record<string, unknown> | null {
  const body = resolve(operation.requestBody, 0);
  const content = isObject(body) && isObject(body.content) ? body.content : null;
  const json = content ? (Object.entries(content).find(([type]) => /^application\/(.+\+)?json\b/i.test(type))?.[1] ?? null) : null;
  if (!isObject(json) || !isObject(json.schema)) return null;
  const schema = resolve(json.schema, 0) as Json;
  const examples = Array.isArray(schema.examples) ? schema.examples : exampleOf(json);
  return { '1': examples ? { ...schema, examples } : schema };
}

/** A media type's `example`, or its first `examples` entry's value, as a one-item list. */
function exampleOf(media: Json): unknown[] | null {
  if (media.example !== undefined) return [media.example];
  if (isObject(media.examples)) {
    const first = Object.values(media.examples)[0];
    if (isObject(first) && first.value !== undefined) return [first.value];
  }
  return null;
}

/** Inlines the document's own `$ref`s ("#/..."); others are left as they are. */
function refResolver(spec: Json): (value: unknown, depth: number) => unknown {
  const target = (ref: string): unknown => {
    let node: unknown = spec;
    for (const raw of ref.slice(2).split('/')) {
      const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      node = isObject(node) ? node[part] : Array.isArray(node) ? node[Number(part)] : undefined;
    }
    return node;
  };
  const resolve = (value: unknown, depth: number): unknown => {
    if (Array.isArray(value)) return value.map((v) => resolve(v, depth));
    if (!isObject(value)) return value;
    if (typeof value.$ref === 'string' && value.$ref.startsWith('#/')) {
      if (depth >= MAX_REF_DEPTH) return {};
      const found = target(value.$ref);
      if (found === undefined) throw new OpenApiImportError([], `${value.$ref} is not in the document`);
      const { $ref: _ref, ...siblings } = value;
      const inlined = resolve(found, depth + 1);
      return isObject(inlined) && Object.keys(siblings).length > 0 ? { ...inlined, ...(resolve(siblings, depth) as Json) } : inlined;
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, depth)]));
  };
  return resolve;
}
