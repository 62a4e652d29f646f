import { parseArgs } from 'node:util';

export const SCENARIOS = ['ceilings', 'naive', 'ingest', 'delivery', 'fanout', 'e2e', 'isolation', 'sustained', 'memory'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
export const MODES = ['sqlite', 'postgres'] as const;
export type Mode = (typeof MODES)[number];

export interface BenchOptions {
  quick: boolean;
  scenarios: ScenarioName[];
  modes: Mode[];
  /** Measured window of each closed-loop throughput run, and of each e2e latency run. */
  durationMs: number;
  warmupMs: number;
  /** Closed-loop workers (and connections) for the ingest runs. */
  concurrency: number;
  payloadBytes: number;
  /** Deliveries pre-loaded for the delivery scenario (one endpoint). */
  deliveryBacklog: number;
  /** Rows pre-loaded for the naive delivery loop (it runs for at most durationMs + 5 s). */
  naiveBacklog: number;
  fanoutMessages: number;
  fanoutEndpoints: number;
  /** Open-model arrival rates (msg/s) of the e2e latency runs. */
  rate: number;
  idleRate: number;
  /** Deliveries pre-loaded for the memory scenario (messages x memoryEndpoints). */
  memoryBacklog: number;
  memoryEndpoints: number;
  /** Tenant A's backlog in the isolation scenario, and tenant B's open-model rate (msg/s). */
  isolationBacklog: number;
  isolationRate: number;
  /** Open-model rates (msg/s) the sustained scenario tries in order, and its window per rate. */
  sustainedRates: number[];
  sustainedDurationMs: number;
  /** Rates tried after the sweep's first failure, each halving the gap between the last that held and it. */
  sustainedRefine: number;
  build: boolean;
  /** An earlier run's JSON to print before/after figures against. */
  compare: string | null;
  /** Write V8 CPU profiles of every hookd process and summarise them. */
  profile: boolean;
}

export const USAGE = `npm run bench -- [options]

  --quick               small counts and short runs (~2 minutes), for development
  --only <a,b,...>      scenarios to run: ${SCENARIOS.join(', ')} (default: all)
  --modes <a,b>         hookd databases: sqlite, postgres (default: both)
  --duration <s>        measured seconds per throughput / latency run (default 15; quick 3)
  --backlog <n>         deliveries drained by the memory scenario (default 1000000; quick 20000)
  --delivery-backlog <n>  deliveries drained by the delivery scenario (default 100000; quick 5000)
  --fanout-messages <n> messages ingested by the fan-out scenario, x10 deliveries (default 10000; quick 500)
  --concurrency <n>     closed-loop workers for ingest (default 64)
  --rate <n>            e2e arrival rate, msg/s (default 200); --idle-rate <n> (default 20)
  --isolation-backlog <n>  tenant A's backlog in the isolation scenario (default 50000; quick 5000)
  --sustained-rates <a,b,...>  rates the sustained sweep tries, msg/s (default 1000,2000,...,8000,10000;
                        quick 500,1000,2000); --sustained-duration <s> its window per rate (default 30; quick 5);
                        --sustained-refine <n> rates tried after the first that does not hold, each halving the gap
                        between the last that held and it (default 2; quick 0)
  --no-build            benchmark dist/ as it is (default: npm run build first)
  --compare <json>      print before/after figures against an earlier run (bench/results/<timestamp>.json)
  --profile             CPU-profile every hookd process (node --cpu-prof) and print the hottest functions

PostgreSQL: a throwaway durable server (fsync=on, synchronous_commit=on) from the machine's binaries, or the server
at BENCH_DATABASE_URL. Results: a table on stdout and bench/results/<timestamp>.json.`;

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      modes: { type: 'string' },
      duration: { type: 'string' },
      backlog: { type: 'string' },
      'delivery-backlog': { type: 'string' },
      'fanout-messages': { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      'idle-rate': { type: 'string' },
      'isolation-backlog': { type: 'string' },
      'sustained-rates': { type: 'string' },
      'sustained-duration': { type: 'string' },
      'sustained-refine': { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      compare: { type: 'string' },
      profile: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick === true;
  const scenarios = list(values.only, SCENARIOS, '--only');
  const modes = list(values.modes, MODES, '--modes');
  const durationS = number(values.duration, quick ? 3 : 15, '--duration', 0.5);
  return {
    quick,
    scenarios,
    modes,
    durationMs: durationS * 1000,
    warmupMs: quick ? 1000 : 2000,
    concurrency: number(values.concurrency, 64, '--concurrency', 1),
    payloadBytes: 1024,
    deliveryBacklog: number(values['delivery-backlog'], quick ? 5000 : 100_000, '--delivery-backlog', 1),
    naiveBacklog: quick ? 3000 : 20_000,
    fanoutMessages: number(values['fanout-messages'], quick ? 500 : 10_000, '--fanout-messages', 1),
    fanoutEndpoints: 10,
    rate: number(values.rate, 200, '--rate', 0.1),
    idleRate: number(values['idle-rate'], 20, '--idle-rate', 0.1),
    memoryBacklog: number(values.backlog, quick ? 20_000 : 1_000_000, '--backlog', 10),
    memoryEndpoints: 10,
    isolationBacklog: number(values['isolation-backlog'], quick ? 5000 : 50_000, '--isolation-backlog', 1),
    isolationRate: 10,
    sustainedRates: rates(values['sustained-rates'], quick ? [500, 1000, 2000] : [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10_000]),
    sustainedDurationMs: number(values['sustained-duration'], quick ? 5 : 30, '--sustained-duration', 3) * 1000,
    sustainedRefine: Math.floor(number(values['sustained-refine'], quick ? 0 : 2, '--sustained-refine', 0)),
    build: values['no-build'] !== true,
    compare: values.compare ?? null,
    profile: values.profile === true,
  };
}

function list<T extends string>(raw: string | undefined, allowed: readonly T[], flag: string): T[] {
  if (raw === undefined) return [...allowed];
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const item of items) if (!allowed.includes(item as T)) throw new Error(`${flag}: unknown "${item}" (one of ${allowed.join(', ')})`);
  return allowed.filter((a) => items.includes(a));
}

function rates(raw: string | undefined, fallback: number[]): number[] {
  if (raw === undefined) return fallback;
  const values = raw.split(',').map((item) => number(item.trim(), 0, '--sustained-rates', 1));
  return values.sort((a, b) => a - b);
}

function number(raw: string | undefined, fallback: number, flag: string, min: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${flag} must be a number >= ${min} (got "${raw}")`);
  return value;
}
