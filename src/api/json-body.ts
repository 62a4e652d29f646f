import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HookdError, type ValidationIssue } from '../domain/errors.js';

/**
 * Deepest nesting of arrays and objects a JSON request body may have; the body itself is level 1, so a
 * message payload may nest 127 levels. The same limit as serde_json's default (which Svix uses): payloads
 * Svix accepts are accepted here, and every receiver that parses with a recursive descent parser can read what
 * hookd delivers. It also bounds everything that walks a parsed body recursively (validation, JSON.stringify of
 * stored fields and responses), which otherwise overflows the stack at a few thousand levels.
 */
export const MAX_JSON_DEPTH = 128;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The JSON request body as received (UTF-8 text, without a byte order mark), null without one. A message's
     * payload is stored as its span of this text, and idempotency keys hash it: bytes, not a re-serialisation.
     */
    bodyText: string | null;
  }
}

/**
 * The only request body parser: `application/json` (any parameters, charset UTF-8 if given), nothing else
 * (other types answer 415). An empty body is no body, whatever its content type: a route without a body schema
 * takes it (SDKs send resend and other body-less POSTs as an empty chunked request, with any content type or
 * none), a route whose body has required fields answers 422 at `body`, and for one whose fields are all optional
 * it is `{}`. JSON is parsed by JSON.parse, which defines every key as an own property, so `__proto__` and
 * `constructor.prototype` are ordinary keys that change no prototype. A body is refused when
 * - it is malformed JSON: 400;
 * - it is compressed (`content-encoding` other than identity): 415, hookd does not decompress;
 * - it is not valid UTF-8 (overlong forms, lone continuation bytes, encoded surrogates): 400, never decoded
 *   into U+FFFD, which would silently change the payload;
 * - it nests deeper than MAX_JSON_DEPTH: 422;
 * - a string or key holds U+0000 or an unpaired UTF-16 surrogate (`"\ud800"`), or a number is out of range
 *   (`1e400` cannot be read back as a number): 422 at the value. PostgreSQL text and jsonb cannot hold either
 *   character and strict JSON parsers reject lone surrogates, so both stores keep what was accepted, alike.
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  app.decorateRequest('bodyText', null);
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request: FastifyRequest, raw: string | Buffer, done) => {
    if (raw.length === 0) return done(null, undefined);
    let text: string;
    try {
      checkEncoding(request);
      text = withoutBom(utf8.decode(typeof raw === 'string' ? Buffer.from(raw) : raw));
    } catch (error) {
      done(error instanceof HookdError ? error : new HookdError('HOOKD_ERR_BAD_REQUEST', 'request body is not valid UTF-8'), undefined);
      return;
    }
    const tooDeep = nestingBeyond(text, MAX_JSON_DEPTH);
    if (tooDeep) {
      done(invalid({ loc: tooDeep, msg: `JSON nested deeper than ${MAX_JSON_DEPTH} levels`, type: 'value_error.json.depth' }), undefined);
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      done(new HookdError('HOOKD_ERR_BAD_REQUEST', `request body is not valid JSON: ${(error as Error).message}`), undefined);
      return;
    }
    const issue = unstorableValue(body, ['body']);
    if (issue) return done(invalid(issue), undefined);
    request.bodyText = text;
    done(null, body);
  });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request: FastifyRequest, raw: string | Buffer, done) => {
    if (raw.length === 0) return done(null, undefined);
    const type = request.headers['content-type'];
    const given = type === undefined ? 'a body without a content-type' : `content-type "${type.slice(0, 64)}"`;
    done(new HookdError('HOOKD_ERR_UNSUPPORTED_MEDIA_TYPE', `${given} is not supported: send the request body as application/json`), undefined);
  });
  app.addHook('preValidation', async (request) => {
    const schema = request.routeOptions.schema?.body as { required?: unknown[] } | undefined;
    if (request.body !== undefined || schema === undefined) return;
    // Where every field is optional (rotating a secret, a PATCH), no body is the empty object.
    if (!schema.required?.length) request.body = {};
    else throw invalid({ loc: ['body'], msg: 'a JSON request body is required', type: 'value_error.missing' });
  });
}

/** The text without a leading byte order mark, which JSON.parse refuses and senders sometimes write. */
export const withoutBom = (text: string): string => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

function checkEncoding(request: FastifyRequest): void {
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw new HookdError('HOOKD_ERR_UNSUPPORTED_MEDIA_TYPE', `content-encoding "${encoding.slice(0, 64)}" is not supported: send the body uncompressed`);
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(request.headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw new HookdError('HOOKD_ERR_UNSUPPORTED_MEDIA_TYPE', `charset "${charset.slice(0, 64)}" is not supported: send the body as application/json in UTF-8`);
  }
}

const invalid = (issue: ValidationIssue): HookdError => new HookdError('HOOKD_ERR_VALIDATION', issue.msg, [issue]);

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;

