/**
 * Contract test: a few calls through the official Go svix SDK (go/contract.go, pinned in go/go.mod), among them
 * resend, which the Go SDK sends as a POST with an empty body reader. The program is built with the machine's Go
 * (>= 1.21; the module comes from the Go module proxy) into node_modules/.cache; a missing Go is a failure that
 * says so, never a skip.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { TEST_TOKEN } from '../helpers/hookd.js';
import { runContract, startControl, type Report } from './contract-process.js';
import { failOn, withHookd } from './shared.js';

const SOURCE = fileURLToPath(new URL('./go', import.meta.url));
const BINARY = fileURLToPath(new URL('../../node_modules/.cache/hookd-sdk-go/contract', import.meta.url));
const GO_SVIX_VERSION = '1.99.1';

const INSTALLED_GO = '/usr/local/go/bin/go';

/** `go` on PATH, else where the official Go installer puts it (CI shells do not always read the profile adding it). */
const goCommand = (): string => (spawnSync('go', ['version']).status === 0 || !existsSync(INSTALLED_GO) ? 'go' : INSTALLED_GO);

function build(): void {
  const result = spawnSync(goCommand(), ['build', '-mod=readonly', '-o', BINARY, '.'], { cwd: SOURCE, encoding: 'utf8', timeout: 600_000 });
  if (result.status === 0) return;
  const output = `${result.error?.message ?? ''}\n${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  throw new Error(`\`go build\` of test/sdk/go failed (the Go SDK test needs Go >= 1.21 on PATH and the Go module proxy):\n${output}`);
}

describe(`svix ${GO_SVIX_VERSION} (Go) against hookd`, () => {
  let report: Report;

  before(async () => {
    build();
    await withHookd(async ({ hookd, receiver }) => {
      const failing = new Set<string>();
      failOn(receiver, failing);
      const control = await startControl(receiver, failing);
      try {
        report = await runContract(BINARY, [], { HOOKD_URL: hookd.url, HOOKD_TOKEN: TEST_TOKEN, RECEIVER_URL: receiver.url, RECEIVER_CONTROL_URL: control.url });
      } finally {
        await control.close();
      }
    });
  });

  test('the program runs the pinned SDK', () => {
    assert.equal(report.sdk, GO_SVIX_VERSION);
    assert.deepEqual(report.scenarios.map((s) => s.name), ['resend']);
  });

  test('create, a 409 on a repeated eventId, delivery, and a body-less resend, all verified with the Go Webhook class', () => {
    const [scenario] = report.scenarios;
    assert.ok(scenario?.ok, scenario?.error);
  });
});
