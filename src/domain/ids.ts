import { randomBytes, randomFillSync } from 'node:crypto';

/**
 * Time-sortable ids in the Svix format: a prefix plus a 27-character base62 KSUID.
 *
 * The 20 KSUID bytes are: 4 bytes of seconds since the KSUID epoch, then 2 bytes of milliseconds and a
 * 4-byte per-process counter (so ids made by one process sort in creation order even within a second),
 * then 10 random bytes.
 */
export type IdPrefix = 'app' | 'ep' | 'msg' | 'atmpt' | 'qtask' | 'key' | 'dlv' | 'src'; // src: inbound sources (/ingest)

const KSUID_EPOCH_S = 1_400_000_000;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ENCODED_LENGTH = 27;
let counter = randomBytes(4).readUInt32BE(0) >>> 1;

export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  const bytes = Buffer.allocUnsafe(20);
  bytes.writeUInt32BE(Math.floor(nowMs / 1000) - KSUID_EPOCH_S, 0);
  bytes.writeUInt16BE(nowMs % 1000, 4);
  counter = (counter + 1) >>> 0;
  bytes.writeUInt32BE(counter, 6);
  randomInto(bytes, 10, 10);
  return `${prefix}_${base62(bytes)}`;
}

/** Random bytes for ids come from a pool refilled 4 KB at a time: one CSPRNG call per ~400 ids, not per id. */
const pool = Buffer.allocUnsafe(4096);
let poolOffset = pool.length;

function randomInto(target: Buffer, offset: number, length: number): void {
  if (poolOffset + length > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  pool.copy(target, offset, poolOffset, poolOffset + length);
  poolOffset += length;
}

/** Big-endian bytes as base62 (at least 27 characters), by long division on 32-bit digits: exact in doubles (< 2^38), no BigInt. */
export function base62(bytes: Buffer): string {
  const pad = (4 - (bytes.length % 4)) % 4;
  const digits: number[] = [];
  for (let i = -pad; i < bytes.length; i += 4) {
    let digit = 0;
    for (let j = i; j < i + 4; j++) digit = digit * 256 + (j >= 0 ? bytes[j]! : 0);
    digits.push(digit);
  }
  let out = '';
  let start = 0;
  while (start < digits.length && digits[start] === 0) start++;
  while (start < digits.length) {
    let remainder = 0;
    for (let i = start; i < digits.length; i++) {
      const value = remainder * 4294967296 + digits[i]!;
      digits[i] = Math.floor(value / 62);
      remainder = value % 62;
    }
    out = ALPHABET[remainder] + out;
    while (start < digits.length && digits[start] === 0) start++;
  }
  return out.padStart(ENCODED_LENGTH, '0');
}

/** A random base62 string with `bytes` bytes of entropy (for tokens). */
export function randomToken(bytes: number): string {
  return base62(randomBytes(bytes));
}

const ID_PATTERN = /^(app|ep|msg|atmpt|qtask|key|dlv|src)_[0-9A-Za-z]{27}$/;

/** True when `value` looks like one of our ids with the given prefix (otherwise it is treated as a uid). */
export function isId(value: string, prefix: IdPrefix): boolean {
  return value.startsWith(`${prefix}_`) && ID_PATTERN.test(value);
}
