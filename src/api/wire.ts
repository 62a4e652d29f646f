import type { FastifyReply } from 'fastify';
import type { ApiKey, App, Attempt, BackgroundTask, Delivery, Endpoint, EventType, Message, Page } from '../domain/types.js';
import { MessageStatus, attemptStartedAt } from '../domain/types.js';
import type { EndpointMessage } from '../store/store.js';

/**
 * Domain records -> Svix wire objects (camelCase, RFC 3339 dates, absent instead of null). Renamed fields are
 * answered under both names, as Svix's server does: the v1 SDKs read filterTypes / rateLimit / featureFlag, the
 * v2 SDKs eventTypes / throttleRate / featureFlags.
 */

const iso = (ms: number): string => new Date(ms).toISOString();
const opt = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

export const appOut = (a: App) => ({
  id: a.id,
  uid: opt(a.uid),
  name: a.name,
  rateLimit: opt(a.rateLimit),
  throttleRate: opt(a.rateLimit),
  ingestRateLimit: opt(a.ingestRateLimit),
  metadata: a.metadata,
  createdAt: iso(a.createdAt),
  updatedAt: iso(a.updatedAt),
});

export const endpointOut = (e: Endpoint) => ({
  id: e.id,
  uid: opt(e.uid),
  url: e.url,
  description: e.description,
  rateLimit: opt(e.rateLimit),
  throttleRate: opt(e.rateLimit),
  maxConcurrency: opt(e.maxConcurrency),
  version: e.version,
  disabled: e.disabled,
  filterTypes: opt(e.filterTypes),
  eventTypes: opt(e.filterTypes),
  channels: opt(e.channels),
  metadata: e.metadata,
  createdAt: iso(e.createdAt),
  updatedAt: iso(e.updatedAt),
});

const messageFields = (m: Message) => ({
  id: m.id,
  eventId: opt(m.eventId),
  eventType: m.eventType,
  channels: opt(m.channels),
  tags: opt(m.tags),
  timestamp: iso(m.createdAt),
});

/** A message with its payload parsed, for responses that embed one (an attempt's `msg`). */
export const messageOut = (m: Message, withContent = true) => ({
  ...messageFields(m),
  payload: withContent ? (JSON.parse(m.payload) as Record<string, unknown>) : {},
});

/**
 * A message as JSON text with its stored payload spliced in unparsed, so a payload reads back byte for byte as
 * it was sent and is delivered: parsing it would round big integers and turn `1.0` into `1`. The message routes
 * send this text as it is (the response schema only documents it).
 */
export function messageJson(m: Message, withContent = true): string {
  const fields = JSON.stringify(messageFields(m));
  return `${fields.slice(0, -1)},"payload":${withContent ? m.payload : '{}'}}`;
}

/** A page of messages as JSON text, each as messageJson writes it. */
export function messagePageJson(page: Page<Message>, withContent: boolean): string {
  return pageJson(page, (m) => messageJson(m, withContent));
}

/**
 * A message routed to an endpoint (list-attempted-messages) as JSON text: its delivery's status and next attempt,
 * then the message as messageJson writes it (payload byte for byte).
 */
export function endpointMessageJson(item: EndpointMessage, withContent: boolean): string {
  const delivery = JSON.stringify({
    status: MessageStatus[item.statusText],
    statusText: item.statusText,
    nextAttempt: item.nextAttemptAt === null ? undefined : iso(item.nextAttemptAt),
  });
  return `${delivery.slice(0, -1)},${messageJson(item.message, withContent).slice(1)}`;
}

/** A list page as JSON text, its items already JSON text. */
export function pageJson<T>(page: Page<T>, itemJson: (item: T) => string): string {
  const rest = JSON.stringify({ iterator: page.iterator, prevIterator: page.prevIterator, done: page.done });
  return `{"data":[${page.data.map(itemJson).join(',')}],${rest.slice(1)}`;
}

export const attemptOut = (a: Attempt, withContent = true, msg?: Message) => ({
  id: a.id,
  msgId: a.messageId,
  endpointId: a.endpointId,
  url: a.url,
  response: withContent ? a.response : '{}', // as Svix answers without content
  responseStatusCode: a.responseStatusCode,
  responseDurationMs: a.responseDurationMs,
  status: MessageStatus[a.status === 'success' ? 'success' : 'fail'],
  statusText: a.status,
  triggerType: a.triggerType,
  timestamp: iso(attemptStartedAt(a)),
  error: opt(a.error),
  requestHeaders: a.requestHeaders ?? undefined,
  responseHeaders: a.responseHeaders ?? undefined,
  msg: msg ? messageOut(msg, withContent) : undefined,
});

/** The Svix status of a delivery: pending, sending (leased now), success or fail. */
export function deliveryStatusText(d: Delivery, nowMs: number): keyof typeof MessageStatus {
  if (d.status === 'succeeded') return 'success';
  if (d.status === 'failed') return 'fail';
  return d.leaseOwner !== null && d.leaseExpiresAt !== null && d.leaseExpiresAt > nowMs ? 'sending' : 'pending';
}

export const eventTypeOut = (e: EventType) => ({
  name: e.name,
  description: e.description,
  archived: e.archived,
  deprecated: e.deprecated,
  schemas: opt(e.schemas),
  featureFlag: opt(e.featureFlag),
  featureFlags: e.featureFlag === null ? undefined : [e.featureFlag],
  groupName: opt(e.groupName),
  createdAt: iso(e.createdAt),
  updatedAt: iso(e.updatedAt),
});

/** An API key on the wire: never its token or hash. */
export const apiKeyOut = (k: ApiKey) => ({
  id: k.id,
  name: k.name,
  appId: k.appId,
  prefix: k.prefix,
  createdAt: iso(k.createdAt),
  revokedAt: k.revokedAt === null ? null : iso(k.revokedAt),
  expiresAt: k.expiresAt === null ? null : iso(k.expiresAt),
  readOnly: k.readOnly,
  capabilities: k.capabilities,
});

export const pageOut = <T, U>(page: Page<T>, map: (item: T) => U) => ({
  data: page.data.map(map),
  iterator: page.iterator,
  prevIterator: page.prevIterator,
  done: page.done,
});

/** Sends JSON text as it is (Fastify serialises only objects): for answers with payloads spliced in unparsed. */
export function sendJsonText(reply: FastifyReply, text: string): FastifyReply {
  return reply.type('application/json').send(text);
}

export const backgroundTaskOut = (t: BackgroundTask) => ({ id: t.id, status: t.status, task: t.task, updatedAt: iso(t.updatedAt), data: t.data });
