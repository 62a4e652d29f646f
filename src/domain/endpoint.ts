import { newId } from './ids.js';
import { generateSecret } from './signing.js';
import type { Endpoint } from './types.js';

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
