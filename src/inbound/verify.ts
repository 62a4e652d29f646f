import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { safeEqual, secretKeyBytes } from '../domain/signing.js';
import type { SourceScheme, SourceVerification } from '../store/store.js';

/**
 * Verifies that an inbound request comes from the source's sender, over the raw body bytes as received.
 * Every comparison of a presented signature or key with the expected one goes through safeEqual (constant time,
 * length included). A timestamp is checked only after the signature matched, so a caller without the secret
 * learns nothing about the tolerance.
 *
 * - hmac-sha256: `<header>: <prefix><hex or base64 HMAC-SHA256(secret, body)>`; with a timestamp header the
 *   signed text is `<timestamp>.<body>` (the timestamp in Unix seconds), so it cannot be replayed with a new one.
 * - slack (https://api.slack.com/authentication/verifying-requests-from-slack): the same with Slack's fixed
 *   headers and signed text: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:{timestamp}:{body}")>`.
 * - standard-webhooks (https://www.standardwebhooks.com/): `webhook-id`, `webhook-timestamp` and
 *   `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>` (several, space-separated, while
 *   a sender rotates its secret), or the same as `svix-*` headers; the secret is `whsec_` + base64.
 * - api-key: `<header>: <prefix><secret>`.
 */

export type Verdict = { ok: true } | { ok: false; reason: string };

/** Defaults per scheme; standard-webhooks and slack fix their headers and encoding (their senders name them). */
export const SCHEME_DEFAULTS: Record<SourceScheme, Omit<SourceVerification, 'scheme' | 'secret' | 'toleranceSeconds'>> = {
  'hmac-sha256': { header: 'x-webhook-signature', prefix: 'sha256=', encoding: 'hex', timestampHeader: null },
  slack: { header: 'x-slack-signature', prefix: 'v0=', encoding: 'hex', timestampHeader: 'x-slack-request-timestamp' },
  'standard-webhooks': { header: 'webhook-signature', prefix: '', encoding: 'base64', timestampHeader: 'webhook-timestamp' },
  'api-key': { header: 'x-api-key', prefix: '', encoding: null, timestampHeader: null },
};
export const DEFAULT_TOLERANCE_SECONDS = 300;
/** Signatures looked at in one standard-webhooks header (a sender rotating its secret sends two). */
const MAX_SIGNATURES = 8;

const ok: Verdict = { ok: true };
const fail = (reason: string): Verdict => ({ ok: false, reason });

export function verifyRequest(verification: SourceVerification, headers: IncomingHttpHeaders, body: Buffer, nowMs: number): Verdict {
  switch (verification.scheme) {
    case 'hmac-sha256':
    case 'slack':
      return verifyHmac(verification, headers, body, nowMs);
    case 'standard-webhooks':
      return verifyStandardWebhooks(verification, headers, body, nowMs);
    case 'api-key':
      return verifyApiKey(verification, headers);
  }
}

function verifyHmac(v: SourceVerification, headers: IncomingHttpHeaders, body: Buffer, nowMs: number): Verdict {
  const presented = headerValue(headers, v.header);
  if (presented === null) return fail(`missing ${v.header} header`);
  let timestamp: string | null = null;
  if (v.timestampHeader !== null) {
    timestamp = headerValue(headers, v.timestampHeader);
    if (timestamp === null) return fail(`missing ${v.timestampHeader} header`);
    if (!TIMESTAMP.test(timestamp)) return fail(`${v.timestampHeader} is not a Unix time in seconds`);
  }
  const mac = createHmac('sha256', Buffer.from(v.secret, 'utf8'));
  if (timestamp !== null) mac.update(v.scheme === 'slack' ? `v0:${timestamp}:` : `${timestamp}.`);
  const expected = v.prefix + mac.update(body).digest(v.encoding === 'base64' ? 'base64' : 'hex');
  // Hex is case-insensitive (some senders write it in capitals); base64 is not.
  const matches = v.encoding === 'base64' ? safeEqual(presented, expected) : safeEqual(presented.toLowerCase(), expected.toLowerCase());
  if (!matches) return fail(`${v.header} does not match the request body`);
  return timestamp === null ? ok : checkTolerance(timestamp, v.toleranceSeconds, nowMs, v.timestampHeader!);
}

function verifyStandardWebhooks(v: SourceVerification, headers: IncomingHttpHeaders, body: Buffer, nowMs: number): Verdict {
  const prefix = headerValue(headers, 'webhook-signature') !== null ? 'webhook' : 'svix';
  const id = headerValue(headers, `${prefix}-id`);
  const timestamp = headerValue(headers, `${prefix}-timestamp`);
  const signatures = headerValue(headers, `${prefix}-signature`);
  if (id === null || timestamp === null || signatures === null) return fail('missing webhook-id, webhook-timestamp or webhook-signature header');
  if (!TIMESTAMP.test(timestamp)) return fail(`${prefix}-timestamp is not a Unix time in seconds`);
  const key = secretKeyBytes(v.secret);
  if (!key) return fail('the source secret is not a whsec_ secret');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  let matches = false;
  for (const entry of signatures.split(' ').filter((s) => s.length > 0).slice(0, MAX_SIGNATURES)) {
    const comma = entry.indexOf(',');
    if (comma > 0 && entry.slice(0, comma) === 'v1' && safeEqual(entry.slice(comma + 1), expected)) matches = true;
  }
  if (!matches) return fail(`${prefix}-signature does not match the request`);
  return checkTolerance(timestamp, v.toleranceSeconds, nowMs, `${prefix}-timestamp`);
}

function verifyApiKey(v: SourceVerification, headers: IncomingHttpHeaders): Verdict {
  const presented = headerValue(headers, v.header);
  if (presented === null) return fail(`missing ${v.header} header`);
  return safeEqual(presented, v.prefix + v.secret) ? ok : fail(`${v.header} is not this source's key`);
}

const TIMESTAMP = /^\d{1,12}$/;

function checkTolerance(timestamp: string, toleranceSeconds: number, nowMs: number, header: string): Verdict {
  const skewSeconds = Math.abs(nowMs / 1000 - Number(timestamp));
  return skewSeconds <= toleranceSeconds ? ok : fail(`${header} is more than ${toleranceSeconds} s away from now (a replay, or a wrong clock)`);
}

/**
 * A request header by lower-case name (repeated headers arrive joined by ", "); null when absent or empty. Only the
 * request's own headers: Node's header object inherits `constructor`, `toString`... which a source may name.
 */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const value = Object.hasOwn(headers, name) ? headers[name] : undefined;
  const text = Array.isArray(value) ? value.join(', ') : value;
  return text === undefined || text === '' ? null : text;
}
