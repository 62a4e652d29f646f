import { newEndpoint } from '../domain/endpoint.js';
import { HookdError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { App, Endpoint } from '../domain/types.js';
import type { Store } from '../store/store.js';

/**
 * The operator application: where operational webhooks go. It is an ordinary, visible application (reserved uid
 * `hookd-operator`) with one endpoint made from HOOKD_OPERATIONAL_WEBHOOK_URL/SECRET, and those added through
 * Svix's operational webhook endpoint routes (api/operational-webhooks.ts), so its events get retries, signing, the
 * attempts log, resend and the dashboard like any webhook. Admin tokens see it; app-scoped keys of other
 * applications never do.
 */
export const OPERATOR_APP_UID = 'hookd-operator';
export const OPERATOR_ENDPOINT_UID = 'operational-webhooks';

export interface OperatorWebhook {
  url: string;
  /** whsec_ secret the events are signed with. */
  secret: string;
}

export interface Operator {
  appId: string;
  endpointId: string;
}

/**
 * Ensures the operator application and its endpoint exist and match the configuration: the configuration is the
 * source of truth, so at every start the endpoint gets the configured URL and secret and is enabled again. Safe
 * when several processes start at once (a lost creation race reads the winner's row).
 */
export async function ensureOperator(store: Store, webhook: OperatorWebhook, nowMs: number): Promise<Operator> {
  const app = await ensureOperatorApp(store, nowMs);
  const existing = await store.getEndpoint(app.id, OPERATOR_ENDPOINT_UID);
  if (!existing) {
    const endpoint = await createOr(() => store.createEndpoint(operatorEndpoint(app.id, webhook, nowMs)), () => store.getEndpoint(app.id, OPERATOR_ENDPOINT_UID));
    return { appId: app.id, endpointId: endpoint.id };
  }
  const current = existing.secrets.find((s) => s.expiresAt === null)?.key;
  if (existing.url !== webhook.url || current !== webhook.secret || existing.disabled) {
    await store.updateEndpoint({
      ...existing,
      url: webhook.url,
      secrets: [{ key: webhook.secret, expiresAt: null }],
      disabled: false,
      disabledReason: null,
      firstFailureAt: null,
      updatedAt: nowMs,
    });
  }
  return { appId: app.id, endpointId: existing.id };
}

/** The operator application, created if it does not exist yet (the operational webhook endpoint routes need it). */
export async function ensureOperatorApp(store: Store, nowMs: number): Promise<App> {
  const existing = await store.getApp(OPERATOR_APP_UID);
  if (existing) return existing;
  const app: App = { id: newId('app', nowMs), uid: OPERATOR_APP_UID, name: 'hookd operator (operational webhooks)', metadata: {}, rateLimit: null, ingestRateLimit: null, createdAt: nowMs, updatedAt: nowMs };
  return createOr(() => store.createApp(app), () => store.getApp(OPERATOR_APP_UID));
}

function operatorEndpoint(appId: string, webhook: OperatorWebhook, nowMs: number): Endpoint {
  return newEndpoint(
    {
      appId,
      uid: OPERATOR_ENDPOINT_UID,
      url: webhook.url,
      description: 'hookd operational webhooks (HOOKD_OPERATIONAL_WEBHOOK_URL)',
      secrets: [{ key: webhook.secret, expiresAt: null }],
    },
    nowMs,
  );
}

/** Runs `create`; when another process created the row first (409), reads it instead. Returns the row. */
async function createOr<T>(create: () => Promise<unknown>, read: () => Promise<T | null>): Promise<T> {
  try {
    await create();
  } catch (error) {
    if (!(error instanceof HookdError && error.status === 409)) throw error;
  }
  const row = await read();
  if (!row) throw new Error('the operator application could not be created');
  return row;
}
