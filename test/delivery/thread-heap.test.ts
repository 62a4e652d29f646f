import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { API_SEMI_SPACE_MB, DELIVERY_SEMI_SPACE_MB, IDLE_UTILIZATION, NODE_ARGS, idleCollections, semiSpaceGiven } from '../../src/heap.js';
import { ROOT } from '../helpers/process.js';

const MB = 1024 * 1024;

test('npm start runs hookd start with the node options that size its heap', () => {
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
  assert.equal(start, `node ${NODE_ARGS.join(' ')} dist/cli.js start`);
});

test('with those options the API thread keeps a small young generation, the delivery thread gets its own, and later threads do not', () => {
  const output = execFileSync(process.execPath, [...NODE_ARGS, '--import', 'tsx', join(ROOT, 'test', 'helpers', 'thread-heap-process.ts')], { cwd: ROOT, encoding: 'utf8' });
  const lines = output.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, number>);
  const delivery = lines.find((line) => 'deliveryNewSpace' in line)?.deliveryNewSpace;
  const { api, later } = lines.find((line) => 'api' in line)!;
  // A new space is two semi-spaces; V8 13 (Node 24) lets one run a page or so over (4.25 and 5.25 MB seen at 2 MB
  // semi-spaces), hence the margins. Without the options the spaces reach 32 MB (Node 20) or 64 MB (Node 24).
  const small = 3 * API_SEMI_SPACE_MB * MB;
  assert.ok(api! <= small, `API thread's new space ${api! / MB} MB`);
  assert.ok(delivery !== undefined && delivery > small && delivery <= 2.5 * DELIVERY_SEMI_SPACE_MB * MB, `delivery thread's new space ${delivery! / MB} MB`);
  assert.ok(later! <= small, `a thread made afterwards: new space ${later! / MB} MB`);
});

test('the semi-space size node was given is read in each of its spellings', () => {
  assert.equal(semiSpaceGiven([]), null);
  assert.equal(semiSpaceGiven(['--heap-growing-percent=10']), null);
  assert.equal(semiSpaceGiven(['--max-semi-space-size=2']), 2);
  assert.equal(semiSpaceGiven(['--max_semi_space_size=16']), 16);
  assert.equal(semiSpaceGiven(['--max-semi-space-size', '4', '--inspect']), 4);
});

test('on Node 24 and later an idle thread gives its young generation back (V8 13 does not); before that V8 does and hookd leaves it', () => {
  const output = execFileSync(process.execPath, [...NODE_ARGS, '--import', 'tsx', join(ROOT, 'test', 'helpers', 'idle-memory-process.ts')], { cwd: ROOT, encoding: 'utf8' });
  const { on, before, after } = JSON.parse(output.trim().split('\n').at(-1)!) as { on: boolean; before: number; after: number };
  assert.ok(before >= 2 * API_SEMI_SPACE_MB * MB, `the young generation grew to its maximum first: ${before / MB} MB`);
  if (Number(process.versions.node.split('.')[0]) >= 24) {
    assert.equal(on, true, `on ${process.version}`);
    assert.ok(after <= MB, `after an idle check the new space holds ${after / MB} MB`);
  } else {
    assert.equal(on, false, `not on ${process.version}, whose memory reducer does this`);
  }
});

test('an idle collection comes at the first idle check after a busy one, and not again until the thread was busy', () => {
  const idleNow = idleCollections();
  const busy = IDLE_UTILIZATION * 10;
  const idle = IDLE_UTILIZATION / 10;
  // The start-up counts as busy: the first idle check collects.
  assert.deepEqual([idle, idle, idle].map(idleNow), [true, false, false]);
  assert.deepEqual([busy, busy, idle, idle].map(idleNow), [false, false, true, false]);
  assert.deepEqual([IDLE_UTILIZATION, idle].map(idleNow), [false, true], 'a check at the threshold is busy');
});
