import { clearToken, getToken } from './session';

/** Wire types of the hookd API the dashboard reads (see /openapi.json). */

export interface Page<T> {
  data: T[];
  iterator: string | null;
  prevIterator: string | null;
  done: boolean;
}

export interface Application {
  id: string;
  uid?: string;
  name: string;
  /** Messages per second each of its endpoints is sent at most, unless the endpoint sets its own (Svix's throttleRate). */
  throttleRate?: number;
  /** hookd: messages per second it may send to hookd (absent: the server's HOOKD_APP_RATE_LIMIT; 0: none). */
  ingestRateLimit?: number;
  createdAt: string;
  updatedAt: string;
}

export interface Endpoint {
  id: string;
  uid?: string;
  url: string;
  description: string;
  disabled: boolean;
  filterTypes?: string[];
  channels?: string[];
  rateLimit?: number;
  createdAt: string;
  updatedAt: string;
}

export interface Counts {
  success: number;
  pending: number;
  sending: number;
  fail: number;
}

export interface EndpointStats extends Counts {
  canceled: number;
  /** hookd: the endpoint's circuit breaker. */
  circuit?: { state: 'closed' | 'open' | 'half-open'; failureStreak: number; openedAt: string | null; nextProbeAt: string | null };
  /** hookd: its in-flight budget across all workers. */
  concurrency?: { limit: number; adaptive: number; inFlight: number };
}

/** hookd extension (GET .../endpoint-health): an endpoint with its health, one request for a whole list. */
export interface EndpointHealth {
  endpoint: Endpoint;
  disabledReason?: string;
  failingSince?: string;
  stats: EndpointStats;
  lastAttempt?: { id: string; msgId: string; responseStatusCode: number; statusText: string; timestamp: string };
}

export interface LatencyStats {
  attempts: number;
  succeeded: number;
  failed: number;
  successRate: number | null;
  latencyMs: { p50: number | null; p90: number | null; p99: number | null; max: number | null };
}

export interface EventType {
  name: string;
  description: string;
  archived: boolean;
  deprecated: boolean;
  /** JSON schemas by version; send-example sends `schemas["1"].examples[0]`. */
  schemas?: Record<string, { examples?: unknown[] } | undefined>;
  createdAt: string;
}

export type SourceScheme = 'hmac-sha256' | 'slack' | 'standard-webhooks' | 'api-key';

export interface Source {
  id: string;
  name: string;
  ingestPath: string;
  verification: { scheme: SourceScheme; header: string; prefix: string; secretSet: boolean };
  eventType: { header?: string; field?: string; default?: string };
  createdAt: string;
}

export interface ApiKey {
  id: string;
  name: string;
  appId: string | null;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
  /** App-portal tokens expire and may be read-only. */
  expiresAt?: string | null;
  readOnly?: boolean;
}

export type StatusText = 'success' | 'pending' | 'sending' | 'fail' | 'none';

export interface Message {
  id: string;
  eventId?: string;
  eventType: string;
  payload: Record<string, unknown>;
  channels?: string[];
  tags?: string[];
  timestamp: string;
}

export interface MessageWithStatus extends Message {
  statusText: StatusText;
  deliveries: Counts;
}

export interface MessageEndpoint extends Endpoint {
  statusText: StatusText;
  nextAttempt?: string;
  attempts: number;
}

export interface Attempt {
  id: string;
  msgId: string;
  endpointId: string;
  url: string;
  response: string;
  responseStatusCode: number;
  responseDurationMs: number;
  statusText: string;
  triggerType: number;
  timestamp: string;
  error?: string;
  /** hookd: the request's headers as sent (sensitive custom headers redacted); absent on attempts from before hookd kept them. */
  requestHeaders?: Record<string, string>;
  /** hookd: the response's headers; absent when no response arrived. */
  responseHeaders?: Record<string, string>;
}

export interface Delivery {
  id: string;
  msgId: string;
  endpointId: string;
  eventType: string;
  msgTimestamp: string;
  statusText: StatusText;
  attempts: number;
  nextAttempt?: string;
  lastError?: string;
  lastStatusCode?: number;
  updatedAt: string;
}

export interface AttemptSeries {
  since: string;
  until: string;
  intervalSeconds: number;
  data: { start: string; success: number; fail: number }[];
}

export interface RecoverOut {
  recovered: number;
}

export interface ReplayOut {
  replayed: number;
}

/** An API error: `status` 0 when the server could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
  }
}

type UnauthorizedListener = () => void;
let onUnauthorized: UnauthorizedListener = () => undefined;

/** Called when a stored token stops working (revoked): the app logs out. */
export function setUnauthorizedListener(listener: UnauthorizedListener): void {
  onUnauthorized = listener;
}

/**
 * How long a call may take before it fails (a form waits for its call, and takes no second submit meanwhile): hookd
 * answers 503 itself once its database does not answer within HOOKD_DB_TIMEOUT (5 s by default).
 */
const REQUEST_TIMEOUT_MS = 30_000;

/** Calls the API with `token` (default: the session's). */
export async function request<T>(method: string, path: string, body?: unknown, token: string | null = getToken()): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') throw new ApiError(0, 'timeout', `hookd did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`);
    throw new ApiError(0, 'network', `hookd could not be reached (${(error as Error).message})`);
  }
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const error = (json ?? {}) as { code?: string; detail?: unknown };
    const detail = Array.isArray(error.detail)
      ? error.detail.map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).join('.')}: ${d.msg ?? ''}`).join('; ')
      : typeof error.detail === 'string'
        ? error.detail
        : `HTTP ${response.status}`;
    if (response.status === 401 && token === getToken() && token !== null) {
      clearToken();
      onUnauthorized();
    }
    throw new ApiError(response.status, error.code ?? 'error', detail);
  }
  return json as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}) => request<T>('POST', path, body);
export const patch = <T>(path: string, body: unknown) => request<T>('PATCH', path, body);
export const del = (path: string) => request<null>('DELETE', path);

/** A query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const appPath = (appId: string) => `/api/v1/app/${encodeURIComponent(appId)}`;
