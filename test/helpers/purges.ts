import type { MaintenanceOptions } from '../../src/maintenance/maintenance.js';
import type { PurgeResult, Store } from '../../src/store/store.js';

/** `store`'s purges for a maintenance loop, each purgeMessages result also pushed to `calls` (one per transaction). */
export function recordingPurges(store: Store, calls: PurgeResult[]): MaintenanceOptions['store'] {
  return {
    purgeMessages: async (beforeMs, limit, after) => {
      const result = await store.purgeMessages(beforeMs, limit, after);
      calls.push(result);
      return result;
    },
    purgeIdempotencyKeys: (beforeMs, limit) => store.purgeIdempotencyKeys(beforeMs, limit),
    purgeExpiredApiKeys: (beforeMs, limit) => store.purgeExpiredApiKeys(beforeMs, limit),
    purgeBackgroundTasks: (beforeMs, limit) => store.purgeBackgroundTasks(beforeMs, limit),
  };
}
