import { newId } from '../domain/ids.js';
import { attemptStartedAt, type Attempt, type Message } from '../domain/types.js';
import type { AckedResult, AttemptNotice, AttemptNoticeFact, DisabledEndpointFact, OperationalEventSource } from '../store/store.js';
import { countsTowardAttempts } from '../store/endpoint-signals.js';

/**
 * Operational webhooks: what hookd tells its operator about deliveries, in Svix's event names and payload shapes
 * (svix@1.99.1 EndpointDisabledEvent, MessageAttempt{Exhausted,Failing,Recovered}Event): `{type, timestamp, data}`.
 * `timestamp` (when it happened) and endpoint.disabled's `reason` are hookd additions; SDK types ignore them.
 *
 * These are pure functions: the store calls them inside the ack transaction (AckPolicy.events), so an event
 * is committed together with the state change it reports.
 */

export const OPERATIONAL_EVENT_TYPES = ['endpoint.disabled', 'message.attempt.exhausted', 'message.attempt.failing', 'message.attempt.recovered'] as const;
export type OperationalEventType = (typeof OPERATIONAL_EVENT_TYPES)[number];

/** Svix sends message.attempt.failing on a delivery's 4th failed attempt, when more attempts follow. */
export const FAILING_NOTICE_AT_ATTEMPT = 4;

/**
 * The notice an applied result raises:
 * - exhausted: the delivery ended failed (its last scheduled attempt failed, or the endpoint answered 410 Gone);
 * - failing: its 4th attempt failed and it will be retried (a schedule of fewer than 4 retries only exhausts);
 * - recovered: it succeeded after a failing or exhausted notice went out for it (e.g. a resend after exhaustion).
 * An attempt that did not count (cut off by a shutdown; to a former URL, retriedAtNewUrl) raises none: its delivery's
 * attempts are as before, and a `failing` at that count went out already.
 */
export function noticeFor({ result, attempts, failureNotified }: AckedResult): AttemptNotice | null {
  if (!countsTowardAttempts(result)) return null;
  if (result.attempt.status === 'success') return failureNotified ? 'recovered' : null;
  if (result.next.status === 'failed') return 'exhausted';
  return attempts === FAILING_NOTICE_AT_ATTEMPT ? 'failing' : null;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Svix MessageAttemptFailedData. */
function lastAttempt(attempt: Attempt): { id: string; responseStatusCode: number; timestamp: string } {
  return { id: attempt.id, responseStatusCode: attempt.responseStatusCode, timestamp: iso(attemptStartedAt(attempt)) };
}

export interface OperationalEvent {
  type: OperationalEventType;
  timestamp: string;
  data: Record<string, unknown>;
}

/** message.attempt.{exhausted,failing,recovered}: Svix MessageAttempt*EventData. */
export function attemptEvent({ notice, attempt, appUid, msgEventId }: AttemptNoticeFact): OperationalEvent {
  return {
    type: `message.attempt.${notice}`,
    timestamp: iso(attempt.createdAt),
    data: { appId: attempt.appId, appUid, msgId: attempt.messageId, msgEventId, endpointId: attempt.endpointId, lastAttempt: lastAttempt(attempt) },
  };
}

/** endpoint.disabled: Svix EndpointDisabledEventData (trigger automatic), plus the reason. */
export function endpointDisabledEvent(fact: DisabledEndpointFact): OperationalEvent {
  return {
    type: 'endpoint.disabled',
    timestamp: iso(fact.at),
    data: {
      appId: fact.appId,
      appUid: fact.appUid,
      endpointId: fact.endpointId,
      endpointUid: fact.endpointUid,
      failSince: fact.failSince === null ? null : iso(fact.failSince),
      trigger: 'automatic',
      reason: fact.reason,
    },
  };
}

/** An event as an ordinary message to the operator application (so it is signed, retried and logged like any). */
export function eventMessage(operatorAppId: string, event: OperationalEvent, atMs: number): Message {
  return {
    id: newId('msg', atMs),
    appId: operatorAppId,
    eventId: null,
    eventType: event.type,
    payload: JSON.stringify(event),
    channels: null,
    tags: null,
    createdAt: atMs,
  };
}

/** The event source for AckPolicy.events: notices and disabled endpoints become messages to `operatorAppId`. */
export function operationalEventSource(operatorAppId: string): OperationalEventSource {
  return {
    noticeFor,
    messagesFor(notices, disabled) {
      return [
        ...notices.map((fact) => eventMessage(operatorAppId, attemptEvent(fact), fact.attempt.createdAt)),
        ...disabled.map((fact) => eventMessage(operatorAppId, endpointDisabledEvent(fact), fact.at)),
      ];
    },
  };
}
