import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { API_SEMI_SPACE_MB, DELIVERY_SEMI_SPACE_MB, NODE_ARGS } from '../../src/heap.js';
import { ROOT } from '../helpers/process.js';

const MB = 1024 * 1024;

test('npm start runs hookd start with the node options that size the young generation', () => {
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
  assert.equal(start, `node ${NODE_ARGS.join(' ')} dist/cli.js start`);
});

test('with those options the API thread keeps a small young generation and the delivery thread gets its own size', () => {
  // A process started as npm start starts hookd: each thread allocates short-lived objects with some survivors (what
  // grows V8's new space to its maximum) and reports the size its new space reached.
  const heap = pathToFileURL(join(ROOT, 'src', 'heap.ts')).href;
  const script = `
    import { Worker } from 'node:worker_threads';
    import { getHeapSpaceStatistics } from 'node:v8';
    import { deliveryThreadHeap } from ${JSON.stringify(heap)};
    const churn = \`let kept = []; for (let i = 0; i < 3e6; i++) { kept.push({ i, s: 'x' + i }); if (kept.length > 20000) kept = []; }\`;
    const newSpace = \`require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size\`;
    eval(churn);
    const api = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    deliveryThreadHeap();
    const worker = new Worker(churn + '; require("node:worker_threads").parentPort.postMessage(' + newSpace + ')', { eval: true, execArgv: [] });
    worker.once('message', (delivery) => { console.log(JSON.stringify({ api, delivery })); worker.terminate(); });
  `;
  const output = execFileSync(process.execPath, [...NODE_ARGS, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  const { api, delivery } = JSON.parse(output) as { api: number; delivery: number };
  assert.ok(api <= 2 * API_SEMI_SPACE_MB * MB, `API thread's new space ${api / MB} MB`);
  assert.ok(delivery > 2 * API_SEMI_SPACE_MB * MB && delivery <= 2 * DELIVERY_SEMI_SPACE_MB * MB, `delivery thread's new space ${delivery / MB} MB`);
});
