import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyError, FastifyHttpOptions, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HookdError, type ValidationIssue } from '../domain/errors.js';
import { storeFailureOf } from '../store/failures.js';
import { unstorableValue } from './json-body.js';
import type { LazySchemas } from './lazy-schemas.js';
import { RepeatedWarning } from '../observability/log-throttle.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

/**
 * Validation and error mapping for the whole API:
 * - bodies are validated strictly (no type coercion: `"eventType": 1` is a 422, not "1");
 * - query strings and path params are coerced (they are strings on the wire);
 * - path and query values holding U+0000 or an unpaired surrogate (`%00`) are a 422, as in bodies (json-body.ts):
 *   PostgreSQL cannot compare text with them, so without this check a lookup would fail with a 500;
 * - every error leaves as JSON `{code, detail}`; validation errors as 422 `{code, detail: [{loc, msg, type}]}`;
 * - 5xx details are logged, never sent.
 * Errors Fastify raises before routing (bad percent-encoding, over-long path parameters) and malformed HTTP
 * reach these handlers only through the server options in `errorServerOptions`.
 */
export function installValidationAndErrors(app: FastifyInstance, schemas: LazySchemas): void {
  const options = { allErrors: false, useDefaults: true, removeAdditional: false, strict: false } as const;
  const bodyAjv = addFormats(new Ajv({ ...options, coerceTypes: false }));
  const paramAjv = addFormats(new Ajv({ ...options, coerceTypes: 'array' }));
  app.setValidatorCompiler(({ schema, httpPart }) =>
    schemas.validator(() => (httpPart === 'body' ? bodyAjv.compile(schema) : withStorableText(paramAjv.compile(schema)))),
  );
  app.setSchemaErrorFormatter((errors, dataVar) => {
    const error = new HookdError('HOOKD_ERR_VALIDATION', 'request validation failed', withoutNullAlternatives(errors as ErrorObject[]).map((e) => toIssue(e, dataVar)));
    return error as unknown as Error;
  });
  const warnings = storeWarnings();
  app.setErrorHandler((error: FastifyError | HookdError, request, reply) => sendError(error, request, reply, warnings));
  answerProtocolErrors(app);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = ROUTED_METHODS.filter((method) => app.findRoute({ method, url: request.url }) !== null);
    if (allowed.length === 0) return reply.code(404).send({ code: 'not_found', detail: `no route for ${request.method} ${path}` });
    // The path exists with other methods: RFC 9110 says 405 with the methods it serves.
    const detail = `${request.method} is not allowed on ${path}; it serves ${allowed.join(', ')}`;
    return reply.code(405).header('allow', allowed.join(', ')).send(new HookdError('HOOKD_ERR_METHOD_NOT_ALLOWED', detail).toBody());
  });
}

/** The methods hookd serves anywhere (HEAD wherever it serves GET). */
const ROUTED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** Seconds a client should wait before retrying when the database is away (503) or out of space (507). */
export const RETRY_AFTER_UNAVAILABLE_S = 2;
export const RETRY_AFTER_FULL_S = 30;

/** The warnings of a database away (503) or full (507), which refuse every request alike while they last. */
interface StoreWarnings {
  503: RepeatedWarning;
  507: RepeatedWarning;
}
const storeWarnings = (): StoreWarnings => ({ 503: new RepeatedWarning(), 507: new RepeatedWarning() });
/** For the errors raised before routing (never the database's). */
const preRoutingWarnings = storeWarnings();

function sendError(error: FastifyError | HookdError, request: FastifyRequest, reply: FastifyReply, warnings: StoreWarnings = preRoutingWarnings): FastifyReply {
  const hookdError = error instanceof HookdError ? error : (storeError(error) ?? fromFastifyError(error));
  if (hookdError.status === 503 || hookdError.status === 507) {
    // The database's fault, not a bug: a warning (one per interval while it lasts), and when to come back.
    warnings[hookdError.status].warn(request.log, { err: error }, hookdError.detail);
    reply.header('retry-after', String(hookdError.status === 503 ? RETRY_AFTER_UNAVAILABLE_S : RETRY_AFTER_FULL_S));
  } else if (hookdError.status >= 500) request.log.error({ err: error }, 'request failed');
  return reply.code(hookdError.status).type('application/json').send(hookdError.toBody());
}

