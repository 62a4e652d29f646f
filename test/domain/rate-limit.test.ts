import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokenBuckets, burstOf, retryAfterSeconds, takeToken, type BucketState } from '../../src/domain/rate-limit.js';

const T0 = 1_000_000;

describe('token buckets', () => {
  test('a bucket holds one second of tokens (at least one) and refuses the next take with the time until a token refills', () => {
    const buckets = new TokenBuckets();
    for (let i = 0; i < 10; i++) assert.equal(buckets.take('app', 10, T0), 0, `take ${i}`);
    assert.equal(buckets.take('app', 10, T0), 100, '1 token at 10/s: 100 ms');
    assert.equal(buckets.take('app', 10, T0 + 50), 50);
    assert.equal(buckets.take('app', 10, T0 + 100), 0, 'refilled');
    assert.equal(buckets.take('app', 10, T0 + 100), 100);
    assert.equal(burstOf(1), 1);
    assert.equal(burstOf(0.5), 1, 'never less than one message');
  });

  test('refill is continuous and capped at the burst; keys are independent', () => {
    const buckets = new TokenBuckets();
    assert.equal(buckets.take('a', 2, T0), 0);
    assert.equal(buckets.take('a', 2, T0), 0);
    assert.equal(buckets.take('a', 2, T0), 500);
    assert.equal(buckets.take('b', 2, T0), 0, 'another key has its own bucket');
    // An hour idle refills two tokens, not 7200.
    assert.equal(buckets.take('a', 2, T0 + 3_600_000), 0);
    assert.equal(buckets.take('a', 2, T0 + 3_600_000), 0);
    assert.equal(buckets.take('a', 2, T0 + 3_600_000), 500);
  });

  test('a changed rate applies at once, tokens capped to the new burst; a clock stepping back refills nothing', () => {
    const state: BucketState = { tokens: 100, rate: 100, updatedAt: T0 };
    assert.equal(takeToken(state, 2, T0), 0);
    assert.equal(state.tokens, 1, 'capped at the new burst (2), minus the one taken');
    assert.equal(takeToken(state, 2, T0 - 10_000), 0);
    assert.equal(takeToken(state, 2, T0 - 10_000), 500, 'no refill from a clock that went back');
  });

  test('Retry-After is whole seconds, rounded up, at least 1', () => {
    assert.equal(retryAfterSeconds(1), 1);
    assert.equal(retryAfterSeconds(1000), 1);
    assert.equal(retryAfterSeconds(1001), 2);
    assert.equal(retryAfterSeconds(0), 1);
  });

  test('memory is bounded: when full, refilled buckets are dropped first', () => {
    const buckets = new TokenBuckets(4);
    for (const key of ['a', 'b', 'c', 'd']) buckets.take(key, 1, T0);
    assert.equal(buckets.size, 4);
    // At T0 + 2 s every bucket is full again: all are dropped, the new key is the only one.
    buckets.take('e', 1, T0 + 2000);
    assert.equal(buckets.size, 1);
    for (const key of ['f', 'g', 'h']) buckets.take(key, 1, T0 + 2000);
    // All busy: the oldest quarter goes.
    buckets.take('i', 1, T0 + 2000);
    assert.ok(buckets.size <= 4);
  });
});
