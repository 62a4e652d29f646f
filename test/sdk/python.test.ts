/**
 * Contract test: hookd driven only through the official Python svix SDK (2.x, in a venv of its own), by
 * test/sdk/python/contract.py. The script makes every SDK call and checks every answer; this side starts hookd and
 * the receiver, lets the script read what the receiver got (to verify it with the SDK's own Webhook class) and
 * choose which paths fail, and turns its JSON report into one test per scenario.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { TEST_TOKEN } from '../helpers/hookd.js';
import type { Receiver, ReceivedRequest } from '../helpers/receiver.js';
import { PYTHON_SVIX_VERSION, ensurePythonSdk } from './python-venv.js';
import { THROTTLE, assertThrottled, at, failOn, headersOf, withHookd } from './shared.js';

const CONTRACT = fileURLToPath(new URL('./python/contract.py', import.meta.url));
const SCENARIOS = ['applications', 'endpoints', 'filter_and_throttle', 'messages', 'attempts', 'event_types'];

interface Scenario {
  name: string;
  ok: boolean;
  error?: string;
  trace?: string;
}

interface Report {
  sdk: string;
  scenarios: Scenario[];
}

const readBody = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/**
 * The script's view of the receiver: GET /requests lists what it received (headers flattened, as Webhook.verify
 * takes them), PUT /failing sets the paths that answer 500.
 */
async function startControl(receiver: Receiver, failing: Set<string>): Promise<{ url: string; server: Server }> {
  const server = createServer(async (request, response) => {
    if (request.method === 'PUT' && request.url === '/failing') {
      const paths = JSON.parse(await readBody(request)) as string[];
      failing.clear();
      for (const path of paths) failing.add(path);
      response.writeHead(204).end();
      return;
    }
    if (request.method === 'GET' && request.url === '/requests') {
      const requests = receiver.requests.map((r) => ({ path: r.path, headers: headersOf(r), body: r.body, at: r.at }));
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(requests));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Runs contract.py to its end and parses its report (its last stdout line). */
function runContract(python: string, env: Record<string, string>): Promise<Report> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [CONTRACT], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) return reject(new Error(`contract.py exited with ${code ?? signal}:\n${stdout}\n${stderr}`));
      resolve(JSON.parse(last) as Report);
    });
  });
}

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
        report = await runContract(python, {
          HOOKD_URL: hookd.url,
          HOOKD_TOKEN: TEST_TOKEN,
          RECEIVER_URL: receiver.url,
          RECEIVER_CONTROL_URL: control.url,
          THROTTLE_RATE: String(THROTTLE.rate),
          THROTTLE_MESSAGES: String(THROTTLE.messages),
        });
      } finally {
        control.server.closeAllConnections();
        await new Promise((resolve) => control.server.close(resolve));
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
