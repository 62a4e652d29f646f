import { lookup as dnsLookup, type LookupAddress } from 'node:dns';

/**
 * Host name lookups for deliveries: getaddrinfo (dns.lookup: /etc/hosts, nsswitch, the system's resolver), as
 * net.connect does by default, but bounded. getaddrinfo blocks a thread of libuv's pool (4 threads unless
 * UV_THREADPOOL_SIZE says otherwise), which the whole process shares with file system work: among it the fsync of
 * the WAL that every ingest batch on SQLite waits for. A receiver whose DNS answers slowly (an authoritative server
 * that takes seconds, a TTL of 0, `Connection: close` so that every delivery connects afresh) would otherwise hold
 * every thread, and every tenant's ingest would wait behind it (a connect timeout does not help: the socket gives
 * up, the lookup's thread stays busy). So lookups of the same name at the same time share one call, and at most
 * half the pool's threads look up at once; the others wait their turn here, not on the pool.
 */
export function boundedLookup(resolve: typeof dnsLookup = dnsLookup, concurrency = defaultLookupConcurrency()): typeof dnsLookup {
  type Done = (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void;
  const inFlight = new Map<string, Done[]>();
  const waiting: (() => void)[] = [];
  let running = 0;
  const run = (start: () => void): void => {
    if (running < concurrency) {
      running++;
      start();
    } else waiting.push(start);
  };
  const finished = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
  const bounded = (hostname: string, options: unknown, callback: (...args: unknown[]) => void): void => {
    const opts = (typeof options === 'object' && options !== null ? options : { family: options }) as { all?: boolean; family?: unknown; hints?: unknown };
    const reply: Done = (error, addresses) => {
      if (error) return callback(error);
      if (opts.all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    };
    const key = `${hostname}\u0000${String(opts.family ?? 0)}\u0000${String(opts.hints ?? 0)}`;
    const sharing = inFlight.get(key);
    if (sharing) {
      sharing.push(reply);
      return;
    }
    const replies: Done[] = [reply];
    inFlight.set(key, replies);
    const settle: Done = (error, addresses) => {
      inFlight.delete(key);
      finished();
      for (const done of replies) done(error, addresses);
    };
    run(() => {
      try {
        resolve(hostname, { ...opts, all: true } as Parameters<typeof dnsLookup>[1] & { all: true }, settle);
      } catch (error) {
        // dns.lookup throws for arguments it refuses (not a string, a bad family): a failed lookup, not a lost turn.
        settle(error as NodeJS.ErrnoException, []);
      }
    });
  };
  return bounded as unknown as typeof dnsLookup;
}

/** Half of libuv's thread pool (at least one): the rest stays free for the file system (SQLite's fsyncs). */
export function defaultLookupConcurrency(poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4): number {
  return Math.max(1, Math.floor(poolSize / 2));
}
