import { randomBytes } from 'node:crypto';

/**
 * Time-sortable ids in the Svix format: a prefix plus a 27-character base62 KSUID.
 *
 * The 20 KSUID bytes are: 4 bytes of seconds since the KSUID epoch, then 2 bytes of milliseconds and a
 * 4-byte per-process counter (so ids made by one process sort in creation order even within a second),
 * then 10 random bytes.
 */
export type IdPrefix = 'app' | 'ep' | 'msg' | 'atmpt' | 'qtask' | 'key' | 'dlv';

const KSUID_EPOCH_S = 1_400_000_000;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ENCODED_LENGTH = 27;
let counter = randomBytes(4).readUInt32BE(0) >>> 1;

export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  const bytes = Buffer.alloc(20);
  bytes.writeUInt32BE(Math.floor(nowMs / 1000) - KSUID_EPOCH_S, 0);
  bytes.writeUInt16BE(nowMs % 1000, 4);
  counter = (counter + 1) >>> 0;
  bytes.writeUInt32BE(counter, 6);
  randomBytes(10).copy(bytes, 10);
  return `${prefix}_${base62(bytes)}`;
}

function base62(bytes: Buffer): string {
  let n = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(ENCODED_LENGTH, '0');
}

/** A random base62 string with `bytes` bytes of entropy (for tokens). */
export function randomToken(bytes: number): string {
  return base62(randomBytes(bytes));
}

const ID_PATTERN = /^(app|ep|msg|atmpt|qtask|key|dlv)_[0-9A-Za-z]{27}$/;

/** True when `value` looks like one of our ids with the given prefix (otherwise it is treated as a uid). */
export function isId(value: string, prefix: IdPrefix): boolean {
  return value.startsWith(`${prefix}_`) && ID_PATTERN.test(value);
}
