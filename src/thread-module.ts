import type { Worker } from 'node:worker_threads';

/**
 * The URL a worker thread runs for the module `name` (without extension) beside `callerUrl`: name.js in dist/.
 * Under tsx (tests, `npm run bench` from src) the caller is .ts, and tsx's loader does not reach worker threads,
 * so a one-line module registers it there first and then imports name.ts.
 */
export function threadModule(name: string, callerUrl: string): URL {
  const fromSource = callerUrl.endsWith('.ts');
  const entry = new URL(`${name}${fromSource ? '.ts' : '.js'}`, callerUrl);
  if (!fromSource) return entry;
  const boot = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(entry.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}

/**
 * Resolves with a thread's exit code when it ends. Not events.once(worker, 'exit'): that rejects when the thread emits
 * 'error' (an uncaught exception in it), a rejection nobody awaits until the thread is stopped, which ends the
 * whole process.
 */
export const exitOf = (worker: Worker): Promise<number> => new Promise((resolve) => worker.once('exit', resolve));
