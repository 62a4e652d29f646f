// The PostgreSQL connection pool every concern of the PostgreSQL store shares: schema, type parsing, migrations,
// and the helpers the concerns use (transactions, single rows, paging, unique-constraint conflicts, placeholders).
import pg from 'pg';
import { conflict } from '../../domain/errors.js';
import type { Page } from '../../domain/types.js';
import { pagedSql, toPage, type PageQuery } from '../paging.js';
import type { Durability } from '../durability.js';
import { storeFailureOf } from '../failures.js';
import { postgresMigrations } from './migrations.js';
import { plainSql, prepareOn, sqlOf, type Sql } from './prepared.js';

export type Row = Record<string, unknown>;

/** The NOTIFY channel that wakes workers when deliveries become due. */
export const DELIVERIES_CHANNEL = 'hookd_deliveries';
/** Wakes every worker (their LISTEN) when the transaction commits: it created or rescheduled deliveries. */
export const NOTIFY_DELIVERIES = `NOTIFY ${DELIVERIES_CHANNEL}`;
/** pg_advisory_xact_lock keys, one per thing serialised across processes; every key hookd takes is here. */
const MIGRATION_LOCK = 7_243_519;
/** Store.createFirstAdminKey: one bootstrap admin key however many processes start at once. */
export const FIRST_ADMIN_KEY_LOCK = 7_243_520;
/** SQLSTATEs of a statement the server aborted on a healthy connection: deadlock, serialization, timeouts, locks, resources. */
const SERVER_ABORTED = /^(40001|40P01|57014|55P03|53\d{3})$/;
export const $ = (n: number): string => `$${n}`;

type TransactionWork<T> = (client: pg.PoolClient, commitWith: (statements: Sql) => void, opened: pg.QueryResult[]) => Promise<T>;
interface TransactionOptions {
  durability?: Durability;
  openWith?: Sql;
  /**
   * Every statement is driven by a batch's keys (an unnest or an `= ANY` of ids): plan them as index probes in nested
   * loops only (PROBES_ONLY). The hot path's transactions (ingest, claim, ack) set it.
   */
  probes?: boolean;
}

/**
 * The planner settings of a `probes` transaction. Its statements run prepared, and a connection's plan cache keeps
 * the first generic plan it builds until a table's statistics change: one built while a table is small (a fresh
 * database, the first minute before autovacuum analyzes it) joins the batch to it by hash over a sequential scan, and
 * keeps scanning the whole table as it grows (measured: the ack's UPDATE of delivery, 11 ms per ack at 100k rows, a
 * tenth of the machine's CPU during the sustained bench). A batch of keys probing a primary key or an index is the
 * right plan at every table size; these make it the only one the planner takes where an index exists, and the one
 * the connection keeps.
 */
const PROBES_ONLY = [
  'SET LOCAL enable_seqscan TO off',
  'SET LOCAL enable_hashjoin TO off',
  'SET LOCAL enable_mergejoin TO off',
  // With the plan's shape fixed, one generic plan serves every batch: planned once per connection, not per execution.
  'SET LOCAL plan_cache_mode TO force_generic_plan',
  // A plan that must keep a disabled node costs 1e10 more, far over jit_above_cost: none of these statements has one
  // today, and compiling one at every execution would cost more than running it.
  'SET LOCAL jit TO off',
];

/**
 * The connection's prepared statements no longer fit: a schema change altered a statement's result columns ("cached
 * plan must not change result type", known by the server routine that raises it: its message may be translated), or
 * the session lost or kept statements this process did not expect (no such prepared statement; one already exists:
 * a pooler that moved the connection to another session). A new connection prepares them afresh.
 */
const needsFreshConnection = (error: unknown): boolean => {
  const { code, routine } = error as { code?: string; routine?: string };
  return (code === '0A000' && routine === 'RevalidateCachedQuery') || code === '26000' || code === '42P05';
};

export interface PostgresStoreOptions {
  url: string;
  /** Schema to use (created if missing); default "public". Tests use one schema per file. */
  schema?: string;
  poolSize?: number;
  /**
   * Bound on every wait (default 5 s): connecting, a statement on the server (statement_timeout), and a query on
   * the client (for a server that stopped answering altogether). Migrations are exempt.
   */
  timeoutMs?: number | undefined;
}

// BIGINT (epoch milliseconds, counts) as numbers: every value we store is far below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * A pg.Pool whose connections use the store's schema, with every wait bounded. A lost connection fails the
 * operation using it, never the process: idle clients' errors go to the pool's listener, and a client checked out
 * for a transaction has its own listener while it is out and is destroyed (not reused) after any error.
 */
export class PostgresDb {
  readonly pool: pg.Pool;
  private readonly schema: string;
  readonly timeoutMs: number;

