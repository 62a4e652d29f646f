/**
 * The one place coded errors are defined. Each code carries its HTTP status; the wire `code` follows the
 * Svix error format so SDK clients can branch on it.
 */
export const HOOKD_ERR = {
  HOOKD_ERR_AUTHENTICATION: { status: 401, code: 'authentication_failed' },
  HOOKD_ERR_FORBIDDEN: { status: 403, code: 'insufficient_access' },
  HOOKD_ERR_NOT_FOUND: { status: 404, code: 'not_found' },
  HOOKD_ERR_METHOD_NOT_ALLOWED: { status: 405, code: 'method_not_allowed' },
  HOOKD_ERR_CONFLICT: { status: 409, code: 'conflict' },
  HOOKD_ERR_IDEMPOTENCY_IN_PROGRESS: { status: 409, code: 'idempotency_conflict' },
  HOOKD_ERR_PAYLOAD_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  HOOKD_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  HOOKD_ERR_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout' },
  HOOKD_ERR_RANGE_NOT_SATISFIABLE: { status: 416, code: 'range_not_satisfiable' },
  HOOKD_ERR_BAD_REQUEST: { status: 400, code: 'bad_request' },
  HOOKD_ERR_MISSING_PAYLOAD: { status: 400, code: 'missing_payload' },
  HOOKD_ERR_VALIDATION: { status: 422, code: 'validation' },
  HOOKD_ERR_RATE_LIMITED: { status: 429, code: 'rate_limited' },
  HOOKD_ERR_UNAVAILABLE: { status: 503, code: 'unavailable' },
  HOOKD_ERR_INSUFFICIENT_STORAGE: { status: 507, code: 'insufficient_storage' },
  HOOKD_ERR_INTERNAL: { status: 500, code: 'internal_error' },
} as const;

export type HookdErrorName = keyof typeof HOOKD_ERR;

/** One element of a 422 response, in the Svix/FastAPI shape. */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export class HookdError extends Error {
  override readonly name = 'HookdError';
  readonly status: number;
  readonly code: string;

  constructor(
    readonly kind: HookdErrorName,
    readonly detail: string,
    readonly issues?: ValidationIssue[],
  ) {
    super(detail);
    this.status = HOOKD_ERR[kind].status;
    this.code = HOOKD_ERR[kind].code;
  }

  /**
   * The JSON body sent to clients. Details of internal errors never leave the process; 503 and 507 say what the
   * client can do (their details are written for clients).
   */
  toBody(): { code: string; detail: string | ValidationIssue[] } {
    if (this.status >= 500 && this.status !== 503 && this.status !== 507) return { code: this.code, detail: 'internal server error' };
    return { code: this.code, detail: this.issues ?? this.detail };
  }
}

export const notFound = (what: string): HookdError => new HookdError('HOOKD_ERR_NOT_FOUND', `${what} not found`);
export const conflict = (detail: string): HookdError => new HookdError('HOOKD_ERR_CONFLICT', detail);
export const validationError = (loc: (string | number)[], msg: string, type = 'value_error'): HookdError =>
  new HookdError('HOOKD_ERR_VALIDATION', msg, [{ loc, msg, type }]);
