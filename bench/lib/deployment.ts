import type { Mode } from './options.js';
import { startHookd, type Database, type HookdProcess } from './hookd.js';

/** hookd as it would be deployed for ingest + delivery: one `start` on SQLite, `serve` + `worker` on PostgreSQL. */
export interface Deployment {
  api: HookdProcess;
  processes: HookdProcess[];
  description: string;
  stop(): Promise<void>;
}

export async function startDeployment(mode: Mode, database: Database, profileDir: string | null): Promise<Deployment> {
  if (mode === 'sqlite') {
    const all = await startHookd({ role: 'start', database, profileDir });
    return { api: all, processes: [all], description: 'start (one process: API and ingest commits, delivery thread)', stop: async () => void (await all.stop()) };
  }
  const api = await startHookd({ role: 'serve', database, profileDir });
  let worker: HookdProcess;
  try {
    worker = await startHookd({ role: 'worker', database, profileDir });
  } catch (error) {
    await api.stop();
    throw error;
  }
  return {
    api,
    processes: [api, worker],
    description: 'serve + worker (two processes)',
    stop: async () => {
      await api.stop();
      await worker.stop();
    },
  };
}
