import type { Endpoint } from './types.js';

/**
 * Whether a message of `eventType` on `channels` goes to `endpoint`:
 * - disabled or filtered-out endpoints never receive it;
 * - an endpoint with `filterTypes` receives only those event types;
 * - an endpoint with `channels` receives only messages on at least one of its channels;
 *   an endpoint without channels receives every message.
 */
export function endpointMatches(
  endpoint: Pick<Endpoint, 'disabled' | 'filterTypes' | 'channels'>,
  eventType: string,
  channels: readonly string[] | null,
): boolean {
  if (endpoint.disabled) return false;
  if (endpoint.filterTypes && endpoint.filterTypes.length > 0 && !endpoint.filterTypes.includes(eventType)) {
    return false;
  }
  if (endpoint.channels && endpoint.channels.length > 0) {
    if (!channels || !channels.some((channel) => endpoint.channels!.includes(channel))) return false;
  }
  return true;
}
