import type { lookup as dnsLookup } from 'node:dns';
import { createRequire } from 'node:module';
import { isIP, type Socket } from 'node:net';
import type * as Undici from 'undici';
import type { ConnectionFailure } from '../domain/scheduler.js';
import { DestinationPolicy, SsrfError } from './ssrf.js';
import { boundedLookup } from './lookups.js';

// undici's index loads all of undici (fetch, WebSocket, caches, mocks: 3 MB of the delivery thread's heap, measured
// at rest); this file needs only the Agent and its connector. undici has no exports map: its files can be named, and
// package.json pins undici to patch releases because these paths are not its public API.
const require = createRequire(import.meta.url);
/**
 * The Agent as its own file makes it: the index adds request(), stream() and pipeline() to every dispatcher, so only
 * dispatch() and the closing methods are there without it.
 */
type Agent = Pick<Undici.Agent, 'dispatch' | 'close' | 'destroy'>;
const Agent = require('undici/lib/dispatcher/agent.js') as new (options: Undici.Agent.Options) => Agent;
const buildConnector = require('undici/lib/core/connect.js') as typeof Undici.buildConnector;

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  /** The payload; as bytes when the caller holds them already (one Buffer for all deliveries of a message). */
  body: string | Buffer;
}

/** What one POST produced. `statusCode` is 0 when no HTTP response arrived. */
export interface SendResult {
  statusCode: number;
  /**
   * The response body, truncated to the configured limit: UTF-8, lossy (invalid sequences and NUL as U+FFFD, which
   * every store can hold: PostgreSQL refuses NUL in text, and the attempt would fail its whole ack batch).
   */
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
  private readonly live = new WeakMap<AbortSignal, Set<Exchange>>();

  constructor(private readonly options: HttpSenderOptions) {
    this.agent = new Agent({
      connections: options.connectionsPerOrigin,
      keepAliveTimeout: 30_000,
      // undici's default (16 KiB, as Node's server) made a 2xx with a large Set-Cookie a failure, sent again each retry.
      maxHeaderSize: RESPONSE_HEADER_BYTES_PARSED,
      // The Exchange's timer is the bound (see there); undici's own timers fire after a stall as ours did, so they
      // are only a backstop, a little later.
      headersTimeout: options.timeoutMs + STALL_BACKSTOP_MS,
      bodyTimeout: options.timeoutMs + STALL_BACKSTOP_MS,
      connect: guardedConnector(options.destinations ?? new DestinationPolicy(), options.lookup, Math.min(options.timeoutMs, 10_000)),
    });
  }

