/**
 * The Python svix SDK for the contract test, in a virtualenv of its own under node_modules/.cache (gitignored with
 * node_modules): made by the first run, reused while it holds the pinned version. Missing Python or venv support is
 * a failure that says what to install, never a skip.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON_SVIX_VERSION = '2.9.1';

const VENV = fileURLToPath(new URL('../../node_modules/.cache/hookd-sdk-venv', import.meta.url));
const MARKER = join(VENV, 'hookd-sdk.json');
const WANTED = JSON.stringify({ svix: PYTHON_SVIX_VERSION });

function run(command: string, args: string[], hint: string): void {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 240_000 });
  if (result.status === 0) return;
  const output = `${result.error?.message ?? ''}\n${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
  throw new Error(`\`${command} ${args.join(' ')}\` failed (${hint}):\n${output}`);
}

/** Returns the venv's python with svix==PYTHON_SVIX_VERSION installed, making the venv when needed. */
export function ensurePythonSdk(): string {
  const python = join(VENV, 'bin', 'python');
  if (existsSync(python) && existsSync(MARKER) && readFileSync(MARKER, 'utf8') === WANTED) return python;
  rmSync(VENV, { recursive: true, force: true });
  run('python3', ['-m', 'venv', VENV], 'the Python SDK test needs python3 >= 3.10 with its venv module; on Debian: apt-get install python3 python3-venv');
  run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', `svix==${PYTHON_SVIX_VERSION}`], 'pip could not install the SDK from PyPI');
  writeFileSync(MARKER, WANTED);
  return python;
}