/** A database fault as the client should see it: 503 (away or too slow: retry) or 507 (out of space). */
function storeError(error: unknown): HookdError | null {
  switch (storeFailureOf(error)) {
    case 'unavailable':
      return new HookdError('HOOKD_ERR_UNAVAILABLE', 'the database is unavailable or too slow right now; retry after the Retry-After delay (a message may have been stored: with the same eventId, a retry never stores it twice, and answers 409 if it was)');
    case 'full':
      return new HookdError('HOOKD_ERR_INSUFFICIENT_STORAGE', 'the database is out of space; nothing was stored; retry after the Retry-After delay');
    case null:
      return null;
  }
}

/** Connections whose request was answered before its body had all come, while that body is still arriving. */
const answeredEarly = new WeakSet<Socket>();

/**
 * Fastify server options (for `Fastify({...})`) that send the errors raised outside the request lifecycle in
 * the same `{code, detail}` shape: `frameworkErrors` (invalid percent-encoding in the path, a path parameter
 * over `maxParamLength`) and `clientErrorHandler` (HTTP the server cannot parse: bad request line or
 * headers, headers over 16 KB, conflicting content-length and transfer-encoding). Node's own check for a
 * missing Host header answers an empty 400, so it is turned off here and made in `answerProtocolErrors`.
 */
