/**
 * Contract test: hookd driven only through the official Python svix SDK (2.x, in a venv of its own), by
 * test/sdk/python/contract.py. The script makes every SDK call and checks every answer; this side starts hookd and
 * the receiver, lets the script read what the receiver got (to verify it with the SDK's own Webhook class) and
 * choose which paths fail, and turns its JSON report into one test per scenario.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { TEST_TOKEN } from '../helpers/hookd.js';
import type { ReceivedRequest } from '../helpers/receiver.js';
import { runContract, startControl, type Report } from './contract-process.js';
import { PYTHON_SVIX_VERSION, ensurePythonSdk } from './python-venv.js';
import { THROTTLE, assertThrottled, at, failOn, withHookd } from './shared.js';

const CONTRACT = fileURLToPath(new URL('./python/contract.py', import.meta.url));
const SCENARIOS = ['applications', 'endpoints', 'filter_and_throttle', 'messages', 'attempts', 'event_types', 'operations'];

describe(`svix ${PYTHON_SVIX_VERSION} (Python) against hookd`, () => {
  let report: Report;
  let throttled: ReceivedRequest[] = [];

  before(async () => {
    const python = ensurePythonSdk();
    await withHookd(async ({ hookd, receiver }) => {
      const failing = new Set<string>();
      failOn(receiver, failing);
      const control = await startControl(receiver, failing);
      try {
        report = await runContract(python, [CONTRACT], {
          HOOKD_URL: hookd.url,
          HOOKD_TOKEN: TEST_TOKEN,
          RECEIVER_URL: receiver.url,
          RECEIVER_CONTROL_URL: control.url,
          THROTTLE_RATE: String(THROTTLE.rate),
          THROTTLE_MESSAGES: String(THROTTLE.messages),
        });
      } finally {
        await control.close();
      }
      throttled = at(receiver, '/py-throttled');
    });
  });

  test('the venv runs the pinned SDK and the report covers every scenario', () => {
    assert.equal(report.sdk, PYTHON_SVIX_VERSION);
    assert.deepEqual(report.scenarios.map((s) => s.name), SCENARIOS);
  });

  for (const name of SCENARIOS) {
    test(`scenario ${name}: every SDK call succeeds and answers what Svix answers`, () => {
      const scenario = report.scenarios.find((s) => s.name === name);
      assert.ok(scenario, `no result for ${name}`);
      assert.ok(scenario.ok, `${scenario.error}\n${scenario.trace ?? ''}`);
    });
  }

  test('the endpoint created with throttle_rate received at most its rate', () => {
    assert.equal(throttled.length, THROTTLE.messages, 'every throttled message arrived (see scenario filter_and_throttle)');
    assertThrottled(throttled, THROTTLE.rate);
  });
});
