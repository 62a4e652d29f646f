import assert from 'node:assert/strict';
import { pbkdf2 } from 'node:crypto';
import type { LookupAddress, lookup as dnsLookup } from 'node:dns';
import { closeSync, fdatasync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { boundedLookup, defaultLookupConcurrency } from '../../src/delivery/lookups.js';
import { tempDir } from '../helpers/hookd.js';

type Callback = (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void;

/**
 * A resolver whose every call holds one thread of libuv's pool for `holdMs`, as a getaddrinfo waiting for a slow DNS
 * server does (pbkdf2 runs on the same pool), then answers 127.0.0.1. Counts calls and the most at once.
 */
function slowResolver(iterations: number): { lookup: typeof dnsLookup; calls: () => number; peak: () => number } {
  let calls = 0;
  let running = 0;
  let peak = 0;
  const lookup = ((_hostname: string, _options: unknown, callback: Callback) => {
    calls++;
    running++;
    peak = Math.max(peak, running);
    pbkdf2('secret', 'salt', iterations, 32, 'sha256', () => {
      running--;
      callback(null, [{ address: '127.0.0.1', family: 4 }]);
    });
  }) as unknown as typeof dnsLookup;
  return { lookup, calls: () => calls, peak: () => peak };
}

const lookupOnce = (lookup: typeof dnsLookup, hostname: string, options: object): Promise<unknown[]> =>
  new Promise((resolve, reject) => (lookup as unknown as (h: string, o: object, c: (...args: unknown[]) => void) => void)(hostname, options, (error, ...rest) => (error ? reject(error) : resolve(rest))));

/** pbkdf2 iterations that take about `ms` on this machine. */
async function iterationsFor(ms: number): Promise<number> {
  const probe = 20_000;
  const started = performance.now();
  await new Promise((resolve) => pbkdf2('secret', 'salt', probe, 32, 'sha256', resolve));
  return Math.max(probe, Math.round((probe * ms) / Math.max(1, performance.now() - started)));
}

/** How long an fsync of a small file waits, on libuv's pool, as ingest's WAL fsync does. */
async function fsyncLatency(dir: string): Promise<number> {
  const fd = openSync(join(dir, 'wal'), 'a');
  writeSync(fd, 'x'.repeat(4096));
  const started = performance.now();
  await new Promise<void>((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
  closeSync(fd);
  return performance.now() - started;
}

describe('delivery lookups are bounded', () => {
  test('lookups of one name at the same time share one call, and each caller gets the shape it asked for', async () => {
    const resolver = slowResolver(20_000);
    const lookup = boundedLookup(resolver.lookup, 2);
    const answers = await Promise.all([
      ...Array.from({ length: 20 }, () => lookupOnce(lookup, 'shared.example', { all: true })),
      lookupOnce(lookup, 'shared.example', { family: 0 }),
    ]);
    assert.equal(resolver.calls(), 1);
    assert.deepEqual(answers[0], [[{ address: '127.0.0.1', family: 4 }]]);
    assert.deepEqual(answers[20], ['127.0.0.1', 4]);
    await lookupOnce(lookup, 'shared.example', { all: true });
    assert.equal(resolver.calls(), 2, 'nothing is cached: a later lookup asks again');
  });

  test('a failed or refused lookup is reported to every caller and frees its turn', async () => {
    const failing = ((_hostname: string, _options: unknown, callback: Callback) =>
      setImmediate(() => callback(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example'), { code: 'ENOTFOUND' }), []))) as unknown as typeof dnsLookup;
    const lookup = boundedLookup(failing, 1);
    const results = await Promise.allSettled([lookupOnce(lookup, 'nowhere.example', {}), lookupOnce(lookup, 'nowhere.example', {})]);
    for (const result of results) assert.equal(result.status === 'rejected' && (result.reason as { code?: string }).code, 'ENOTFOUND');
    const throwing = (() => {
      throw new TypeError('The "hostname" argument must be of type string');
    }) as unknown as typeof dnsLookup;
    const refusing = boundedLookup(throwing, 1);
    await assert.rejects(lookupOnce(refusing, 'a.example', {}), TypeError);
    await assert.rejects(lookupOnce(refusing, 'b.example', {}), TypeError, 'the first refusal did not keep the only turn');
  });

  test("slow lookups of many names take at most half of libuv's pool: an fsync (ingest's WAL) does not wait for them", async () => {
    const temp = tempDir('hookd-lookups-');
    try {
      const iterations = await iterationsFor(400);
      const names = Array.from({ length: 8 }, (_, i) => `slow${i}.example`);
      const fsyncWith = async (concurrency: number): Promise<{ fsyncMs: number; peak: number; lookupsMs: number }> => {
        const resolver = slowResolver(iterations);
        const lookup = boundedLookup(resolver.lookup, concurrency);
        const started = performance.now();
        const lookups = Promise.all(names.map((name) => lookupOnce(lookup, name, { all: true })));
        await new Promise((resolve) => setTimeout(resolve, 20)); // the lookups are on the pool
        const fsyncMs = await fsyncLatency(temp.dir);
        await lookups;
        return { fsyncMs, peak: resolver.peak(), lookupsMs: performance.now() - started };
      };
      // Control: unbounded, eight slow lookups hold all four threads and the fsync waits for one to end.
      const unbounded = await fsyncWith(names.length);
      const bounded = await fsyncWith(defaultLookupConcurrency(4));
      const summary = `fsync ${bounded.fsyncMs.toFixed(1)} ms bounded against ${unbounded.fsyncMs.toFixed(1)} ms unbounded; lookups took ${bounded.lookupsMs.toFixed(0)} / ${unbounded.lookupsMs.toFixed(0)} ms`;
      console.log(summary);
      assert.equal(bounded.peak, 2, summary);
      assert.ok(unbounded.fsyncMs > 150, `the control shows the pool taken (${summary})`);
      assert.ok(bounded.fsyncMs < unbounded.fsyncMs / 3 && bounded.fsyncMs < 100, `the fsync did not wait for the lookups (${summary})`);
    } finally {
      temp.cleanup();
    }
  });
});
