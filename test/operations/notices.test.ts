import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAILING_NOTICE_AT_ATTEMPT, noticeFor } from '../../src/operations/events.js';
import type { AckedResult } from '../../src/store/store.js';

const acked = (extra: Partial<AckedResult['result']>, attempts: number): AckedResult => ({
  result: {
    deliveryId: 'dlv_1',
    leaseOwner: 'w',
    attempt: { status: 'fail' } as AckedResult['result']['attempt'],
    next: { status: 'pending', nextAttemptAt: 1 },
    ...extra,
  },
  attempts,
  failureNotified: false,
});

test("an attempt that did not count raises no notice: the 'failing' at that count went out already", () => {
  assert.equal(noticeFor(acked({}, FAILING_NOTICE_AT_ATTEMPT)), 'failing');
  assert.equal(noticeFor(acked({ uncounted: true }, FAILING_NOTICE_AT_ATTEMPT)), null, 'to a former URL (retriedAtNewUrl)');
  assert.equal(noticeFor(acked({ aborted: true }, FAILING_NOTICE_AT_ATTEMPT)), null, 'cut off by a shutdown');
  assert.equal(noticeFor(acked({ next: { status: 'failed' } }, 7)), 'exhausted');
});
