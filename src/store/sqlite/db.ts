// The SQLite connection every concern of the SQLite store shares: pragmas, the WAL checkpointer, migrations,
// and the helpers the concerns use (cached prepared statements, paging, unique-constraint conflicts).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { conflict } from '../../domain/errors.js';
import type { Page } from '../../domain/types.js';
import { pagedSql, toPage, type PageQuery } from '../paging.js';
import { BACKSTOP_PAGES, Checkpointer } from './checkpointer.js';
import { sqliteMigrations } from './migrations.js';

export type Row = Record<string, unknown>;

/** One better-sqlite3 connection in WAL mode with synchronous=FULL, checkpointed by a background thread. */
export class SqliteDb {
  private readonly db: Database.Database;
  private readonly checkpointer: Checkpointer;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    this.checkpointer = new Checkpointer(path, () => {
      // Without the thread, SQLite checkpoints on commit again, as it does by default.
      if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
    });
  }

  async migrate(): Promise<number[]> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const done = new Set(this.db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
    const applied: number[] = [];
    for (const migration of sqliteMigrations) {
      if (done.has(migration.version)) continue;
      this.db.transaction(() => {
        this.db.exec(migration.sql);
        this.db
          .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(migration.version, migration.name, Date.now());
      }).immediate();
      applied.push(migration.version);
    }
    return applied;
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.checkpointer.close();
    if (this.db.open) this.db.close();
  }

  /** `work` in an immediate transaction (BEGIN IMMEDIATE: the write lock is taken up front). */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  /** A prepared statement that is not cached. */
  prepare(sql: string): Database.Statement {
    return this.db.prepare(sql);
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** A cached prepared statement. */
  stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  paged<T>(
    select: string,
    params: unknown[],
    key: string,
    query: PageQuery,
    map: (row: Row) => T,
    keyOf: (record: T) => string,
  ): Page<T> {
    const built = pagedSql(select, params, key, query, () => '?');
    return toPage((this.stmt(built.sql).all(...built.params) as Row[]).map(map), query, keyOf);
  }

  uniqueOrConflict(detail: string, write: () => unknown): void {
    try {
      write();
    } catch (error) {
      const code = (error as { code?: string }).code;
      // A duplicate primary key (event_type.name) is as much a conflict as a duplicate unique column.
      if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw conflict(detail);
      throw error;
    }
  }
}
