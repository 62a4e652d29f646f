// One hookd per SQLite file: a lock file next to the database holding the pid of the process that serves it.
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { StoreOpenError } from '../failures.js';

export class FileLock {
  private released = false;

  private constructor(private readonly path: string) {}

  /**
   * Creates `path` exclusively with this process's pid. A lock whose process is gone (a crash, kill -9) is taken
   * over; a live one stops start-up with a message naming the holder.
   */
  static take(path: string, database: string): FileLock {
    // Written in full under a name of its own, then linked into place: the lock appears atomically with its pid, so
    // another starter never reads an empty lock and takes it for stale.
    const staging = `${path}.${process.pid}`;
    try {
      writeFileSync(staging, `${process.pid}\n`);
    } catch (error) {
      throw new StoreOpenError(`cannot create the lock file ${path}: ${(error as Error).message}`);
    }
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          linkSync(staging, path);
          return new FileLock(path);
        } catch (error) {
          if ((error as { code?: string }).code !== 'EEXIST') throw new StoreOpenError(`cannot create the lock file ${path}: ${(error as Error).message}`);
        }
        const content = readLock(path);
        const holder = Number.parseInt(content, 10);
        if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
          throw new StoreOpenError(`another hookd (pid ${holder}) is already serving ${database}; stop it first, or give this one its own HOOKD_DATA_DIR (lock: ${path})`);
        }
        // Stale (its process is gone): removed unless another starter replaced it meanwhile.
        try {
          if (readLock(path) === content) unlinkSync(path);
        } catch {
          // another starter removed it first; the next attempt decides
        }
      }
    } finally {
      try {
        unlinkSync(staging);
      } catch {
        // never created or already gone
      }
    }
    throw new StoreOpenError(`could not take the lock file ${path}`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      if (Number.parseInt(readLock(this.path), 10) === process.pid) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

function readLock(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    if ((error as { code?: string }).code !== 'EPERM') return false;
  }
  return !exited(pid);
}

/**
 * Whether `pid` has exited and only waits for its parent to reap it (a zombie, which holds no file): a hookd killed
 * with SIGKILL stays one until then, for seconds under a slow init. Not while another of its threads still runs (one
 * stuck in an fsync keeps the process's files, and SQLite's locks, open): its leader shows Z all the same. Linux only
 * (/proc); elsewhere, false.
 */
function exited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ... num_threads ...": comm may hold spaces and parentheses, so the fields follow the last ")";
    // the state is field 3, num_threads field 20.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' && fields[17] === '1';
  } catch {
    return false;
  }
}
