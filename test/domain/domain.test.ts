import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { parseDuration, parseDurationList } from '../../src/domain/duration.js';
import { base62, isId, newId } from '../../src/domain/ids.js';
import { endpointMatches } from '../../src/domain/matching.js';
import { DEFAULT_RETRY_SCHEDULE_MS, MAX_RETRY_AFTER_MS, decideRetry, endpointHoldUntil, parseRetryAfter, withJitter } from '../../src/domain/retry.js';
import { generateSecret, safeEqual, secretKeyBytes, sign, signatureHeader } from '../../src/domain/signing.js';

test('ids carry their prefix, a 27-character KSUID, and sort in creation order', () => {
  const ids = Array.from({ length: 1000 }, () => newId('msg'));
  for (const id of ids) assert.ok(isId(id, 'msg'), id);
  assert.deepEqual([...ids].sort(), ids);
  assert.ok(newId('msg', Date.UTC(2027, 0, 1)) > newId('msg', Date.UTC(2026, 0, 1)));
  assert.equal(isId('my-uid', 'app'), false);
});

test('the default retry schedule is 5s, 5m, 30m, 2h, 5h, 10h, 10h', () => {
  assert.deepEqual(DEFAULT_RETRY_SCHEDULE_MS, parseDurationList('5s,5m,30m,2h,5h,10h,10h'));
  assert.equal(parseDuration('250ms'), 250);
  assert.throws(() => parseDuration('5 parsecs'));
});

test('jitter stays within plus or minus 20 percent', () => {
  assert.equal(withJitter(1000, () => 0), 800);
  assert.equal(withJitter(1000, () => 0.5), 1000);
  assert.ok(withJitter(1000, () => 0.999999) <= 1200);
});

test('retry decisions: 2xx succeeds, other codes retry on schedule, then the delivery fails', () => {
  const schedule = [1000, 2000];
  const mid = () => 0.5;
  assert.deepEqual(decideRetry({ statusCode: 204 }, 1, schedule, 0, mid), { kind: 'succeeded' });
  assert.deepEqual(decideRetry({ statusCode: 500 }, 1, schedule, 0, mid), { kind: 'retry', delayMs: 1000 });
  assert.deepEqual(decideRetry({ statusCode: 0 }, 2, schedule, 0, mid), { kind: 'retry', delayMs: 2000 });
  assert.deepEqual(decideRetry({ statusCode: 302 }, 3, schedule, 0, mid), { kind: 'failed', reason: 'exhausted' });
  assert.deepEqual(decideRetry({ statusCode: 410 }, 1, schedule, 0, mid), { kind: 'failed', reason: 'gone' });
});

test('Retry-After on 429 and 503 delays the retry, clamped to an hour', () => {
  const schedule = [1000];
  const mid = () => 0.5;
  assert.deepEqual(decideRetry({ statusCode: 429, retryAfter: '30' }, 1, schedule, 0, mid), { kind: 'retry', delayMs: 30_000 });
  assert.deepEqual(decideRetry({ statusCode: 503, retryAfter: '999999' }, 1, schedule, 0, mid), { kind: 'retry', delayMs: MAX_RETRY_AFTER_MS });
  assert.deepEqual(decideRetry({ statusCode: 500, retryAfter: '30' }, 1, schedule, 0, mid), { kind: 'retry', delayMs: 1000 }, 'ignored on 500');
  assert.equal(parseRetryAfter(new Date(60_000).toUTCString(), 0), 60_000);
  assert.equal(parseRetryAfter('soon', 0), null);
  // The same header holds the whole endpoint (scheduler.ts), from now, clamped the same way.
  assert.equal(endpointHoldUntil({ statusCode: 429, retryAfter: '30' }, 5_000), 35_000);
  assert.equal(endpointHoldUntil({ statusCode: 503, retryAfter: '999999' }, 0), MAX_RETRY_AFTER_MS);
  assert.equal(endpointHoldUntil({ statusCode: 500, retryAfter: '30' }, 0), null, 'only 429 and 503');
  assert.equal(endpointHoldUntil({ statusCode: 429, retryAfter: null }, 0), null, 'no header: no hold');
  assert.equal(endpointHoldUntil({ statusCode: 429, retryAfter: '0' }, 0), null);
});

test('endpoint matching honours disabled, filterTypes and channels', () => {
  const base = { disabled: false, filterTypes: null, channels: null };
  assert.equal(endpointMatches(base, 'a', null), true);
  assert.equal(endpointMatches({ ...base, disabled: true }, 'a', null), false);
  assert.equal(endpointMatches({ ...base, filterTypes: ['a'] }, 'a', null), true);
  assert.equal(endpointMatches({ ...base, filterTypes: ['b'] }, 'a', null), false);
  assert.equal(endpointMatches({ ...base, channels: ['eu'] }, 'a', null), false);
  assert.equal(endpointMatches({ ...base, channels: ['eu'] }, 'a', ['us', 'eu']), true);
  assert.equal(endpointMatches(base, 'a', ['eu']), true, 'an endpoint without channels gets every message');
});

test('signatures verify with the standardwebhooks library, for every secret still in its grace period', () => {
  const current = generateSecret();
  const old = generateSecret();
  assert.equal(secretKeyBytes(current)?.length, 24);
  const now = Date.now();
  const ts = Math.floor(now / 1000);
  const body = JSON.stringify({ hello: 'wörld' });
  const header = signatureHeader([{ key: current, expiresAt: null }, { key: old, expiresAt: now + 1000 }, { key: generateSecret(), expiresAt: now - 1 }], 'msg_1', ts, body, now);
  assert.equal(header.split(' ').length, 2, 'the expired secret does not sign');
  const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': header };
  for (const secret of [current, old]) assert.deepEqual(new StandardWebhook(secret).verify(body, headers), { hello: 'wörld' });
  assert.throws(() => new StandardWebhook(generateSecret()).verify(body, headers));
  assert.match(sign(current, 'msg_1', ts, body), /^v1,[A-Za-z0-9+/]+=*$/);
});

test('safeEqual: equal strings only, whatever the length or where they differ', () => {
  const value = 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=';
  assert.equal(safeEqual(value, value), true);
  assert.equal(safeEqual('', ''), true);
  assert.equal(safeEqual('é🙂', 'é🙂'), true);
  assert.equal(safeEqual(value, `x${value.slice(1)}`), false, 'differs in the first character');
  assert.equal(safeEqual(value, `${value.slice(0, -1)}x`), false, 'differs in the last character');
  assert.equal(safeEqual(value, value.slice(0, -1)), false, 'a prefix');
  assert.equal(safeEqual(value, `${value}=`), false, 'longer');
  assert.equal(safeEqual('', value), false);
});

test('base62 matches the plain BigInt encoding (KSUID ids, tokens of any length, zeros)', () => {
  const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const reference = (bytes: Buffer): string => {
    let n = BigInt(`0x${bytes.toString('hex') || '0'}`);
    let out = '';
    while (n > 0n) {
      out = ALPHABET[Number(n % 62n)] + out;
      n /= 62n;
    }
    return out.padStart(27, '0');
  };
  const inputs = [Buffer.alloc(20), Buffer.alloc(20, 0xff), Buffer.from([0, 0, 0, 1]), Buffer.alloc(1, 61), Buffer.alloc(1, 62)];
  for (let i = 0; i < 500; i++) inputs.push(randomBytes(1 + (i % 40)));
  for (const bytes of inputs) assert.equal(base62(bytes), reference(bytes), bytes.toString('hex'));
});
