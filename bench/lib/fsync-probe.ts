import { execFileSync } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { now } from './clock.js';
import { removeTempDir, tempDir } from './processes.js';
import { summarize } from './stats.js';

/**
 * What durability costs on this disk: 4 KB append + fdatasync, `rounds` times, in the temp dir the bench's
 * databases live in. Every durable commit (an fsync of the SQLite WAL, PostgreSQL fsync=on) pays about this.
 */
export function probeFsync(rounds = 200): { filesystem: string; fdatasyncP50Ms: number; fdatasyncP99Ms: number } {
  const dir = tempDir('fsync');
  try {
    let filesystem = 'unknown';
    try {
      filesystem = execFileSync('df', ['--output=fstype,source', dir], { encoding: 'utf8' }).trim().split('\n').at(-1)!.trim().replace(/\s+/g, ' ');
    } catch {
      // no df
    }
    const fd = openSync(join(dir, 'probe'), 'a');
    const block = Buffer.alloc(4096, 1);
    const samples: number[] = [];
    try {
      for (let i = 0; i < rounds; i++) {
        writeSync(fd, block);
        const t0 = now();
        fdatasyncSync(fd);
        samples.push(now() - t0);
      }
    } finally {
      closeSync(fd);
    }
    const s = summarize(samples)!;
    return { filesystem, fdatasyncP50Ms: Number(s.p50.toFixed(3)), fdatasyncP99Ms: Number(s.p99.toFixed(3)) };
  } finally {
    removeTempDir(dir);
  }
}
