import type { Logger } from 'pino';
import type { OperationsConfig } from '../config.js';
import type { AckOutcome, AckPolicy, DeliveryResult, Store } from '../store/store.js';
import { operationalEventSource } from './events.js';
import { ensureOperator } from './operator.js';

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
 * HOOKD_ENDPOINT_DISABLE_AFTER and inserts the operational webhooks it raises. An event is therefore committed
 * exactly when the state change it reports is: a crash cannot lose it, nor report a change that did not happen.
 * Everything else goes to `store` unchanged.
 */
export async function ackingStore(options: AckingStoreOptions): Promise<Store> {
  const { store, config, logger } = options;
  const operator = config.operationalWebhook ? await ensureOperator(store, config.operationalWebhook, options.clock()) : null;
  if (operator) logger.info({ appId: operator.appId, endpointId: operator.endpointId }, 'operational webhooks go to the hookd-operator application');
  const policy: AckPolicy = {
    endpointDisableAfterMs: config.endpointDisableAfterMs,
    operatorAppId: operator?.appId ?? null,
    events: operator ? operationalEventSource(operator.appId) : undefined,
  };
  const completeDeliveries = async (results: DeliveryResult[], worker?: AckPolicy): Promise<AckOutcome> => {
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
