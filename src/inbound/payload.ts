import type { IncomingHttpHeaders } from 'node:http';
import { HookdError, validationError } from '../domain/errors.js';
import { MAX_JSON_DEPTH, nestingBeyond, unstorableValue } from '../api/json-body.js';
import type { Source } from '../store/store.js';
import { headerValue } from './verify.js';

/**
 * What an inbound request becomes once its signature checked out: the payload (the body, which must be a JSON
 * object: a message's payload is one, and receivers expect JSON), the event type and the eventId. Refusals
 * are 422s at the offending place (415 for a compressed body or a charset other than UTF-8): the sender's
 * request cannot become a message as sent, so retrying it unchanged will not help.
 */

/** Parses JSON text like the API's own parser (prototype-poisoning keys refused); throws on malformed text. */
export type JsonParser = (text: string) => Promise<unknown>;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const NAME = /^[a-zA-Z0-9\-_.]{1,256}$/;
/** An eventId from a header: visible ASCII, at most 256 characters (message eventIds are stored as text). */
const EVENT_ID = /^[\x21-\x7e]{1,256}$/;

export async function payloadOf(body: Buffer, headers: IncomingHttpHeaders, parseJson: JsonParser): Promise<Record<string, unknown>> {
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw new HookdError('HOOKD_ERR_UNSUPPORTED_MEDIA_TYPE', `content-encoding "${encoding.slice(0, 64)}" is not supported: send the body uncompressed`);
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw new HookdError('HOOKD_ERR_UNSUPPORTED_MEDIA_TYPE', `charset "${charset.slice(0, 64)}" is not supported: send JSON in UTF-8`);
  }
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw validationError(['body'], 'the body is not valid UTF-8', 'value_error.str.unicode');
  }
  const tooDeep = nestingBeyond(text, MAX_JSON_DEPTH);
  if (tooDeep) throw validationError(tooDeep, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`, 'value_error.json.depth');
  let parsed: unknown;
  try {
    parsed = await parseJson(text);
  } catch (error) {
    throw validationError(['body'], `the body must be a JSON object: ${(error as Error).message}`, 'value_error.json');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw validationError(['body'], 'the body must be a JSON object', 'type_error.dict');
  const issue = unstorableValue(parsed, ['body']);
  if (issue) throw new HookdError('HOOKD_ERR_VALIDATION', issue.msg, [issue]);
  return parsed as Record<string, unknown>;
}

/** The event type: from the source's header if present, else its JSON field if present, else its default. */
export function eventTypeOf(source: Source, headers: IncomingHttpHeaders, payload: Record<string, unknown>): string {
  const { header, field } = source.eventType;
  if (header !== null) {
    const value = headerValue(headers, header);
    if (value !== null) return checkedName(value.trim(), ['header', header]);
  }
  if (field !== null) {
    const path = fieldPath(field);
    const value = valueAt(payload, path);
    if (typeof value === 'string') return checkedName(value, ['body', ...path]);
    if (value !== undefined && value !== null) throw validationError(['body', ...path], 'the event type field must be a string', 'type_error.str');
  }
  if (source.eventType.default !== null) return source.eventType.default;
  const places = [header !== null ? `header ${header}` : null, field !== null ? `field ${field}` : null].filter((p) => p !== null).join(' or ');
  throw validationError(header !== null ? ['header', header] : ['body', ...fieldPath(field ?? '')], `no event type: ${places || 'nothing'} given and the source has no default`, 'value_error.missing');
}

/** The eventId (idempotency key) from the source's idempotency header; null when it has none or it is absent. */
export function eventIdOf(source: Source, headers: IncomingHttpHeaders): string | null {
  if (source.idempotencyHeader === null) return null;
  const value = headerValue(headers, source.idempotencyHeader);
  if (value === null) return null;
  if (!EVENT_ID.test(value)) throw validationError(['header', source.idempotencyHeader], 'must be 1 to 256 visible ASCII characters', 'value_error.str.regex');
  return value;
}

/** `data.object.type` -> ['data', 'object', 'type']; numeric segments index arrays. */
export function fieldPath(field: string): (string | number)[] {
  return field.split('.').filter((part) => part.length > 0);
}

function valueAt(root: unknown, path: (string | number)[]): unknown {
  let node = root;
  for (const part of path) {
    if (Array.isArray(node) && /^\d+$/.test(String(part))) node = node[Number(part)];
    else if (typeof node === 'object' && node !== null && !Array.isArray(node) && Object.hasOwn(node, part)) node = (node as Record<string, unknown>)[part];
    else return undefined;
  }
  return node;
}

function checkedName(value: string, loc: (string | number)[]): string {
  if (!NAME.test(value)) throw validationError(loc, 'an event type is 1 to 256 characters of a-z, A-Z, 0-9, "-", "_" and "."', 'value_error.str.regex');
  return value;
}
