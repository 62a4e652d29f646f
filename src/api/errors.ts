import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HookdError, type ValidationIssue } from '../domain/errors.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

/**
 * Validation and error mapping for the whole API:
 * - bodies are validated strictly (no type coercion: `"eventType": 1` is a 422, not "1");
 * - query strings and path params are coerced (they are strings on the wire);
 * - every error leaves as JSON `{code, detail}`; validation errors as 422 `{code, detail: [{loc, msg, type}]}`;
 * - 5xx details are logged, never sent.
 */
export function installValidationAndErrors(app: FastifyInstance): void {
  const options = { allErrors: false, useDefaults: true, removeAdditional: false, strict: false } as const;
  const bodyAjv = addFormats(new Ajv({ ...options, coerceTypes: false }));
  const paramAjv = addFormats(new Ajv({ ...options, coerceTypes: 'array' }));
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : paramAjv).compile(schema));
  app.setSchemaErrorFormatter((errors, dataVar) => {
    const error = new HookdError('HOOKD_ERR_VALIDATION', 'request validation failed', errors.map((e) => toIssue(e as ErrorObject, dataVar)));
    return error as unknown as Error;
  });
  app.setErrorHandler((error: FastifyError | HookdError, request: FastifyRequest, reply: FastifyReply) => {
    const hookdError = error instanceof HookdError ? error : fromFastifyError(error);
    if (hookdError.status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(hookdError.status).type('application/json').send(hookdError.toBody());
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ code: 'not_found', detail: `no route for ${request.method} ${request.url.split('?')[0]}` }),
  );
}

const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

function toIssue(e: ErrorObject, dataVar: string): ValidationIssue {
  const loc: (string | number)[] = [PART_NAMES[dataVar] ?? dataVar];
  for (const part of e.instancePath.split('/').slice(1)) loc.push(/^\d+$/.test(part) ? Number(part) : part.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required') loc.push((e.params as { missingProperty: string }).missingProperty);
  const msg = e.keyword === 'required' ? 'field required' : (e.message ?? 'invalid value');
  return { loc, msg, type: `value_error.${e.keyword}` };
}

function fromFastifyError(error: FastifyError): HookdError {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HookdError('HOOKD_ERR_BAD_REQUEST', `request body is not valid JSON: ${error.message}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HookdError('HOOKD_ERR_PAYLOAD_TOO_LARGE', 'request body is larger than the configured limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HookdError('HOOKD_ERR_UNSUPPORTED_MEDIA_TYPE', 'send the request body as application/json');
    default:
      break;
  }
  if (error.validation) return new HookdError('HOOKD_ERR_VALIDATION', error.message, [{ loc: ['body'], msg: error.message, type: 'value_error' }]);
  const status = error.statusCode ?? 500;
  if (status === 400 && /JSON|proto|constructor/i.test(error.message)) {
    return new HookdError('HOOKD_ERR_BAD_REQUEST', `request body rejected: ${error.message}`);
  }
  if (status === 413) return new HookdError('HOOKD_ERR_PAYLOAD_TOO_LARGE', 'request body is larger than the configured limit');
  if (status === 415) return new HookdError('HOOKD_ERR_UNSUPPORTED_MEDIA_TYPE', 'send the request body as application/json');
  if (status >= 400 && status < 500) return new HookdError('HOOKD_ERR_BAD_REQUEST', error.message);
  return new HookdError('HOOKD_ERR_INTERNAL', error.message);
}
