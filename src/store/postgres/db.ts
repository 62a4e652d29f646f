// The PostgreSQL connection pool every concern of the PostgreSQL store shares: schema, type parsing, migrations,
// and the helpers the concerns use (transactions, single rows, paging, unique-constraint conflicts, placeholders).
import pg from 'pg';
import { conflict } from '../../domain/errors.js';
import type { Page } from '../../domain/types.js';
import { pagedSql, toPage, type PageQuery } from '../paging.js';
import { postgresMigrations } from './migrations.js';

export type Row = Record<string, unknown>;

/** The NOTIFY channel that wakes workers when deliveries become due. */
export const DELIVERIES_CHANNEL = 'hookd_deliveries';
const MIGRATION_LOCK = 7_243_519; // pg_advisory_xact_lock key for migrations
export const $ = (n: number): string => `$${n}`;

export interface PostgresStoreOptions {
  url: string;
  /** Schema to use (created if missing); default "public". Tests use one schema per file. */
  schema?: string;
  poolSize?: number;
}

// BIGINT (epoch milliseconds, counts) as numbers: every value we store is far below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** A pg.Pool whose connections use the store's schema. */
export class PostgresDb {
  readonly pool: pg.Pool;
  private readonly schema: string;

  constructor(options: PostgresStoreOptions) {
    this.schema = options.schema ?? 'public';
    if (!/^[a-z_][a-z0-9_]*$/.test(this.schema)) throw new Error(`invalid schema name "${this.schema}"`);
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      types,
      options: `-c search_path=${this.schema}`,
    });
    // An idle client's error (server restart) must not crash the process; the pool replaces it.
    this.pool.on('error', () => undefined);
  }

  async migrate(): Promise<number[]> {
    return this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const done = new Set((await client.query('SELECT version FROM schema_migrations')).rows.map((r) => r.version as number));
      const applied: number[] = [];
      for (const migration of postgresMigrations) {
        if (done.has(migration.version)) continue;
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
        applied.push(migration.version);
      }
      return applied;
    });
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async one<T>(sql: string, params: unknown[], map: (row: Row) => T): Promise<T | null> {
    const row = (await this.pool.query(sql, params)).rows[0] as Row | undefined;
    return row ? map(row) : null;
  }

  async paged<T>(select: string, params: unknown[], key: string, query: PageQuery, map: (row: Row) => T, keyOf: (record: T) => string): Promise<Page<T>> {
    const built = pagedSql(select, params, key, query, $);
    return toPage((await this.pool.query(built.sql, built.params)).rows.map(map), query, keyOf);
  }

  async uniqueOrConflict(detail: string, write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw conflict(detail);
      throw error;
    }
  }
}
