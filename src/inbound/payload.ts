import type { IncomingHttpHeaders } from 'node:http';
import { HookdError, validationError } from '../domain/errors.js';
import { MAX_JSON_DEPTH, nestingBeyond, unstorableValue, withoutBom } from '../api/json-body.js';
import type { Source } from '../store/store.js';
import { headerValue } from './verify.js';

/**
 * What an inbound request becomes once its signature checked out: the payload (a JSON object: a message's
 * payload is one, and receivers expect JSON), the event type and the eventId. The body becomes the payload
 * according to its content type:
 * - `application/x-www-form-urlencoded` (GitHub's default, Slack): a form whose only field is `payload` (GitHub,
 *   Slack interactivity) carries JSON, and that JSON is the payload; any other form (Slack slash commands)
 *   becomes a JSON object of its fields, as strings; a body starting with `{` is JSON under the wrong label.
 * - `multipart/form-data`: refused, it cannot become a JSON message (415).
 * - anything else is JSON text, the payload byte for byte (without the whitespace or byte order mark around it).
 *   For a content type that says neither JSON nor text, a body that is not JSON is a 415, not a 422: the problem
 *   is what the sender sends, not a detail of it.
 * Other refusals are 422s at the offending place (415 for a compressed body or a charset other than UTF-8): the
 * sender's request cannot become a message as sent, so retrying it unchanged will not help.
 */

export interface InboundPayload {
  /** The payload as it is stored, signed and delivered. */
  text: string;
  /** The same, parsed: where the source's event type field is read. */
  value: Record<string, unknown>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const NAME = /^[a-zA-Z0-9\-_.]{1,256}$/;
/** An eventId from a header: visible ASCII, at most 256 characters (message eventIds are stored as text). */
const EVENT_ID = /^[\x21-\x7e]{1,256}$/;
const FORM = 'application/x-www-form-urlencoded';

export function payloadOf(body: Buffer, headers: IncomingHttpHeaders): InboundPayload {
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw new HookdError('HOOKD_ERR_UNSUPPORTED_MEDIA_TYPE', `content-encoding "${encoding.slice(0, 64)}" is not supported: send the body uncompressed`);
  }
  const contentType = headers['content-type'] ?? '';
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType)?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw new HookdError('HOOKD_ERR_UNSUPPORTED_MEDIA_TYPE', `charset "${charset.slice(0, 64)}" is not supported: send the body in UTF-8`);
  }
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'multipart/form-data') throw cannotBecomeJson(type);
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw validationError(['body'], 'the body is not valid UTF-8', 'value_error.str.unicode');
  }
  if (type === FORM) return formPayload(text);
  const saysJsonOrText = type === '' || type === 'text/plain' || type.endsWith('/json') || type.endsWith('+json');
  return jsonPayload(text, ['body'], `the body (${type === '' ? 'no content-type' : type.slice(0, 64)})`, saysJsonOrText ? null : type);
}

/**
 * JSON text that must hold an object, at `loc` (`what` names it in messages). When it is not JSON at all and
 * came with `otherType`, a content type that says neither JSON nor text, that type is the problem (415).
 */
function jsonPayload(text: string, loc: (string | number)[], what: string, otherType: string | null = null): InboundPayload {
  const json = withoutBom(text);
  const tooDeep = nestingBeyond(json, MAX_JSON_DEPTH);
  if (tooDeep) throw validationError([...loc, ...tooDeep.slice(1)], `JSON nested deeper than ${MAX_JSON_DEPTH} levels`, 'value_error.json.depth');
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    if (otherType !== null) throw cannotBecomeJson(otherType);
    throw validationError(loc, `${what} must be a JSON object: ${(error as Error).message}`, 'value_error.json');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw validationError(loc, `${what} must be a JSON object`, 'type_error.dict');
  const issue = unstorableValue(value, loc);
  if (issue) throw new HookdError('HOOKD_ERR_VALIDATION', issue.msg, [issue]);
  // JSON.parse accepted it, so all that surrounds the value is JSON whitespace.
  return { text: json.trim(), value: value as Record<string, unknown> };
}

const cannotBecomeJson = (type: string): HookdError =>
  new HookdError(
    'HOOKD_ERR_UNSUPPORTED_MEDIA_TYPE',
    `content-type ${type.slice(0, 64)} cannot become a JSON message: send JSON (application/json or text/plain) or ${FORM}`,
  );

/**
 * A form as the payload: the JSON in its field `payload` when that is its only field (GitHub, Slack
 * interactivity), otherwise an object of its fields as strings (Slack slash commands), which hookd writes.
 */
function formPayload(text: string): InboundPayload {
  // A form serializer percent-encodes "{": a form that starts with one is JSON under the wrong label.
  if (withoutBom(text).trimStart().startsWith('{')) return jsonPayload(text, ['body'], `the body (${FORM})`);
  const fields = formFields(text);
  const only = fields.length === 1 ? fields[0]! : null;
  if (only !== null && only[0] === 'payload') return jsonPayload(only[1], ['body', 'payload'], 'the form field payload');
  if (fields.length === 0) throw validationError(['body'], 'the form has no fields: there is nothing to make a message of', 'value_error.missing');
  const seen = new Set<string>();
  for (const [name] of fields) {
    if (seen.has(name)) throw validationError(['body', name], `the form field "${name.slice(0, 64)}" appears more than once; a form becomes a JSON object of its fields, one string each`, 'value_error.form.duplicate');
    seen.add(name);
  }
  // fromEntries defines own properties: a field named __proto__ is an ordinary key.
  const value = Object.fromEntries(fields);
  const issue = unstorableValue(value, ['body']);
  if (issue) throw new HookdError('HOOKD_ERR_VALIDATION', issue.msg, [issue]);
  return { text: JSON.stringify(value), value };
}

/** The name/value pairs of an urlencoded form, in order. */
function formFields(text: string): [string, string][] {
  const fields: [string, string][] = [];
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    fields.push(eq === -1 ? [formDecode(pair), ''] : [formDecode(pair.slice(0, eq)), formDecode(pair.slice(eq + 1))]);
  }
  return fields;
}

/** A form name or value: `+` is a space, `%XX` are bytes of UTF-8; a malformed escape or bytes that are not UTF-8 are refused, never guessed. */
function formDecode(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    throw validationError(['body'], 'the form is not valid: a malformed %-escape, or %-escaped bytes that are not UTF-8', 'value_error.form');
  }
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
