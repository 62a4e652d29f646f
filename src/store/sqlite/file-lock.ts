// One hookd per SQLite file: a lock file next to the database holding the pid of the process that serves it.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { StoreOpenError } from '../failures.js';

export class FileLock {
  private released = false;

  private constructor(private readonly path: string) {}

  /**
   * Creates `path` exclusively with this process's pid. A lock whose process is gone (a crash, kill -9) is taken
   * over; a live one stops start-up with a message naming the holder.
   */
  static take(path: string, database: string): FileLock {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return new FileLock(path);
      } catch (error) {
        if ((error as { code?: string }).code !== 'EEXIST') throw new StoreOpenError(`cannot create the lock file ${path}: ${(error as Error).message}`);
      }
      const holder = Number.parseInt(readLock(path), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new StoreOpenError(`another hookd (pid ${holder}) is already serving ${database}; stop it first, or give this one its own HOOKD_DATA_DIR (lock: ${path})`);
      }
      // Stale: its process is gone.
      try {
        unlinkSync(path);
      } catch {
        // another starter removed it first; the next attempt decides
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
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as { code?: string }).code === 'EPERM';
  }
}
