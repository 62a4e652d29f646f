import type { Store } from './store.js';

/**
 * How each adapter splits the Store by concern, one file each in src/store/sqlite/ and src/store/postgres/ (the
 * adapter's store class composes them): what tenants configure, messages, the delivery queue, administration, and
 * the read-only views and figures.
 */
export type AppOps = Pick<
  Store,
  | 'createApp'
  | 'getApp'
  | 'listApps'
  | 'updateApp'
  | 'deleteApp'
  | 'createEndpoint'
  | 'getEndpoint'
  | 'listEndpoints'
  | 'updateEndpoint'
  | 'deleteEndpoint'
  | 'createEventType'
  | 'getEventType'
  | 'missingEventTypes'
  | 'listEventTypes'
  | 'updateEventType'
  | 'saveEventTypes'
  | 'deleteEventType'
  | 'createSource'
  | 'getSource'
  | 'findSource'
  | 'listSources'
  | 'updateSource'
  | 'deleteSource'
>;

export type MessageOps = Pick<
  Store,
  'insertMessages' | 'getMessage' | 'listMessages' | 'insertMessageTo' | 'expungeMessageContent' | 'expungeAllContents' | 'listAttempts' | 'getAttempt' | 'expungeAttemptContent'
>;

export type QueueOps = Pick<
  Store,
  | 'claimDeliveries'
  | 'completeDeliveries'
  | 'extendLeases'
  | 'releaseDeliveries'
  | 'subscribeDeliveriesDue'
  | 'nextDueAt'
  | 'resendDelivery'
  | 'recoverFailed'
  | 'replayMissing'
  | 'bulkReplay'
  | 'listMessageDeliveries'
  | 'endpointQueueState'
>;

export type AdminOps = Pick<
  Store,
  | 'createApiKey'
  | 'createFirstAdminKey'
  | 'findApiKeyByHash'
  | 'listApiKeys'
  | 'revokeApiKey'
  | 'expirePortalTokens'
  | 'beginIdempotent'
  | 'finishIdempotent'
  | 'saveBackgroundTask'
  | 'getBackgroundTask'
  | 'listBackgroundTasks'
  | 'purgeMessages'
  | 'purgeIdempotencyKeys'
  | 'purgeExpiredApiKeys'
  | 'purgeBackgroundTasks'
>;

export type StatsOps = Pick<
  Store,
  'listDeliveries' | 'listEndpointMessages' | 'countMessageDeliveries' | 'endpointStats' | 'attemptSeries' | 'queueStats' | 'endpointLatency'
>;

/** Adds `time` for an endpoint to a map of when endpoints must be ready, keeping the earliest (readyBy's input). */
export function earliest(at: Map<string, number>, endpointId: string, time: number): void {
  const known = at.get(endpointId);
  if (known === undefined || time < known) at.set(endpointId, time);
}
