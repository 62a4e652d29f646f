import type { lookup as dnsLookup } from 'node:dns';
import { isIP, type Socket } from 'node:net';
import { Agent, buildConnector } from 'undici';
import type { ConnectionFailure } from '../domain/scheduler.js';
import { DestinationPolicy, SsrfError } from './ssrf.js';

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  /** The payload; as bytes when the caller holds them already (one Buffer for all deliveries of a message). */
  body: string | Buffer;
}

/** What one POST produced. `statusCode` is 0 when no HTTP response arrived. */
export interface SendResult {
  statusCode: number;
  /** The response body, truncated to the configured limit (UTF-8, lossy). */
  body: string;
  /** The response headers (repeated ones joined by ", "), at most RESPONSE_HEADERS_LIMIT_BYTES; null without a response. */
  headers: Record<string, string> | null;
  durationMs: number;
  retryAfter: string | null;
  /** Why no response arrived (timeout, connection refused, invalid URL...), else null. */
  error: string | null;
  /** Whether the error says the receiver is unreachable or hanging (the scheduler's circuit breaker counts these). */
  failure: ConnectionFailure | null;
  /** The caller's signal cut the request off (a shutdown): nothing to hold against the receiver. */
  aborted?: boolean;
}

export interface HttpSenderOptions {
  timeoutMs: number;
  responseBodyLimitBytes: number;
  /** Sockets per origin. The worker never has more requests in flight to one origin, so none waits for one. */
  connectionsPerOrigin: number;
  /** Which addresses may be connected to (the SSRF guard); default: public addresses only. */
  destinations?: DestinationPolicy;
  /** The resolver behind the guard (dns.lookup unless a test needs a name to resolve somewhere else). */
  lookup?: typeof dnsLookup;
}

/**
 * Posts webhooks through one undici Agent: a keep-alive Pool per origin, no redirects followed,
 * a hard timeout over the whole exchange, and at most `responseBodyLimitBytes` of the response kept.
 *
 * Requests go on the wire at once: the delivery worker claims only what its per-origin room allows
 * (`connectionsPerOrigin`, the Pool's socket count), so nothing queues here for a connection.
 */
export class HttpSender {
  private readonly agent: Agent;
  private readonly live = new WeakMap<AbortSignal, Set<AbortController>>();

  constructor(private readonly options: HttpSenderOptions) {
    this.agent = new Agent({
      connections: options.connectionsPerOrigin,
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: guardedConnector(options.destinations ?? new DestinationPolicy(), options.lookup, Math.min(options.timeoutMs, 10_000)),
    });
  }

  /** Sends the request; every outcome, an error included, is a SendResult. `abort` cuts it off early (shutdown). */
  async send(request: SendRequest, abort?: AbortSignal): Promise<SendResult> {
    let url: URL;
    try {
      url = new URL(request.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported protocol ${url.protocol}`);
    } catch (error) {
      return { statusCode: 0, body: '', headers: null, durationMs: 0, retryAfter: null, error: `invalid url: ${(error as Error).message}`, failure: null };
    }
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    // One controller per request: the timeout over the whole exchange, and the caller's abort (a shutdown).
    // (AbortSignal.timeout + AbortSignal.any cost several times as much per request on Node 20.)
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('the request timed out', 'TimeoutError')), this.options.timeoutMs);
    const live = abort ? this.liveUnder(abort) : null;
    if (abort?.aborted) controller.abort(abort.reason);
    live?.add(controller);
    try {
      const response = await this.agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: request.headers,
        body: request.body,
        signal: controller.signal,
      });
      const body = await readCapped(response.body, this.options.responseBodyLimitBytes);
      const retryAfter = response.headers['retry-after'];
      return {
        statusCode: response.statusCode,
        body,
        headers: cappedHeaders(response.headers),
        durationMs: elapsed(),
        retryAfter: Array.isArray(retryAfter) ? (retryAfter[0] ?? null) : (retryAfter ?? null),
        error: null,
        failure: null,
      };
    } catch (error) {
      if (abort?.aborted) return { statusCode: 0, body: '', headers: null, durationMs: elapsed(), retryAfter: null, error: 'aborted: hookd is shutting down', failure: null, aborted: true };
      const described = describeError(error);
      return { statusCode: 0, body: '', headers: null, durationMs: elapsed(), retryAfter: null, error: described.error, failure: described.failure };
    } finally {
      clearTimeout(timer);
      live?.delete(controller);
    }
  }

  /**
   * The requests on the wire under `abort`, all cut off when it fires. One listener per signal, not one per
   * request: an EventTarget's add/removeEventListener walk all its listeners, hundreds under load.
   */
  private liveUnder(abort: AbortSignal): Set<AbortController> {
    let live = this.live.get(abort);
    if (!live) {
      const controllers = new Set<AbortController>();
      const abortAll = (): void => {
        for (const controller of controllers) controller.abort(abort.reason);
      };
      abort.addEventListener('abort', abortAll, { once: true });
      this.live.set(abort, controllers);
      live = controllers;
    }
    return live;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * An undici connector that only opens sockets to permitted addresses: a hostname is resolved by a lookup that
 * drops refused addresses (the socket connects to exactly what was checked, so DNS rebinding cannot slip past),
 * an IP literal is checked before connecting, and the connected peer is checked once more.
 */
function guardedConnector(policy: DestinationPolicy, lookup: typeof dnsLookup | undefined, timeout: number): buildConnector.connector {
  const connect = buildConnector({ timeout, lookup: policy.guardedLookup(lookup) } as buildConnector.BuildOptions);
  return (options, callback) => {
    const literal = isIP(options.hostname) !== 0 ? policy.refusal(options.hostname) : null;
    if (literal) {
      callback(new SsrfError(literal), null);
      return;
    }
    connect(options, (error, socket) => {
      if (error) return callback(error, null);
      const peer = (socket as Socket).remoteAddress;
      const refusal = peer === undefined ? 'connected peer has no address' : policy.refusal(peer);
      if (refusal) {
        socket!.destroy();
        return callback(new SsrfError(refusal), null);
      }
      callback(null, socket!);
    });
  };
}

/** How much of a response's headers an attempt keeps (names and values); the rest are left out. */
export const RESPONSE_HEADERS_LIMIT_BYTES = 8192;

/** Response headers as an attempt records them: strings (repeated ones joined), at most RESPONSE_HEADERS_LIMIT_BYTES. */
function cappedHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  let size = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    size += name.length + text.length;
    if (size > RESPONSE_HEADERS_LIMIT_BYTES) break;
    kept[name] = text;
  }
  return kept;
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/**
 * Errors that mean no connection could be made or kept (refused, reset, unreachable, unresolvable, refused by the
 * SSRF guard, a TLS handshake that failed); with timeouts they feed the circuit breaker. Anything else (e.g. a
 * malformed response) does not.
 */
const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'HOOKD_SSRF_BLOCKED',
]);

function describeError(error: unknown): { error: string; failure: ConnectionFailure | null } {
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') return { error: 'timeout', failure: 'timeout' };
  const code = e.code ?? e.cause?.code;
  const message = e.message ?? e.cause?.message ?? String(error);
  return { error: code ? `${code}: ${message}` : message, failure: code !== undefined && (CONNECTION_ERRORS.has(code) || TLS_ERROR.test(code)) ? 'connection' : null };
}

/** A certificate the receiver's TLS handshake could not be verified with, or a handshake that failed. */
const TLS_ERROR = /^(CERT_|ERR_TLS_|ERR_SSL_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_VERIFY_LEAF_SIGNATURE$|UNABLE_TO_GET_ISSUER_CERT)/;
