import type { Logger } from 'pino';
import type { OperationsConfig } from '../config.js';
import type { AckOutcome, AckPolicy, DeliveryResult, OperationalEventSource, Store } from '../store/store.js';
import { operationalEventSource } from './events.js';
import { OPERATOR_APP_UID, ensureOperator } from './operator.js';

/**
 * How long acks go by what they last read of the operator application: whether it exists (its endpoints are never
 * disabled automatically) and has endpoints (then operational events are raised). An endpoint added through the API
 * gets events within this time.
 */
export const OPERATOR_REFRESH_MS = 1000;

export interface AckingStoreOptions {
  store: Store;
  config: OperationsConfig;
  logger: Logger;
  clock: () => number;
  /** Called after an ack inserted operational events (wakes the worker: SQLite has no NOTIFY). */
  onEvents: () => void;
}

/**
 * The store the delivery worker acks through (worker-role processes): every completeDeliveries applies the
 * AckPolicy, so the same transaction that records a result also disables an endpoint failing for longer than
 * HOOKD_ENDPOINT_DISABLE_AFTER and inserts the operational webhooks it raises (when the operator application has an
 * endpoint: HOOKD_OPERATIONAL_WEBHOOK_URL's, or one added through the API). An event is therefore committed
 * exactly when the state change it reports is: a crash cannot lose it, nor report a change that did not happen.
 * Everything else goes to `store` unchanged.
 */
export async function ackingStore(options: AckingStoreOptions): Promise<Store> {
  const { store, config, logger } = options;
  const operator = config.operationalWebhook ? await ensureOperator(store, config.operationalWebhook, options.clock()) : null;
  if (operator) logger.info({ appId: operator.appId, endpointId: operator.endpointId }, 'operational webhooks go to the hookd-operator application');
  // The operator application and whether it has endpoints, as last read (OPERATOR_REFRESH_MS).
  let known: { appId: string | null; events: OperationalEventSource | undefined; until: number } | null = null;
  const operatorNow = async (): Promise<{ appId: string | null; events: OperationalEventSource | undefined }> => {
    const now = performance.now();
    if (known && known.until > now) return known;
    try {
      const app = await store.getApp(OPERATOR_APP_UID);
      const listening = app !== null && (await store.listEndpoints(app.id, { limit: 1 })).data.length > 0;
      known = { appId: app?.id ?? null, events: listening ? operationalEventSource(app.id) : undefined, until: now + OPERATOR_REFRESH_MS };
    } catch (error) {
      // The ack itself will meet the same fault; what was known still holds until then.
      if (!known) throw error;
    }
    return known;
  };
  const completeDeliveries = async (results: DeliveryResult[], worker?: AckPolicy): Promise<AckOutcome> => {
    const { appId, events } = await operatorNow();
    const policy: AckPolicy = { endpointDisableAfterMs: config.endpointDisableAfterMs, operatorAppId: appId, events };
    const outcome = await store.completeDeliveries(results, { ...worker, ...policy });
    for (const endpointId of outcome.disabledEndpoints) logger.warn({ endpointId }, 'endpoint disabled automatically');
    if (outcome.operationalEvents > 0) options.onEvents();
    return outcome;
  };
  return new Proxy(store, {
    get(target, property) {
      if (property === 'completeDeliveries') return completeDeliveries;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
