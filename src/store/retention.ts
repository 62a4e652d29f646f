import { base62, type IdPrefix } from '../domain/ids.js';

/**
 * Retention helpers shared by both adapters.
 *
 * Ids are KSUIDs whose leading bytes are the creation time (domain/ids.ts: 4 bytes of seconds since the KSUID
 * epoch, then 2 bytes of milliseconds), so every id made before `ms` sorts below the id made of that time and
 * zero bytes. The purge walks messages by primary key up to this bound: no index on created_at is needed, so
 * ingest pays nothing for retention.
 */

/** Messages a purge reads at a time while it looks for what it may delete (SQLite; PostgreSQL reads by deliveries). */
export const PURGE_PAGE = 256;

/** The KSUID epoch of domain/ids.ts (seconds). */
const KSUID_EPOCH_S = 1_400_000_000;

/** The smallest id with `prefix` that can be made at `ms`: ids made earlier sort below it. */
export function idLowerBound(prefix: IdPrefix, ms: number): string {
  const bytes = Buffer.alloc(20);
  const seconds = Math.floor(ms / 1000) - KSUID_EPOCH_S;
  if (seconds <= 0) return `${prefix}_${'0'.repeat(27)}`;
  bytes.writeUInt32BE(Math.min(seconds, 0xffffffff), 0);
  bytes.writeUInt16BE(((ms % 1000) + 1000) % 1000, 4);
  return `${prefix}_${base62(bytes)}`;
}
