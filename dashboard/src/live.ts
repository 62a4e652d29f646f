import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

/**
 * Live updates by polling the API while the tab is visible (works with any number of hookd API processes).
 * Every poller reports to one shared state, shown by the header's live indicator.
 */

export type LiveState = 'live' | 'paused' | 'error' | 'idle';

let state: LiveState = 'idle';
let lastUpdate: Date | null = null;
const listeners = new Set<() => void>();

function report(next: LiveState): void {
  state = next;
  if (next === 'live') lastUpdate = new Date();
  for (const listener of listeners) listener();
}

export function useLiveState(): { state: LiveState; lastUpdate: Date | null } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const update = () => setTick((n) => n + 1);
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return { state, lastUpdate };
}

export const POLL_MS = 2000;

function isOffline(error: unknown): boolean {
  return !(error instanceof ApiError) || error.status === 0 || (error.status >= 502 && error.status <= 504);
}

export interface Polled<T> {
  data: T | undefined;
  error: string | null;
  /** The HTTP status of the last failure (0: no answer), null after a success. */
  errorStatus: number | null;
  /** Fetches again now (after an action). */
  refresh: () => void;
}

/**
 * Calls `load` now, whenever `deps` change, and every `intervalMs` while the tab is visible. A response that
 * arrives after a newer request started is dropped.
 */
export function usePoll<T>(load: () => Promise<T>, deps: unknown[], intervalMs = POLL_MS): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [errorStatus, setErrorStatus] = useState<number | null>(null);
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const [kick, setKick] = useState(0);

  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const run = async () => {
      window.clearTimeout(timer);
      if (document.visibilityState === 'hidden') {
        report('paused');
        return;
      }
      const mine = ++generation.current;
      try {
        const value = await loadRef.current();
        if (stopped || mine !== generation.current) return;
        setData(value);
        setError(null);
        setErrorStatus(null);
        report('live');
      } catch (e) {
        if (stopped || mine !== generation.current) return;
        setError((e as Error).message);
        setErrorStatus(e instanceof ApiError ? e.status : 0);
        // A 404 or 422 is an answer: the API is there. Offline means no answer (or a gateway's 502-504).
        report(isOffline(e) ? 'error' : 'live');
      }
      if (!stopped) timer = window.setTimeout(run, intervalMs);
    };
    const onVisibility = () => {
      if (document.visibilityState === 'visible') void run();
      else report('paused');
    };
    document.addEventListener('visibilitychange', onVisibility);
    void run();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [...deps, kick, intervalMs]);

  return { data, error, errorStatus, refresh: () => setKick((n) => n + 1) };
}
