/**
 * Event types from the webhooks of an OpenAPI document (Svix's event-type import): each entry of `webhooks` (OpenAPI
 * 3.1) or `x-webhooks` (3.0) is an event type of that name, whose description, deprecation and payload schema come from
 * its operation (POST, or the first the entry has). The schema is the request body's `application/json` schema with
 * every local `$ref` inlined, so that it stands alone as the event type's `schemas["1"]`; the body's example, if any,
 * becomes the schema's `examples`, which send-example sends. A `$ref` met again inside its own expansion (a recursive
 * schema: a tree, a linked list) becomes `{}` (anything) there, and a document whose inlined schemas would exceed
 * MAX_INLINED_NODES is refused rather than expanded.
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
/** As an event type's description may be long (EventTypeIn). */
const MAX_DESCRIPTION = 4096;
/** How many objects and arrays the inlined schemas of a document may hold in all. */
export const MAX_INLINED_NODES = 100_000;
const OPERATIONS = ['post', 'put', 'patch', 'get', 'delete', 'options', 'head', 'trace'] as const;

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
    try {
      const item = resolve(entry);
      if (!isObject(item)) throw new OpenApiImportError([], 'a webhook must be a path item object');
      const method = OPERATIONS.find((m) => isObject(item[m]));
      if (!method) throw new OpenApiImportError([], 'the webhook has no operation');
      const operation = item[method] as Json;
      const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
      const description = text(operation.description) ?? text(operation.summary) ?? text(item.description) ?? text(item.summary) ?? '';
      if (description.length > MAX_DESCRIPTION) throw new OpenApiImportError([method], `the description is longer than ${MAX_DESCRIPTION} characters`);
      return { name, description, schemas: payloadSchema(operation, resolve), deprecated: operation.deprecated === true };
    } catch (error) {
      // Where in the document: under the webhook that has the fault.
      if (error instanceof OpenApiImportError) throw new OpenApiImportError([...loc, ...error.loc], error.message);
      throw error;
    }
  });
}

/** `{"1": schema}` from the operation's JSON request body (its example as the schema's `examples`), or null. */
function payloadSchema(operation: Json, resolve: (value: unknown) => unknown): Record<string, unknown> | null {
  const body = resolve(operation.requestBody);
  const content = isObject(body) && isObject(body.content) ? body.content : null;
  const json = content ? (Object.entries(content).find(([type]) => /^application\/(.+\+)?json\b/i.test(type))?.[1] ?? null) : null;
  if (!isObject(json) || !isObject(json.schema)) return null;
  const schema = resolve(json.schema) as Json;
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

/**
 * Inlines the document's own `$ref`s ("#/..."); others are left as they are. `expanding` holds the refs being inlined
 * on the way here: one met again is a recursion, `{}` there. Every object and array made counts against
 * MAX_INLINED_NODES, for the whole document, so that no document (a schema referring to itself twice, say, which
 * doubles at each level) expands beyond it.
 */
function refResolver(spec: Json): (value: unknown) => unknown {
  let made = 0;
  const target = (ref: string): unknown => {
    let node: unknown = spec;
    for (const raw of ref.slice(2).split('/')) {
      const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      // Own keys only: "#/constructor" names nothing.
      node = isObject(node) && Object.hasOwn(node, part) ? node[part] : Array.isArray(node) && /^\d+$/.test(part) ? node[Number(part)] : undefined;
    }
    return node;
  };
  const resolve = (value: unknown, expanding: ReadonlySet<string>): unknown => {
    if (!isObject(value) && !Array.isArray(value)) return value;
    if (++made > MAX_INLINED_NODES) throw new OpenApiImportError([], `the schemas, their $refs inlined, hold more than ${MAX_INLINED_NODES} objects and arrays`);
    if (Array.isArray(value)) return value.map((v) => resolve(v, expanding));
    if (typeof value.$ref === 'string' && value.$ref.startsWith('#/')) {
      if (expanding.has(value.$ref)) return {};
      const found = target(value.$ref);
      if (found === undefined) throw new OpenApiImportError([], `${value.$ref} is not in the document`);
      const { $ref: _ref, ...siblings } = value;
      const inlined = resolve(found, new Set([...expanding, value.$ref]));
      return isObject(inlined) && Object.keys(siblings).length > 0 ? { ...inlined, ...(resolve(siblings, expanding) as Json) } : inlined;
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, expanding)]));
  };
  return (value) => resolve(value, new Set());
}
