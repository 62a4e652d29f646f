// Starts a throwaway PostgreSQL server for the test run and stops it afterwards.
// Uses the server binaries installed on the machine (Debian: /usr/lib/postgresql/<v>/bin). As root, the
// server runs as the `postgres` user (initdb refuses root), with a data directory that user owns.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function findBinDir() {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  } catch {
    // no pg_config on PATH
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const version of readdirSync(root).sort((a, b) => Number(b) - Number(a))) {
      const dir = join(root, version, 'bin');
      if (existsSync(join(dir, 'initdb'))) return dir;
    }
  }
  return null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs a server binary, as `postgres` when we are root. */
function runPg(binDir, args, uid) {
  const command = join(binDir, args[0]);
  const result = uid === null
    ? spawnSync(command, args.slice(1), { encoding: 'utf8' })
    : spawnSync('runuser', ['-u', 'postgres', '--', command, ...args.slice(1)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${args[0]} failed (${result.status}): ${result.stderr || result.stdout}`);
}

/**
 * Starts a throwaway server; `stop()` removes it. By default it is a test server with fsync off (fast; hookd's
 * own durability is tested by killing hookd, not PostgreSQL). `{ durable: true }` runs it with fsync=on,
 * synchronous_commit=on and full_page_writes=on, as a production server would (the benchmark uses that).
 */
export async function startThrowawayPostgres({ durable = false } = {}) {
  const binDir = findBinDir();
  if (!binDir) {
    throw new Error('PostgreSQL server binaries not found (install postgresql, or set HOOKD_TEST_DATABASE_URL to a server you run)');
  }
  const asRoot = process.getuid?.() === 0;
  let uid = null;
  if (asRoot) uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const dir = mkdtempSync(join(tmpdir(), 'hookd-pg-'));
  if (asRoot) chownSync(dir, uid, uid);
  const data = join(dir, 'data');
  const port = await freePort();
  runPg(binDir, ['initdb', '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], uid);
  const durability = durable
    ? '-c fsync=on -c synchronous_commit=on -c full_page_writes=on'
    : '-c fsync=off -c full_page_writes=off';
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 ${durability} -c max_connections=300`;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const start = () => runPg(binDir, ['pg_ctl', '-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start'], uid);
  start();
  return {
    url,
    binDir,
    durable,
    // Fault injection (test/faults.*): stop the server as a crash would, start it again, or name its processes
    // (postmaster and every child) to SIGSTOP / SIGCONT them.
    crash() {
      runPg(binDir, ['pg_ctl', '-D', data, '-m', 'immediate', 'stop'], uid);
    },
    restart() {
      start();
    },
    processIds() {
      const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      const children = spawnSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
      return [postmaster, ...children];
    },
    stop() {
      try {
        runPg(binDir, ['pg_ctl', '-D', data, '-m', 'immediate', 'stop'], uid);
      } catch {
        // already stopped (a fault test crashed it)
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
