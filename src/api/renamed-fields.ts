import { isDeepStrictEqual } from 'node:util';
import { validationError } from '../domain/errors.js';

/**
 * Fields the Svix SDKs spell two ways. The v1 SDKs send `filterTypes`, `rateLimit` and `featureFlag`; the v2 SDKs
 * send `eventTypes`, `throttleRate` and `featureFlags` (svix 1.99.1 already knows both). Ignoring one spelling
 * would drop a setting silently (a filtered endpoint would receive every event type), so either is accepted,
 * and a body giving both with different values is a 422: which one was meant cannot be known.
 */
export function eitherName<T>(older: [name: string, value: T | undefined], newer: [name: string, value: T | undefined]): T | undefined {
  const [olderName, olderValue] = older;
  const [newerName, newerValue] = newer;
  if (olderValue !== undefined && newerValue !== undefined && !isDeepStrictEqual(olderValue, newerValue)) {
    throw validationError(['body', newerName], `${newerName} and ${olderName} are the same setting (${olderName} is its older name) and were given different values`);
  }
  return newerValue !== undefined ? newerValue : olderValue;
}

/** An endpoint body's event type filter, under either name. */
export const eventTypesOf = (body: { filterTypes?: string[] | null; eventTypes?: string[] | null }): string[] | null | undefined =>
  eitherName(['filterTypes', body.filterTypes], ['eventTypes', body.eventTypes]);

/** An application's or endpoint's rate limit, under either name. */
export const rateLimitOf = (body: { rateLimit?: number | null; throttleRate?: number | null }): number | null | undefined =>
  eitherName(['rateLimit', body.rateLimit], ['throttleRate', body.throttleRate]);

/** An event type's feature flag: `featureFlag`, or the v2 list `featureFlags` of at most one (the schema says so). */
export function featureFlagOf(body: { featureFlag?: string | null; featureFlags?: string[] | null }): string | null | undefined {
  const fromList = body.featureFlags === undefined ? undefined : (body.featureFlags?.[0] ?? null);
  return eitherName(['featureFlag', body.featureFlag], ['featureFlags', fromList]);
}
