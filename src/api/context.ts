import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { HookdError, notFound } from '../domain/errors.js';
import type { App, Endpoint, Message, PortalCapability } from '../domain/types.js';
import type { GroupCommitter } from '../store/group-commit.js';
import { DEFAULT_LIMIT } from '../store/paging.js';
import type { PageRequest, Store } from '../store/store.js';

/** What route handlers get from the app: injected once in buildApp, never read from globals. */
export interface HookdContext {
  store: Store;
  config: Config;
  ingest: Pick<GroupCommitter, 'submit'>;
  /** Tells the in-process worker (if any) that deliveries may be due now. */
  wakeWorker: () => void;
  /** Counts a message the API stored outside `ingest` (send-example) in hookd_messages_ingested_total, as ingest's are. */
  countStored: (message: Message) => void;
  clock: () => number;
  /** Set once a shutdown was asked for: /ready answers 503 from then on (RunningHookd.drain). */
  lifecycle: { draining: boolean };
}

/** The authenticated caller: an admin key (appId null) or a key scoped to one application. */
export interface Principal {
  keyId: string;
  appId: string | null;
  /** App-portal tokens expire (epoch ms); null: never. */
  expiresAt: number | null;
  /** A read-only app-portal token: GET and HEAD only. */
  readOnly: boolean;
  /**
   * The Svix capabilities an app-portal token is limited to, the read ones for a read-only token
   * (src/api/capabilities.ts limitsOf); null: not limited.
   */
  capabilities: PortalCapability[] | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    hookd: HookdContext;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new HookdError('HOOKD_ERR_AUTHENTICATION', 'missing or invalid bearer token');
  return request.principal;
}

export function requireAdmin(request: FastifyRequest): void {
  if (principalOf(request).appId !== null) {
    throw new HookdError('HOOKD_ERR_FORBIDDEN', 'this operation needs an admin API key');
  }
}

/**
 * The application named by id or uid, if the caller may see it (a scoped key sees only its own app). `recent`: as
 * this process may remember it from up to a second ago (Store.getApp), for ingest only.
 */
export async function resolveApp(request: FastifyRequest, idOrUid: string, options?: { recent?: boolean }): Promise<App> {
  const principal = principalOf(request);
  const app = await request.server.hookd.store.getApp(idOrUid, options);
  if (!app || (principal.appId !== null && principal.appId !== app.id)) throw notFound('application');
  return app;
}

export async function resolveEndpoint(request: FastifyRequest, appIdOrUid: string, endpointIdOrUid: string): Promise<{ app: App; endpoint: Endpoint }> {
  const app = await resolveApp(request, appIdOrUid);
  const endpoint = await request.server.hookd.store.getEndpoint(app.id, endpointIdOrUid);
  if (!endpoint) throw notFound('endpoint');
  return { app, endpoint };
}

export async function resolveMessage(request: FastifyRequest, appIdOrUid: string, msgIdOrEventId: string): Promise<{ app: App; message: Message }> {
  const app = await resolveApp(request, appIdOrUid);
  const message = await request.server.hookd.store.getMessage(app.id, msgIdOrEventId);
  if (!message) throw notFound('message');
  return { app, message };
}

/** Parses an RFC 3339 query/body date into epoch ms; invalid input is a 422 at `loc`. */
export function parseDate(value: string | undefined | null, loc: (string | number)[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new HookdError('HOOKD_ERR_VALIDATION', 'invalid date', [{ loc, msg: 'invalid RFC 3339 date-time', type: 'value_error.datetime' }]);
  return ms;
}

/** The `before` / `after` query bounds of a list route, as epoch ms (invalid dates are a 422 at the parameter). */
export function timeRangeOf(query: { before?: string | undefined; after?: string | undefined }): { beforeMs: number | undefined; afterMs: number | undefined } {
  return { beforeMs: parseDate(query.before, ['query', 'before']), afterMs: parseDate(query.after, ['query', 'after']) };
}

/**
 * The page a list route asks the store for (in the list's own order: a route that takes `order` adds it). Bounded by
 * `after` alone (no `before`, no iterator), a newest-first list starts at `after`, as in Svix (PageRequest.afterKey):
 * `keyAt(afterMs)` must be a key no item listed for being after that time sorts below.
 */
export function pageRequestOf(
  query: { limit?: number | undefined; iterator?: string | undefined; before?: string | undefined },
  afterMs: number | undefined,
  keyAt: (afterMs: number) => string,
): PageRequest {
  const fromAfter = afterMs !== undefined && query.before === undefined && query.iterator === undefined;
  return { limit: query.limit ?? DEFAULT_LIMIT, iterator: query.iterator, ...(fromAfter ? { afterKey: keyAt(afterMs) } : {}) };
}

/** Splits a comma-separated query value into a list (absent -> undefined). */
export function commaList(value: string | undefined): string[] | undefined {
  if (!value) return undefined;
  const items = value.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
  return items.length > 0 ? items : undefined;
}