  /** Sends the request; every outcome, an error included, is a SendResult. `abort` cuts it off early (shutdown). */
  send(request: SendRequest, abort?: AbortSignal): Promise<SendResult> {
    let url: URL;
    try {
      url = new URL(request.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported protocol ${url.protocol}`);
    } catch (error) {
      return Promise.resolve({ statusCode: 0, body: '', headers: null, durationMs: 0, retryAfter: null, error: `invalid url: ${(error as Error).message}`, failure: null });
    }
    return new Promise((resolve) => {
      const exchange = new Exchange(this.options, resolve, abort ? this.liveUnder(abort) : null);
      if (abort?.aborted) exchange.cancel(abort.reason);
      try {
        this.agent.dispatch({ origin: url.origin, path: `${url.pathname}${url.search}`, method: 'POST', headers: request.headers, body: request.body }, exchange);
      } catch (error) {
        exchange.onError(error as Error);
      }
    });
  }

  /**
   * The requests on the wire under `abort`, all cut off when it fires. One listener per signal, not one per
   * request: an EventTarget's add/removeEventListener walk all its listeners, hundreds under load.
   */
  private liveUnder(abort: AbortSignal): Set<Exchange> {
    let live = this.live.get(abort);
    if (!live) {
      const exchanges = new Set<Exchange>();
      const abortAll = (): void => {
        for (const exchange of exchanges) exchange.cancel(abort.reason);
      };
      abort.addEventListener('abort', abortAll, { once: true });
      this.live.set(abort, exchanges);
      live = exchanges;
    }
    return live;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** The largest response head read (status line and headers); an attempt keeps RESPONSE_HEADERS_LIMIT_BYTES of it. */
const RESPONSE_HEADER_BYTES_PARSED = 256 * 1024;

/** How much later than the Exchange's own timer undici's headers and body timeouts fire. */
const STALL_BACKSTOP_MS = 1000;

/**
 * One request's handler in undici's dispatch interface: the response is taken as it arrives (status, headers, body
 * chunks up to the limit), with no stream, async iterator or AbortSignal per request. A timer bounds the whole
 * exchange; cancel() (a shutdown) cuts it off. Every ending (an answer, an error, the timeout, a body beyond the
 * limit, a cancel) resolves the request's SendResult exactly once.
 *
 * The timeout takes effect after the event loop's next I/O: when the loop stalled past the deadline (a starved
 * CPU, a long GC), timers run before the sockets are read, so a timer that cut the request off at once would call
 * an answer that had arrived in time a timeout (and the delivery would be sent again). Seen in the scale-out test on
 * a loaded 2-core machine: a burst of "timeout 2001 ms" attempts for a receiver that answers within 20 ms.
 */
class Exchange implements Undici.Dispatcher.DispatchHandler {
  private readonly started = performance.now();
  private readonly timer: NodeJS.Timeout;
  private abortRequest: ((reason: Error) => void) | null = null;
  /** Why the request was cut off before it ended by itself, if it was. */
  private cutOff: { reason: Error; kind: 'timeout' | 'cancel' | 'limit' } | null = null;
  private statusCode = 0;
  private headers: Record<string, string> | null = null;
  private retryAfter: string | null = null;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private done = false;

  constructor(
    private readonly options: HttpSenderOptions,
    private readonly resolve: (result: SendResult) => void,
    private readonly live: Set<Exchange> | null,
  ) {
    this.timer = setTimeout(() => setImmediate(() => this.cutOffWith('timeout', new DOMException('the request timed out', 'TimeoutError'))), options.timeoutMs);
    live?.add(this);
  }

  /** A shutdown: the request stops now and its result says so. */
  cancel(reason: unknown): void {
    this.cutOffWith('cancel', reason instanceof Error ? reason : new Error('aborted'));
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.abortRequest = abort;
    if (this.cutOff) abort(this.cutOff.reason);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], _resume: () => void, _statusText: string): boolean {
    this.statusCode = statusCode;
    const { kept, retryAfter } = readHeaders(rawHeaders);
    this.headers = kept;
    this.retryAfter = retryAfter;
    return true;
  }

  onData(chunk: Buffer): boolean {
    const limit = this.options.responseBodyLimitBytes;
    if (this.size < limit) this.chunks.push(chunk);
    this.size += chunk.length;
    // Enough kept: the rest is not read (the connection is closed rather than drained).
    if (this.size >= limit) this.cutOffWith('limit', new Error('response body limit reached'));
    return true;
  }

  onComplete(): void {
    this.answered();
  }

  onError(error: Error): void {
    switch (this.cutOff?.kind) {
      case 'limit':
        return this.answered();
      case 'cancel':
        return this.finish({ statusCode: 0, body: '', headers: null, durationMs: this.elapsed(), retryAfter: null, error: 'aborted: hookd is shutting down', failure: null, aborted: true });
      default: {
        const described = describeError(this.cutOff?.reason ?? error);
        // The receiver answered (its status line and headers arrived), then its body was cut off or never ended:
        // the answer is its status, as the Standard Webhooks spec and Svix judge a delivery (a 200 called a failure
        // was sent again, with the same webhook-id, and held against the endpoint's circuit).
        if (this.statusCode > 0) return this.answered(`the response body was not read in full: ${described.error}`);
        return this.finish({ statusCode: 0, body: '', headers: null, durationMs: this.elapsed(), retryAfter: null, error: described.error, failure: described.failure });
      }
    }
  }

  private cutOffWith(kind: 'timeout' | 'cancel' | 'limit', reason: Error): void {
    if (this.done || this.cutOff) return;
    this.cutOff = { reason, kind };
    // Not on a socket yet (waiting for its connection): it ends now; onConnect aborts it before anything is written.
    if (this.abortRequest) this.abortRequest(reason);
    else this.onError(reason);
  }

  /** The receiver's answer: its status, headers and the body read (`error`: why not all of it was, if it mattered). */
  private answered(error: string | null = null): void {
    const body = storableText(Buffer.concat(this.chunks).subarray(0, this.options.responseBodyLimitBytes).toString('utf8'));
    this.finish({ statusCode: this.statusCode, body, headers: this.headers, durationMs: this.elapsed(), retryAfter: this.retryAfter, error, failure: null });
  }

  private finish(result: SendResult): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.live?.delete(this);
    this.resolve(result);
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.started);
  }
}

/**
 * An undici connector that only opens sockets to permitted addresses: a hostname is resolved (boundedLookup: a slow
 * DNS cannot take libuv's whole thread pool) by a lookup that drops refused addresses (the socket connects to exactly
 * what was checked, so DNS rebinding cannot slip past), an IP literal is checked before connecting, and the connected
 * peer is checked once more.
 */
function guardedConnector(policy: DestinationPolicy, lookup: typeof dnsLookup | undefined, timeout: number): Undici.buildConnector.connector {
  const connect = buildConnector({ timeout, lookup: policy.guardedLookup(boundedLookup(lookup)) } as Undici.buildConnector.BuildOptions);
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

/**
 * A response's headers from undici's raw [name, value, ...] pairs: `kept`, as an attempt records them (names in lower
 * case, repeated ones joined by ", ", at most RESPONSE_HEADERS_LIMIT_BYTES of names and values, later ones left out),
 * and the first Retry-After, wherever it is (the retry schedule needs it even past the limit, and one value).
 */
function readHeaders(raw: Buffer[]): { kept: Record<string, string>; retryAfter: string | null } {
  const kept: Record<string, string> = Object.create(null) as Record<string, string>;
  let retryAfter: string | null = null;
  let size = 0;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('utf8');
    if (name === 'retry-after') retryAfter ??= value;
    size += name.length + value.length;
    if (size <= RESPONSE_HEADERS_LIMIT_BYTES) kept[name] = name in kept ? `${kept[name]}, ${value}` : value;
  }
  return { kept, retryAfter };
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
  return { error: storableText(code ? `${code}: ${message}` : message), failure: code !== undefined && (CONNECTION_ERRORS.has(code) || TLS_ERROR.test(code)) ? 'connection' : null };
}

/** A certificate the receiver's TLS handshake could not be verified with, or a handshake that failed. */
const TLS_ERROR = /^(CERT_|ERR_TLS_|ERR_SSL_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_VERIFY_LEAF_SIGNATURE$|UNABLE_TO_GET_ISSUER_CERT)/;

/** Text any store keeps as it is: NUL (which PostgreSQL refuses in text) as U+FFFD, as decoding does with bad bytes. */
const storableText = (text: string): string => (text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text);
