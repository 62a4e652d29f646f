import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A real fsync failure for a child process, switched on and off from outside: a shared library, preloaded
 * (LD_PRELOAD), whose fdatasync, fsync or both (`calls`) fail with EIO on a file whose path ends in `suffix` while the
 * file `flag` exists, and otherwise call the C library's. hookd meets exactly what a failing disk gives it: the call
 * returns an error, and the data's fate is unknown. Node's fs.fdatasync (libuv) calls fdatasync; the SQLite of
 * better-sqlite3 calls fsync (its own syncs: the WAL's header when the WAL starts over, checkpoints).
 */
const SOURCE = String.raw`
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failing(int fd, const char *call) {
  const char *calls = getenv("FAILING_FSYNC_CALLS");
  if (!calls || !strstr(calls, call)) return 0;
  const char *flag = getenv("FAILING_FSYNC_FLAG");
  const char *suffix = getenv("FAILING_FSYNC_SUFFIX");
  if (!flag || !suffix || access(flag, F_OK) != 0) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n < 0) return 0;
  path[n] = 0;
  size_t len = strlen(suffix);
  return (size_t)n >= len && strcmp(path + n - len, suffix) == 0;
}

/* FAILING_FSYNC_MODE=stall: the call waits while the flag exists (a disk that hangs), then does its work. */
static int stalls(void) {
  const char *mode = getenv("FAILING_FSYNC_MODE");
  if (!mode || strcmp(mode, "stall") != 0) return 0;
  while (access(getenv("FAILING_FSYNC_FLAG"), F_OK) == 0) usleep(10000);
  return 1;
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  if (failing(fd, ",fdatasync,") && !stalls()) { errno = EIO; return -1; }
  return real(fd);
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  if (failing(fd, ",fsync,") && !stalls()) { errno = EIO; return -1; }
  return real(fd);
}
`;

/** Whether a C compiler (cc) is on PATH to build the library with. */
export function haveCompiler(): boolean {
  return spawnSync('cc', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Builds the library in `dir`; the environment for the child: the `calls` on files ending in `suffix` fail (or, with
 * mode `stall`, wait) while `flag` exists.
 */
export function failingFsync(dir: string, flag: string, suffix: string, calls: ('fdatasync' | 'fsync')[], mode: 'fail' | 'stall' = 'fail'): Record<string, string> {
  const source = join(dir, 'failing-fsync.c');
  const library = join(dir, 'failing-fsync.so');
  writeFileSync(source, SOURCE);
  execFileSync('cc', ['-shared', '-fPIC', '-O1', '-o', library, source, '-ldl']);
  // Searched as ",name," in ",a,b,": one name is never found inside another.
  return { LD_PRELOAD: library, FAILING_FSYNC_FLAG: flag, FAILING_FSYNC_SUFFIX: suffix, FAILING_FSYNC_CALLS: `,${calls.join(',')},`, FAILING_FSYNC_MODE: mode };
}
