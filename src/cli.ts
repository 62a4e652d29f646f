#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createApiKey } from './auth/api-keys.js';
import { ConfigError, loadConfig, unknownSettings, type Config } from './config.js';
import { reduceMemoryWhenIdle } from './heap.js';
import { createLogger } from './logger.js';
import { startHookd, type Role } from './server.js';
import { StoreOpenError, storeFailureOf } from './store/failures.js';
import { openStore } from './store/open.js';

const USAGE = `hookd — self-hosted webhook delivery

Usage:
  hookd start                 API + delivery worker in one process (default)
  hookd serve                 API only (scale-out; needs a shared PostgreSQL)
  hookd worker                delivery worker only (scale-out; needs a shared PostgreSQL)
  hookd migrate               apply database migrations and exit
  hookd apikey create [--app <app id or uid>] [--name <name>]
                              create an API key (admin unless --app) and print its token once
  hookd apikey list           list API keys (never their tokens)
  hookd apikey revoke <key id>

Configuration comes from environment variables; see docs/configuration.md (HOOKD_PORT, HOOKD_DATA_DIR, DATABASE_URL, ...).`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { app: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    // An unknown or incomplete option is a usage error (exit 2), not a crash with a stack trace.
    console.error(`hookd: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { positionals, values } = parsed;
  const [command = 'start', sub, arg] = positionals;
  if (values.help || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  const config = loadConfig();
  switch (command) {
    case 'start':
      return run(config, 'all');
    case 'serve':
      return run(config, 'api');
    case 'worker':
      return run(config, 'worker');
    case 'migrate':
      return withStore(
        config,
        async (store) => {
          const applied = await store.migrate();
          console.log(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'database is up to date');
        },
        { migrate: false, create: true },
      );
    case 'apikey':
      return apikey(config, sub, arg, values);
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

/**
 * How long after HOOKD_SHUTDOWN_TIMEOUT a shutdown may still take before the process exits anyway (1): the worker's
 * last acks (3 s) and the release of its leases (HOOKD_DB_TIMEOUT, 5 s by default), and for a delivery thread the
 * 10 s after which it is terminated, must fit in it, or an orderly shutdown against a slow database exits 1 with
 * its leases held.
 */
const FORCED_EXIT_AFTER_MS = 15_000;
/** Signals within this of the first one are the same request to stop (see onSignal). */
const REPEATED_SIGNAL_MS = 1000;

async function run(config: Config, role: Role): Promise<number> {
  if (role !== 'all' && config.database.kind === 'sqlite') {
    throw new ConfigError(`"hookd ${role === 'api' ? 'serve' : 'worker'}" splits hookd across processes, which needs a shared PostgreSQL (DATABASE_URL); on SQLite run "hookd start"`);
  }
  const logger = createLogger(config.logLevel);
  const unknown = unknownSettings();
  if (unknown.length > 0) logger.warn({ unknown }, `ignoring settings hookd does not know: ${unknown.join(', ')}`);
  const hookd = await startHookd({ config, logger, role });
  // This thread's heap; hookd start's delivery thread looks after its own (delivery/thread-entry.ts).
  reduceMemoryWhenIdle();
  // The signal handlers come before the lines below: whoever reads "listening on" may signal at once, and a
  // signal that finds no handler kills hookd without its graceful shutdown.
  const stopped = new Promise<void>((resolve) => {
    let firstAt: number | null = null;
    let closing = false;
    let skipDelay: (() => void) | null = null;
    const close = (): void => {
      closing = true;
      const force = setTimeout(() => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      }, config.shutdownTimeoutMs + FORCED_EXIT_AFTER_MS);
      force.unref();
      hookd.close().then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'error during shutdown');
        resolve();
      });
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      const now = Date.now();
      if (firstAt === null) {
        firstAt = now;
        const delayMs = config.shutdownDelayMs;
        logger.info({ signal, delayMs }, 'shutting down');
        if (delayMs === 0) return close();
        // HOOKD_SHUTDOWN_DELAY: /ready says 503 while everything else still serves, so that a load balancer polling
        // it sends traffic elsewhere before the listener closes.
        hookd.drain();
        const delay = setTimeout(close, delayMs);
        skipDelay = () => {
          clearTimeout(delay);
          close();
        };
        return;
      }
      // One stop often arrives as two signals at once: Ctrl-C signals npm and node (one process group) and npm passes
      // its own on; systemd signals every process of the unit. Those are one request, not two.
      if (now - firstAt < REPEATED_SIGNAL_MS) return;
      if (!closing && skipDelay) {
        logger.info({ signal }, 'another signal: shutting down without waiting for the rest of HOOKD_SHUTDOWN_DELAY');
        return skipDelay();
      }
      logger.warn({ signal }, 'another signal while shutting down: exiting now, without waiting for deliveries on the wire');
      process.exit(1);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  logger.info({ url: hookd.url, metricsUrl: hookd.metricsUrl, role, database: config.database.kind }, 'hookd started');
  const where = config.database.kind === 'sqlite' ? `SQLite ${config.database.path}` : 'PostgreSQL';
  if (hookd.url) {
    console.error(`\nhookd ${role === 'all' ? 'API + worker' : 'API'} listening on ${hookd.url} (${where})`);
    console.error(`  API docs: ${hookd.url}/docs  Dashboard: ${hookd.url}/dashboard`);
  } else {
    console.error(`\nhookd worker delivering (${where})${hookd.metricsUrl ? `; metrics on ${hookd.metricsUrl}/metrics` : ''}`);
  }
  if (hookd.bootstrapToken) {
    console.error(`  Admin API token (shown once, store it now): ${hookd.bootstrapToken}`);
    console.error('  More keys: npx hookd apikey create [--app <app>]\n');
  }
  await stopped;
  return 0;
}

/**
 * Runs `work` on the configured database. Administrative commands never create a SQLite database: one that does
 * not exist at the configured path means the command runs from another directory than `hookd start` (whose
 * ./data it would not see), which is said instead of silently creating an empty one there.
 */
async function withStore(config: Config, work: (store: Awaited<ReturnType<typeof openStore>>) => Promise<void>, options: { migrate?: boolean; create?: boolean } = {}): Promise<number> {
  if (config.database.kind === 'sqlite' && options.create !== true && !existsSync(config.database.path)) {
    throw new ConfigError(
      `no hookd database at ${config.database.path}: run this from the directory you run "hookd start" in, or set HOOKD_DATA_DIR or HOOKD_SQLITE_PATH to where its database is`,
    );
  }
  if (config.database.kind === 'sqlite') console.error(`database: ${config.database.path}`);
  const store = await openStore(config.database);
  try {
    // `migrate` runs the migrations itself (and reports them); every other command migrates first, silently.
    if (options.migrate !== false) await store.migrate();
    await work(store);
    return 0;
  } finally {
    await store.close();
  }
}

async function apikey(config: Config, sub: string | undefined, arg: string | undefined, values: { app?: string | undefined; name?: string | undefined }): Promise<number> {
  switch (sub) {
    case 'create':
      return withStore(config, async (store) => {
        let appId: string | null = null;
        if (values.app) {
          const app = await store.getApp(values.app);
          if (!app) throw new ConfigError(`no application "${values.app}"`);
          appId = app.id;
        }
        const { key, token } = await createApiKey(store, { appId, name: values.name ?? (appId ? `app ${appId}` : 'admin') });
        console.error(`created ${appId ? `key for application ${appId}` : 'admin key'} ${key.id} (shown once):`);
        console.log(token);
      });
    case 'list':
      return withStore(config, async (store) => {
        for (const key of await store.listApiKeys()) {
          const state = key.revokedAt ? `revoked ${new Date(key.revokedAt).toISOString()}` : 'active';
          console.log(`${key.id}\t${key.prefix}…\t${key.appId ?? 'admin'}\t${key.name}\t${new Date(key.createdAt).toISOString()}\t${state}`);
        }
      });
    case 'revoke':
      if (!arg) {
        console.error('usage: hookd apikey revoke <key id>');
        return 2;
      }
      return withStore(config, async (store) => {
        if (!(await store.revokeApiKey(arg, Date.now()))) throw new ConfigError(`no active key "${arg}"`);
        console.log(`revoked ${arg}`);
      });
    default:
      console.error(`usage: hookd apikey create|list|revoke\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Operator errors (configuration, the database, the network) get one line saying what to change; only a bug
    // prints a stack trace.
    const line = operatorError(error);
    console.error(line ? `hookd: ${line}` : error);
    process.exitCode = error instanceof ConfigError ? 2 : 1;
  },
);

function operatorError(error: unknown): string | null {
  if (error instanceof ConfigError || error instanceof StoreOpenError) return error.message;
  const e = error as { syscall?: unknown; code?: unknown; message?: unknown } | null;
  if (e?.syscall === 'listen') return String(e.message);
  if (storeFailureOf(error) !== null || (typeof e?.code === 'string' && /^(28|3D|42501)/.test(e.code))) {
    // Unreachable, refusing, timing out, wrong password (28xxx), no such database (3D000), no permission.
    return `the database is not usable: ${String(e?.message)} (check DATABASE_URL and that the server is up)`;
  }
  return null;
}
