import { newId } from './ids.js';
import { generateSecret } from './signing.js';
import type { Endpoint } from './types.js';

/** Custom headers whose values are secrets: never shown by the API, redacted in recorded attempts. */
const SENSITIVE_HEADERS = /^(authorization|proxy-authorization|cookie|x-api-key)$/i;

export const isSensitiveHeader = (name: string): boolean => SENSITIVE_HEADERS.test(name);

/** The headers of a request as an attempt records them: the values of sensitive custom headers redacted. */
export function recordedRequestHeaders(sent: Record<string, string>, custom: Record<string, string>): Record<string, string> {
  const sensitive = Object.keys(custom).filter(isSensitiveHeader);
  if (sensitive.length === 0) return sent;
  const recorded = { ...sent };
  for (const name of sensitive) recorded[name] = REDACTED;
  return recorded;
}

export const REDACTED = '[redacted]';

/** What a new endpoint must be given; everything else has the defaults of `POST .../endpoint`. */
export type NewEndpoint = Pick<Endpoint, 'appId' | 'url'> & Partial<Omit<Endpoint, 'id' | 'appId' | 'url' | 'createdAt' | 'updatedAt'>>;

/** A new, enabled endpoint with a fresh id and (unless given) a generated signing secret. */
export function newEndpoint(fields: NewEndpoint, nowMs: number): Endpoint {
  return {
    uid: null,
    description: '',
    version: 1,
    disabled: false,
    disabledReason: null,
    filterTypes: null,
    channels: null,
    headers: {},
    rateLimit: null,
    maxConcurrency: null,
    secrets: [{ key: generateSecret(), expiresAt: null }],
    metadata: {},
    firstFailureAt: null,
    ...fields,
    id: newId('ep', nowMs),
    createdAt: nowMs,
    updatedAt: nowMs,
  };
}
