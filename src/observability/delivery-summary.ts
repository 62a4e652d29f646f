import type { RecordedResult } from '../delivery/worker.js';

// Apart from metrics.ts so that a delivery thread, which sends these summaries over, does not load prom-client.

/** How a recorded attempt left its delivery. */
export type DeliveryOutcome = 'succeeded' | 'retrying' | 'failed';

/** What the metrics keep of one recorded attempt. */
export interface DeliverySummary {
  outcome: DeliveryOutcome;
  appId: string;
  endpointId: string;
  durationMs: number;
}

export function summarize(result: RecordedResult): DeliverySummary {
  return { outcome: outcomeOf(result), appId: result.attempt.appId, endpointId: result.attempt.endpointId, durationMs: result.attempt.responseDurationMs };
}

function outcomeOf(result: RecordedResult): DeliveryOutcome {
  switch (result.next.status) {
    case 'succeeded':
      return 'succeeded';
    case 'pending':
      return 'retrying';
    case 'failed':
      return 'failed';
  }
}
