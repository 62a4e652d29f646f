/** Messages between the bench (parent) and its servers (children) over the IPC channel. */

export interface Ready {
  type: 'ready';
  ports: number[];
}

/** Parent -> receiver: forget everything counted so far and start counting afresh. */
export interface ResetCommand {
  type: 'reset';
  id: number;
  /** Record arrival - scheduled time for each first arrival of a seq (parses the payload head). */
  latency: boolean;
  /** Record the time at which the distinct count reaches each of these counts. */
  marks: number[];
}

export interface StatsCommand {
  type: 'stats';
  id: number;
}

/** Parent -> receiver: send back [seq, latency ms] of every first arrival (latency mode). */
export interface LatenciesCommand {
  type: 'latencies';
  id: number;
}

export type ReceiverCommand = ResetCommand | StatsCommand | LatenciesCommand;

export interface ReceiverStats {
  /** Requests received (all, duplicates included). */
  total: number;
  /** Distinct deliveries: (webhook-id, port) pairs. */
  distinct: number;
  duplicates: number;
  /** Requests without a webhook-id header. */
  anonymous: number;
  /** Epoch ms (hi-res) of the first request and of the last new distinct delivery; null before any. */
  firstAt: number | null;
  lastAt: number | null;
  /** [mark, epoch ms when distinct reached it]. */
  marks: [number, number][];
}

export type ReceiverReply =
  | { type: 'reset'; id: number }
  | ({ type: 'stats'; id: number } & ReceiverStats)
  | { type: 'latencies'; id: number; entries: [number, number][] };