export const errorServerOptions: Pick<FastifyHttpOptions<Server>, 'frameworkErrors' | 'clientErrorHandler' | 'http'> = {
  http: { requireHostHeader: false },
  frameworkErrors: (error, request, reply) => {
    sendError(error, request, reply);
  },
  clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
    // A reset connection has nobody left to answer (Node's own handler does the same); a request answered already
    // (before its body came, which then stalled) gets no second answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    if (answeredEarly.has(socket)) {
      socket.destroy();
      return;
    }

    const answer =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new HookdError('HOOKD_ERR_REQUEST_TIMEOUT', 'the request was not received in time')
        : new HookdError('HOOKD_ERR_BAD_REQUEST', error.code === 'HPE_HEADER_OVERFLOW' ? 'request headers are too large' : 'malformed HTTP request');
    const body = JSON.stringify(answer.toBody());
    if (socket.writable) {
      const reason = answer.status === 408 ? 'Request Timeout' : 'Bad Request';
      socket.write(`HTTP/1.1 ${answer.status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy();
  },
};

/**
 * Fastify server options bounding how long a request may take to arrive (headers, then the whole request): Node
 * checks its connections every `connectionsCheckingInterval` (30 s by default, which made a 60 s bound up to 90 s),
 * here a quarter of the bound.
 */
export function requestTimeouts(timeoutMs: number): Pick<FastifyHttpOptions<Server>, 'requestTimeout' | 'http'> {
  return {
    requestTimeout: timeoutMs,
    // requestTimeout in both: Node refuses a headersTimeout over the requestTimeout the server is made with (its default,
    // 5 minutes, unless given here); Fastify sets the server's own after making it (0, no bound, unless given).
    http: { ...errorServerOptions.http, requestTimeout: timeoutMs, headersTimeout: timeoutMs, connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(timeoutMs / 4))) },
  };
}

/**
 * What Node's HTTP server would otherwise answer itself, without a JSON body: an HTTP/1.1 request without a
 * Host header (RFC 9112: 400), an `Expect` other than 100-continue (an empty 417; RFC 9110 lets a server
 * ignore it, so the request is simply handled) and CONNECT (the connection was dropped without an answer).
 */
function answerProtocolErrors(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    if (request.raw.httpVersion === '1.1' && !request.headers.host) throw new HookdError('HOOKD_ERR_BAD_REQUEST', 'an HTTP/1.1 request needs a Host header');
  });
  // An answer sent before the request's body has all come (a 401 from the headers alone): Node reads and drops the
  // rest of the body, and the connection stays open. If that body then stalls, the connection is closed at the bound
  // without a second, unasked-for answer (clientErrorHandler). Closing it at once instead would reset the upload of
  // a large body, and the client could lose the 401 itself.
  app.addHook('onSend', (request, _reply, payload, done) => {
    if (!request.raw.complete) {
      const { socket } = request.raw;
      answeredEarly.add(socket);
      request.raw.once('end', () => answeredEarly.delete(socket));
    }
    done(null, payload);
  });
  app.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => app.server.emit('request', request, response));
  app.server.on('connect', (_request: IncomingMessage, socket: Socket) => {
    const body = JSON.stringify(new HookdError('HOOKD_ERR_METHOD_NOT_ALLOWED', 'CONNECT is not supported').toBody());
    socket.on('error', () => socket.destroy());
    socket.end(`HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
}

/** A path/query validator that also refuses strings no store can compare (see json-body.ts). */
function withStorableText(validate: ValidateFunction): ValidateFunction {
  const checked = ((data: unknown, context?: Parameters<ValidateFunction>[1]) => {
    if (!validate(data, context)) {
      checked.errors = validate.errors;
      return false;
    }
    const issue = unstorableValue(data, []);
    if (!issue) {
      checked.errors = null;
      return true;
    }
    const instancePath = issue.loc.map((part) => `/${String(part).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
    checked.errors = [{ instancePath, schemaPath: '#', keyword: 'str.unicode', params: {}, message: issue.msg }];
    return false;
  }) as ValidateFunction;
  checked.schema = validate.schema;
  checked.schemaEnv = validate.schemaEnv;
  return checked;
}

const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

/** The `anyOf` whose branch `error` is, when it is the null branch of a nullable field (`anyOf: [T, {type: null}]`). */
const nullBranchOf = (error: ErrorObject): string | null =>
  error.keyword === 'type' && (error.params as { type?: unknown }).type === 'null' ? (/^(.*\/anyOf)\/\d+\/type$/.exec(error.schemaPath)?.[1] ?? null) : null;

/**
 * A nullable field's failure told once: Ajv reports a value that fails `anyOf: [T, null]` three times (what T
 * says, "must be null", "must match a schema in anyOf"), and only T's says what is wrong. The other two go when T's
 * own error is there to say it.
 */
function withoutNullAlternatives(errors: ErrorObject[]): ErrorObject[] {
  const told = new Set<string>();
  for (const error of errors) {
    const anyOf = nullBranchOf(error);
    if (anyOf && errors.some((other) => other.schemaPath.startsWith(`${anyOf}/`) && nullBranchOf(other) === null)) told.add(anyOf);
  }
  if (told.size === 0) return errors;
  return errors.filter((error) => !(error.keyword === 'anyOf' && told.has(error.schemaPath)) && !told.has(nullBranchOf(error) ?? ''));
}

function toIssue(e: ErrorObject, dataVar: string): ValidationIssue {
  const loc: (string | number)[] = [PART_NAMES[dataVar] ?? dataVar];
  for (const part of e.instancePath.split('/').slice(1)) loc.push(/^\d+$/.test(part) ? Number(part) : part.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required') loc.push((e.params as { missingProperty: string }).missingProperty);
  const msg = e.keyword === 'required' ? 'field required' : (e.message ?? 'invalid value');
  return { loc, msg, type: `value_error.${e.keyword}` };
}

function fromFastifyError(error: FastifyError): HookdError {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return new HookdError('HOOKD_ERR_BAD_REQUEST', 'the URL is not valid: bad percent-encoding or not UTF-8');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new HookdError('HOOKD_ERR_VALIDATION', 'path parameter too long', [{ loc: ['path'], msg: 'a path parameter is too long', type: 'value_error.any_str.max_length' }]);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HookdError('HOOKD_ERR_PAYLOAD_TOO_LARGE', 'request body is larger than the configured limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      // Every well-formed media type reaches json-body.ts's parsers, which name it; this is a malformed header.
      return new HookdError('HOOKD_ERR_UNSUPPORTED_MEDIA_TYPE', 'the content-type header is not a valid media type: send the request body as application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HookdError('HOOKD_ERR_UNSUPPORTED_MEDIA_TYPE', 'send the request body as application/json');
    default:
      break;
  }
  if (error.validation) return new HookdError('HOOKD_ERR_VALIDATION', error.message, [{ loc: ['body'], msg: error.message, type: 'value_error' }]);
  const status = error.statusCode ?? 500;
  if (status === 413) return new HookdError('HOOKD_ERR_PAYLOAD_TOO_LARGE', 'request body is larger than the configured limit');
  if (status === 415) return new HookdError('HOOKD_ERR_UNSUPPORTED_MEDIA_TYPE', 'send the request body as application/json');
  if (status >= 400 && status < 500) return new HookdError('HOOKD_ERR_BAD_REQUEST', error.message);
  return new HookdError('HOOKD_ERR_INTERNAL', error.message);
}
