import type { Source } from './store.js';

/**
 * Row <-> record mapping of the `source` table (inbound sources), shared by both adapters like rows.ts.
 * JSON columns (verification, event_type, channels) arrive as TEXT (SQLite) or parsed (PostgreSQL jsonb).
 */

type Row = Record<string, unknown>;

const json = <T>(value: unknown): T => (value === null || value === undefined ? null : typeof value === 'string' ? JSON.parse(value) : value) as T;

export const SOURCE_COLUMNS = ['id', 'app_id', 'name', 'verification', 'idempotency_header', 'event_type', 'channels', 'created_at', 'updated_at'] as const;

export const sourceFromRow = (r: Row): Source => ({
  id: r.id as string,
  appId: r.app_id as string,
  name: r.name as string,
  verification: json(r.verification),
  idempotencyHeader: (r.idempotency_header as string | null) ?? null,
  eventType: json(r.event_type),
  channels: json(r.channels),
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
});

/** The row's values in SOURCE_COLUMNS order. */
export const sourceValues = (s: Source): unknown[] => [
  s.id,
  s.appId,
  s.name,
  JSON.stringify(s.verification),
  s.idempotencyHeader,
  JSON.stringify(s.eventType),
  s.channels === null ? null : JSON.stringify(s.channels),
  s.createdAt,
  s.updatedAt,
];
