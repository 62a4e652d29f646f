import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { TEST_TOKEN } from './hookd.js';

/**
 * Raw requests for hostile-input tests: `rawRequest` sends any body and headers through fetch (the ApiClient
 * always sends valid JSON), `rawHttp` writes bytes to a TCP socket for what fetch refuses to send (malformed
 * HTTP, dot segments, raw non-ASCII bytes). `jsonErrorProblem` / `assertJsonError` check hookd's error contract:
 * a JSON `{code, detail}` body, detail a list of `{loc, msg, type}` on a 422.
 */

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export interface RawInit {
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  /** A bearer token; null sends no Authorization header; the default is the test admin token. */
  token?: string | null;
  signal?: AbortSignal;
}

/** One request through fetch with any body and headers. */
export async function rawRequest(baseUrl: string, method: string, path: string, init: RawInit = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { ...(init.token === null ? {} : { authorization: `Bearer ${init.token ?? TEST_TOKEN}` }), ...init.headers };
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: init.body, signal: init.signal });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: parseJson(text) };
}

function parseJson(text: string): any {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return undefined;
  }
}

/**
 * What is wrong with `response` as a hookd error (null if nothing): a status outside `statuses` (any 4xx if
 * not given), a content-type other than JSON, or a body that is not `{code: string, detail}` with detail a
 * non-empty list of `{loc, msg, type}` on a 422 and a string otherwise.
 */
export function jsonErrorProblem(response: RawResponse, statuses?: readonly number[]): string | null {
  const expected = statuses ? statuses.join(' or ') : '4xx';
  if (statuses ? !statuses.includes(response.status) : response.status < 400 || response.status > 499) return `status ${response.status}, expected ${expected}`;
  if (!/^application\/json/.test(response.headers.get('content-type') ?? '')) return `content-type "${response.headers.get('content-type')}" is not application/json`;
  const body = response.json;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'body is not a JSON object';
  if (typeof body.code !== 'string' || body.code.length === 0) return 'body has no string code';
  if (response.status === 422) {
    if (!Array.isArray(body.detail) || body.detail.length === 0) return '422 detail is not a non-empty list';
    for (const issue of body.detail) {
      if (!issue || !Array.isArray(issue.loc) || typeof issue.msg !== 'string' || issue.msg.length === 0 || typeof issue.type !== 'string') {
        return `422 detail item is not {loc, msg, type}: ${JSON.stringify(issue)}`;
      }
    }
  } else if (typeof body.detail !== 'string' || body.detail.length === 0) return 'detail is not a string';
  return null;
}

/** Asserts a JSON error response `{code, detail}` with the given status (and code, if given). */
export function assertJsonError(response: RawResponse, status: number, code?: string): void {
  assert.equal(response.status, status, `expected ${status}, got ${response.status}: ${response.text}`);
  const problem = jsonErrorProblem(response, [status]);
  assert.equal(problem, null, `${problem}: ${response.text}`);
  if (code) assert.equal(response.json.code, code);
}

/** Asserts a 422 whose first issue sits at `loc`. */
export function assertValidation(response: RawResponse, loc: (string | number)[]): void {
  assertJsonError(response, 422);
  assert.deepEqual(response.json.detail[0].loc, loc, `loc of ${response.text}`);
}

/**
 * Writes `request` to a fresh TCP connection and reads one HTTP/1.1 response (Content-Length or chunked, or
 * up to the close). The server may answer and close before it has read everything (an early 413): a failed
 * write is ignored, only the response counts. Rejects when no complete response arrives within `timeoutMs`.
 */
export function rawHttp(port: number, request: Buffer | string, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (result: RawResponse | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const timer = setTimeout(() => finish(new Error(`no complete response within ${timeoutMs} ms (received ${Buffer.concat(chunks).length} bytes)`)), timeoutMs);
    const tryParse = (closed: boolean): void => {
      const parsed = parseHttpResponse(Buffer.concat(chunks), closed);
      if (parsed) finish(parsed);
      else if (closed) finish(new Error(`connection closed without a complete response: ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 300))}`));
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      tryParse(false);
    });
    socket.on('close', () => tryParse(true));
    socket.on('error', () => {
      // EPIPE / ECONNRESET after an early answer: the response (if any) is judged on close.
    });
    socket.on('connect', () => {
      socket.write(request, () => {
        // Done writing; keep reading.
      });
    });
  });
}

function parseHttpResponse(data: Buffer, closed: boolean): RawResponse | null {
  const headEnd = data.indexOf('\r\n\r\n');
  if (headEnd === -1) return null;
  const [statusLine, ...lines] = data.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!status) return null;
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let rest = data.subarray(headEnd + 4);
  let body: Buffer;
  const length = headers.get('content-length');
  if (length !== null) {
    if (rest.length < Number(length)) return null;
    body = rest.subarray(0, Number(length));
  } else if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      if (lineEnd === -1) return null;
      const size = parseInt(rest.subarray(0, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) return null;
      if (size === 0) break;
      if (rest.length < lineEnd + 2 + size + 2) return null;
      parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      rest = rest.subarray(lineEnd + 2 + size + 2);
    }
    body = Buffer.concat(parts);
  } else {
    if (!closed) return null;
    body = rest;
  }
  const text = body.toString('utf8');
  return { status: Number(status[1]), headers, text, json: parseJson(text) };
}
