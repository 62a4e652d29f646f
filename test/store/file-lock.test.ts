// The SQLite lock file (src/store/sqlite/file-lock.ts): one hookd per database. A live holder stops a second start;
// a holder that is gone, or a zombie (killed, not reaped yet: it holds no file), is taken over.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileLock } from '../../src/store/sqlite/file-lock.js';
import { tempDir } from '../helpers/hookd.js';

/** The state letter of `pid` in /proc (R, S, Z, ...). */
const stateOf = (pid: number): string => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.charAt(stat.lastIndexOf(')') + 2);
};

/**
 * A process that exited and is not reaped (its parent, `sleep`, never waits), with that parent to kill afterwards. It
 * exits once the shell has become `sleep`, so the shell cannot reap it first.
 */
async function zombie(): Promise<{ pid: number; parent: ChildProcess }> {
  const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (chunk: Buffer) => resolve(Number.parseInt(chunk.toString(), 10))));
  for (let i = 0; stateOf(pid) !== 'Z'; i++) {
    assert.ok(i < 100, `pid ${pid} becomes a zombie`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { pid, parent };
}

test('a lock held by a live process stops the start, naming it; one whose process is gone or a zombie is taken over', { skip: process.platform !== 'linux' && 'zombies are told from /proc' }, async () => {
  const temp = tempDir('hookd-lock-');
  const lockPath = join(temp.dir, 'hookd.db.lock');
  const live = spawn('sleep', ['30'], { stdio: 'ignore' });
  const dead = spawn('true', [], { stdio: 'ignore' });
  await new Promise((resolve) => dead.once('exit', resolve));
  const { pid: zombiePid, parent } = await zombie();
  try {
    writeFileSync(lockPath, `${live.pid}\n`);
    assert.throws(() => FileLock.take(lockPath, 'the.db'), new RegExp(`another hookd \\(pid ${live.pid}\\) is already serving the\\.db`));

    for (const [what, pid] of [
      ['gone', dead.pid!],
      ['a zombie', zombiePid],
    ] as const) {
      writeFileSync(lockPath, `${pid}\n`);
      const lock = FileLock.take(lockPath, 'the.db');
      assert.equal(readFileSync(lockPath, 'utf8'), `${process.pid}\n`, `a holder ${what} is taken over`);
      lock.release();
    }
  } finally {
    for (const child of [live, parent]) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    temp.cleanup();
  }
});
