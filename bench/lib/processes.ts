import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Child processes and temp dirs of a bench run. Everything spawned or created here is registered, so an exit,
 * Ctrl-C (SIGINT), SIGTERM or a crash kills the children and removes the temp dirs.
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BENCH_DIR = join(ROOT, 'bench');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildHandle {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last 64 KB of stdout + stderr. */
  output(): string;
  readonly exited: Promise<Exit>;
  running(): boolean;
  /** Sends `signal` and waits for the exit; SIGKILL after `killAfterMs`. */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<Exit>;
}

const OUTPUT_LIMIT = 64 * 1024;
const children = new Set<ChildHandle>();
const tempDirs = new Set<string>();
const finalizers = new Set<() => void>();

/** Our environment minus anything that configures hookd, so only what a scenario passes reaches a child. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('HOOKD_') || name.startsWith('BENCH_') || name === 'DATABASE_URL' || name === 'PORT' || name.startsWith('NODE_TEST')) continue;
    env[name] = value;
  }
  return Object.assign(env, extra);
}

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Open an IPC channel (the bench's own servers report to the parent through it). */
  ipc?: boolean;
  /** Extra node flags before the script (e.g. --cpu-prof). */
  nodeArgs?: string[];
}

/** Spawns `node [nodeArgs] script [args]` from the repository root. */
export function spawnNode(name: string, script: string, args: string[], options: SpawnOptions = {}): ChildHandle {
  const stdio: ('ignore' | 'pipe' | 'ipc')[] = options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], { cwd: ROOT, env: cleanEnv(options.env ?? {}), stdio });
  if (child.pid === undefined) throw new Error(`could not spawn ${name}`);
  let output = '';
  const append = (chunk: string): void => {
    output += chunk;
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };
  child.stdout!.setEncoding('utf8').on('data', append);
  child.stderr!.setEncoding('utf8').on('data', append);
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: child.exitCode, signal: child.signalCode }));
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const handle: ChildHandle = {
    name,
    child,
    pid: child.pid,
    output: () => output,
    exited,
    running,
    async stop(signal = 'SIGTERM', killAfterMs = 30_000) {
      if (running()) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  children.add(handle);
  void exited.then(() => children.delete(handle));
  return handle;
}

/** A bench server written in TypeScript (bench/servers/*.ts), run through tsx, with an IPC channel. */
export function spawnBenchServer(name: string, file: string, env: Record<string, string> = {}): ChildHandle {
  return spawnNode(name, join(BENCH_DIR, 'servers', file), [], { env, ipc: true, nodeArgs: ['--import', 'tsx'] });
}

/** Waits for the first IPC message of `type` from the child; fails when it exits first or after `timeoutMs`. */
export async function waitMessage<T extends { type: string }>(handle: ChildHandle, type: T['type'], timeoutMs = 30_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${handle.name} sent no "${type}" within ${timeoutMs} ms:\n${handle.output().slice(-2000)}`)), timeoutMs);
    const onMessage = (message: unknown): void => {
      if ((message as { type?: unknown } | null)?.type === type) finish(null, message as T);
    };
    const onExit = (): void => finish(new Error(`${handle.name} exited before "${type}":\n${handle.output().slice(-2000)}`));
    function finish(error: Error | null, message?: T): void {
      clearTimeout(timer);
      handle.child.off('message', onMessage);
      handle.child.off('exit', onExit);
      if (error) reject(error);
      else resolve(message!);
    }
    handle.child.on('message', onMessage);
    handle.child.once('exit', onExit);
  });
}

/** A new temp dir, removed at exit (or earlier with removeTempDir). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `hookd-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Registers synchronous clean-up work for exit (e.g. stopping PostgreSQL); returns an unregister function. */
export function onCleanup(finalizer: () => void): () => void {
  finalizers.add(finalizer);
  return () => finalizers.delete(finalizer);
}

function cleanupNow(): void {
  for (const handle of children) if (handle.running()) handle.child.kill('SIGKILL');
  children.clear();
  for (const finalizer of finalizers) {
    try {
      finalizer();
    } catch (error) {
      process.stderr.write(`bench: clean-up step failed: ${(error as Error).message}\n`);
    }
  }
  finalizers.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Kills children and removes temp dirs on exit, Ctrl-C, SIGTERM and uncaught errors. */
export function installCleanupHandlers(): void {
  process.on('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping children and removing temp dirs\n`);
      cleanupNow();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`bench: uncaught ${error.stack ?? String(error)}\n`);
    cleanupNow();
    process.exit(1);
  });
}

/** A TCP port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * CPU time (user + system, all threads) a process has used so far, in ms, from /proc/<pid>/stat; null when
 * unavailable. Unlike throughput it hardly depends on what else runs on the machine: the figure to compare
 * when asking whether a change made hookd do less work per delivery.
 */
export async function cpuMsOf(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_S : null;
  } catch {
    return null;
  }
}

/** CPU time the processes have used so far, summed (ms); NaN when one of them could not be read. */
export async function cpuMsOfAll(processes: readonly { pid: number }[]): Promise<number> {
  let total = 0;
  for (const { pid } of processes) total += (await cpuMsOf(pid)) ?? NaN;
  return total;
}

/**
 * CPU time of the whole machine (all CPUs, ms), from the first line of /proc/stat; null when unavailable. Busy: user,
 * nice, system, irq and softirq. Steal: time the hypervisor gave this virtual machine's CPUs to others. Total: all of
 * these plus idle and iowait.
 */
export async function machineCpuMs(): Promise<{ busyMs: number; stealMs: number; totalMs: number } | null> {
  try {
    const [, ...ticks] = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!.trim().split(/\s+/).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = ticks as [number, number, number, number, number, number, number, number?];
    const busy = user + nice + system + irq + softirq;
    if (!Number.isFinite(busy) || !Number.isFinite(idle + iowait + steal)) return null;
    const ms = (t: number): number => (t * 1000) / CLOCK_TICKS_PER_S;
    return { busyMs: ms(busy), stealMs: ms(steal), totalMs: ms(busy + steal + idle + iowait) };
  } catch {
    return null;
  }
}

/** USER_HZ: the unit of /proc/<pid>/stat times, 100 on every Linux architecture Node supports. */
const CLOCK_TICKS_PER_S = 100;

/** VmRSS (resident set) and VmHWM (its peak) of a process in bytes, from /proc; null when unavailable. */
export async function rssOf(pid: number): Promise<{ rss: number; hwm: number } | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}
