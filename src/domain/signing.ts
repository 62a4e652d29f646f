import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EndpointSecret } from './types.js';

/** Standard Webhooks signing (https://www.standardwebhooks.com/): `v1,<base64 HMAC-SHA256>`. */

export const SECRET_PREFIX = 'whsec_';
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
/**
 * Most secrets an endpoint signs with: the current one and the most recent rotated-out ones still in their grace
 * period. Each is one HMAC over the payload per attempt, on the delivery thread every tenant shares, and one signature
 * in the header: 2,000 rotations a week apart made 2,000 HMACs of each payload and headers receivers refuse.
 */
export const MAX_SIGNING_SECRETS = 5;

export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(MIN_SECRET_BYTES).toString('base64');
}

/** Returns the decoded key bytes of a `whsec_` secret, or null if it is not a valid secret. */
export function secretKeyBytes(secret: string): Buffer | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return null;
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length < MIN_SECRET_BYTES || bytes.length > MAX_SECRET_BYTES) return null;
  return bytes;
}

/** Signs `{msgId}.{timestampS}.{body}`; `body` may be the payload's bytes (as sent), which are then not encoded again. */
export function sign(secret: string, msgId: string, timestampS: number, body: string | Buffer): string {
  const mac = createHmac('sha256', signingKey(secret)).update(`${msgId}.${timestampS}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/** Decoded keys of the secrets that signed lately, so a secret is checked and decoded once, not on every request. */
const signingKeys = new Map<string, Buffer>();
const SIGNING_KEYS_KEPT = 10_000;

function signingKey(secret: string): Buffer {
  let key = signingKeys.get(secret);
  if (!key) {
    key = secretKeyBytes(secret) ?? undefined;
    if (!key) throw new Error('invalid endpoint secret');
    if (signingKeys.size >= SIGNING_KEYS_KEPT) signingKeys.clear();
    signingKeys.set(secret, key);
  }
  return key;
}

/** The secrets that sign now: the current one and every rotated-out one still in its grace period. */
export function activeSecrets(secrets: readonly EndpointSecret[], nowMs: number): EndpointSecret[] {
  return secrets.filter((secret) => secret.expiresAt === null || secret.expiresAt > nowMs);
}

/** The webhook-signature header value: one `v1,` signature per active secret, space-separated. */
export function signatureHeader(
  secrets: readonly EndpointSecret[],
  msgId: string,
  timestampS: number,
  body: string | Buffer,
  nowMs: number,
): string {
  return activeSecrets(secrets, nowMs)
    .slice(0, MAX_SIGNING_SECRETS)
    .map((secret) => sign(secret.key, msgId, timestampS, body))
    .join(' ');
}

/** A per-process key, so safeEqual compares digests an attacker cannot precompute. */
const COMPARE_KEY = randomBytes(32);

/**
 * Constant-time string comparison for signatures, tokens and secrets: both sides are reduced to HMAC digests
 * of one length first, so neither the position of the first difference nor the length of the expected value
 * shows in the time taken.
 */
export function safeEqual(a: string, b: string): boolean {
  const left = createHmac('sha256', COMPARE_KEY).update(a).digest();
  const right = createHmac('sha256', COMPARE_KEY).update(b).digest();
  return timingSafeEqual(left, right);
}