  constructor(private readonly options: PostgresStoreOptions) {
    this.schema = options.schema ?? 'public';
    if (!/^[a-z_][a-z0-9_]*$/.test(this.schema)) throw new Error(`invalid schema name "${this.schema}"`);
    this.timeoutMs = Math.round(options.timeoutMs ?? 5000);
    this.pool = new pg.Pool({
      ...this.connection(),
      max: options.poolSize ?? 10,
      // The server's statement_timeout answers first (a clean error, the connection stays usable); the client's
      // query_timeout is for a server that answers nothing at all (stopped, or the network gone).
      options: `-c search_path=${this.schema} -c statement_timeout=${this.timeoutMs} -c idle_in_transaction_session_timeout=${this.timeoutMs * 6}`,
      query_timeout: this.timeoutMs + 1000,
    });
    // An idle client's error (server restart, terminated backend) must not crash the process; the pool replaces it.
    this.pool.on('error', () => undefined);
  }

  /** Connection settings shared by the pool, the LISTEN client and the migration client. */
  connection(): pg.ClientConfig {
    return { connectionString: this.options.url, types, connectionTimeoutMillis: this.timeoutMs, keepAlive: true };
  }

  /** Migrations run on a client of their own, without statement or query timeouts (an index build takes its time). */
  async migrate(): Promise<number[]> {
    const client = new pg.Client({ ...this.connection(), options: `-c search_path=${this.schema}` });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query('BEGIN');
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
      await client.query('COMMIT');
      return applied;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  /** Resolves only when a write can be committed now (not a read-only server, not out of disk). */
  async probe(): Promise<void> {
    await this.pool.query('INSERT INTO readiness_probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at', [Date.now()]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * `work` in a transaction on a client of its own. A `redoable` one commits without waiting for the server's WAL
   * flush (synchronous_commit=off for this transaction only, see store/durability.ts): the worker's claims and acks
   * then do not wait for an fsync each. Statements `work` gives `commitWith` (no parameters: prepared statements
   * EXECUTEd with literals, see prepared.ts) go with the COMMIT in one round trip, in order; a lock they take is held
   * only while the server commits. Likewise `openWith` goes with the BEGIN, and `work` gets its statements' results
   * (`opened`). `work` may run again on another connection (see below): it must have no effect outside the
   * transaction, and build what it returns afresh each time.
   */
  async transaction<T>(work: TransactionWork<T>, options: TransactionOptions = {}): Promise<T> {
    // A migration that changed a table under this process's prepared statements (a newer hookd's `migrate` during a
    // rolling upgrade) fails each connection's next use of them once: that connection is dropped and the
    // transaction, rolled back, runs again on another (at most once per pooled connection, then a new one).
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.transactionOnce(work, options);
      } catch (error) {
        if (!needsFreshConnection(error) || attempt >= (this.pool.options.max ?? 10)) throw error;
      }
    }
  }

  private async transactionOnce<T>(work: TransactionWork<T>, { durability = 'full', openWith, probes = false }: TransactionOptions): Promise<T> {
    const client = await this.pool.connect();
    // While checked out, a connection error is this transaction's failure (its query rejects), not the process's.
    const broken: { error: unknown } = { error: null };
    const onError = (error: Error): void => {
      broken.error = error;
    };
    client.on('error', onError);
    try {
      const begin = ['BEGIN', ...(durability === 'full' ? [] : ['SET LOCAL synchronous_commit TO off']), ...(probes ? PROBES_ONLY : [])];
      const open = sqlOf(...begin.map(plainSql), ...(openWith ? [openWith] : []));
      await prepareOn(client, open.needs);
      // A query of several statements answers with one result each.
      const began = await client.query(open.text);
      const opened = openWith ? (began as unknown as pg.QueryResult[]).slice(begin.length) : [];
      const last: Sql[] = [];
      const result = await work(client, (statements) => last.push(statements), opened);
      const commit = sqlOf(...last, plainSql('COMMIT'));
      await prepareOn(client, commit.needs);
      // The server bounds each statement of the query (statement_timeout); the client's bound on the whole query
      // leaves a statement_timeout for each part and the COMMIT, so it does not give up on a commit the server is
      // still allowed to make (a 503 for a stored batch).
      // (pg reads query_timeout from a query's config too; its types only list it for the client.)
      await client.query({ text: commit.text, query_timeout: commit.statements * this.timeoutMs + 1000 } as pg.QueryConfig);
      return result;
    } catch (error) {
      // A connection that failed, timed out mid-protocol or cannot roll back is not given back to the pool. One
      // whose statement the server aborted (a deadlock, a serialization failure, a statement timeout) is fine.
      if (storeFailureOf(error) === 'unavailable' && !SERVER_ABORTED.test((error as { code?: string }).code ?? '')) broken.error ??= error;
      if (needsFreshConnection(error)) broken.error ??= error;
      // One that is not given back is closed, which rolls its transaction back; a ROLLBACK queued behind a query that
      // timed out would only add its own timeout to the caller's wait.
      if (broken.error === null) await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken.error ??= rollbackError));
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken.error === null ? undefined : broken.error instanceof Error ? broken.error : new Error(String(broken.error)));
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

  async uniqueOrConflict<T>(detail: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw conflict(detail);
      throw error;
    }
  }
}