/**
 * Where JSON text first nests deeper than `limit` (as a loc: the body and the top-level key or index it is
 * under), or null. One pass over the text before it is parsed, without recursion; malformed text is left to
 * the parser. Text with no more than `limit` brackets cannot be too deep and is not scanned.
 */
export function nestingBeyond(text: string, limit: number): (string | number)[] | null {
  if (countBrackets(text, limit) <= limit) return null;
  let depth = 0;
  let inString = false;
  let stringStart = -1;
  let lastTopString = -1;
  let lastTopStringEnd = -1;
  let topKey: string | number | null = null;
  let topIsArray = false;
  let topIndex = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) {
        inString = false;
        if (depth === 1) {
          lastTopString = stringStart;
          lastTopStringEnd = i + 1;
        }
      }
      continue;
    }
    if (c === QUOTE) {
      inString = true;
      stringStart = i;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++;
      if (depth === 1) topIsArray = c === OPEN_ARRAY;
      else if (depth === 2 && topIsArray) topKey = topIndex;
      if (depth > limit) return topKey === null ? ['body'] : ['body', topKey];
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
      if (depth === 1 && !topIsArray) topKey = null;
    } else if (depth === 1 && c === COLON && !topIsArray && lastTopString >= 0) {
      topKey = keyText(text.slice(lastTopString, lastTopStringEnd));
    } else if (depth === 1 && c === COMMA) {
      if (topIsArray) topIndex++;
      topKey = null;
    }
  }
  return null;
}

/**
 * The source text of the top-level member `name` in the text of a JSON object, without the whitespace around
 * it, or null when there is none. Of duplicate keys the last one counts, as in JSON.parse, and keys compare as
 * JSON.parse reads them (`"p\u0061yload"` is `payload`). One pass without recursion; only for text that
 * JSON.parse accepted.
 */
export function memberText(text: string, name: string): string | null {
  const quotedName = JSON.stringify(name);
  let depth = 0;
  let lastString = '';
  let valueStart = -1;
  let found: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      // At depth 1 the string before a colon is a key.
      if (depth === 1) lastString = text.slice(i, end + 1);
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (depth === 1 && valueStart >= 0) {
        found = text.slice(valueStart, i).trim();
        valueStart = -1;
      }
      depth--;
    } else if (depth === 1 && c === COLON) {
      if (lastString === quotedName || (lastString.includes('\\') && keyText(lastString) === name)) valueStart = i + 1;
    } else if (depth === 1 && c === COMMA && valueStart >= 0) {
      found = text.slice(valueStart, i).trim();
      valueStart = -1;
    }
  }
  return found;
}

/** The index of the quote that closes the JSON string opened at `open`: the next one not escaped by a backslash. */
function stringEnd(text: string, open: number): number {
  for (let quote = text.indexOf('"', open + 1); quote !== -1; quote = text.indexOf('"', quote + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
  return text.length;
}

function countBrackets(text: string, stopAfter: number): number {
  let count = 0;
  for (const bracket of ['{', '[']) {
    for (let at = text.indexOf(bracket); at !== -1 && count <= stopAfter; at = text.indexOf(bracket, at + 1)) count++;
  }
  return count;
}

function keyText(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted;
  }
}

/** U+0000 or a UTF-16 surrogate without its pair (in unicode mode a proper pair is one code point). */
const UNSTORABLE_CHARACTER = /[\u0000\ud800-\udfff]/u;

/**
 * The first string, key or number in a parsed body that no store can keep as sent, as a validation issue at
 * its location under `loc`. Recursive: only called on bodies no deeper than MAX_JSON_DEPTH.
 */
export function unstorableValue(value: unknown, loc: (string | number)[]): ValidationIssue | null {
  const path = [...loc];
  const at = (msg: string, type: string): ValidationIssue => ({ loc: [...path], msg, type });
  // Every request body and query passes here: no [key, value] pair is made per member (half the time on payloads
  // with many members).
  const visit = (item: unknown): ValidationIssue | null => {
    if (typeof item === 'string') return UNSTORABLE_CHARACTER.test(item) ? at('must not contain U+0000 or an unpaired UTF-16 surrogate', 'value_error.str.unicode') : null;
    if (typeof item === 'number') return Number.isFinite(item) ? null : at('number is out of range', 'value_error.number.range');
    if (typeof item !== 'object' || item === null) return null;
    if (Array.isArray(item)) {
      for (let index = 0; index < item.length; index++) {
        path.push(index);
        const issue = visit(item[index]);
        path.pop();
        if (issue) return issue;
      }
      return null;
    }
    for (const key of Object.keys(item)) {
      path.push(key);
      const issue = UNSTORABLE_CHARACTER.test(key)
        ? at('key must not contain U+0000 or an unpaired UTF-16 surrogate', 'value_error.str.unicode')
        : visit((item as Record<string, unknown>)[key]);
      path.pop();
      if (issue) return issue;
    }
    return null;
  };
  return visit(value);
}
