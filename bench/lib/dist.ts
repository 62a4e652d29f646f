import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './processes.js';

/**
 * hookd's own code as the bench uses it in-process (pre-loading backlogs through the Store API, reading the
 * effective config): loaded from the built dist/, the very code the benchmarked processes run, typed from src/.
 */
export interface HookdModules {
  loadConfig: (typeof import('../../src/config.js'))['loadConfig'];
  openStore: (typeof import('../../src/store/open.js'))['openStore'];
  newId: (typeof import('../../src/domain/ids.js'))['newId'];
  newEndpoint: (typeof import('../../src/domain/endpoint.js'))['newEndpoint'];
  /** The node options `npm start` runs hookd start with. */
  nodeArgs: (typeof import('../../src/heap.js'))['NODE_ARGS'];
}

let loaded: HookdModules | null = null;

async function load<T>(file: string): Promise<T> {
  const path = join(ROOT, 'dist', file);
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build (or npm run bench without --no-build)`);
  return (await import(pathToFileURL(path).href)) as T;
}

export async function loadDist(): Promise<HookdModules> {
  loaded ??= {
    loadConfig: (await load<typeof import('../../src/config.js')>('config.js')).loadConfig,
    openStore: (await load<typeof import('../../src/store/open.js')>('store/open.js')).openStore,
    newId: (await load<typeof import('../../src/domain/ids.js')>('domain/ids.js')).newId,
    newEndpoint: (await load<typeof import('../../src/domain/endpoint.js')>('domain/endpoint.js')).newEndpoint,
    nodeArgs: (await load<typeof import('../../src/heap.js')>('heap.js')).NODE_ARGS,
  };
  return loaded;
}

/** The modules loaded by loadDist() (which run.ts calls once, after building). */
export function dist(): HookdModules {
  if (!loaded) throw new Error('loadDist() has not run');
  return loaded;
}
