// The SQLite connection every concern of the SQLite store shares: pragmas, the WAL checkpointer, migrations, the
// lock file and the file-identity check, the readiness probe, and the helpers the concerns use (cached prepared
// statements, paging, unique-constraint conflicts).
import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { conflict } from '../../domain/errors.js';
import type { Page } from '../../domain/types.js';
import type { Durability } from '../durability.js';
import { DatabaseFileGoneError, StoreOpenError, StoreUnavailableError } from '../failures.js';
import { pagedSql, toPage, type PageQuery } from '../paging.js';
import { BACKSTOP_PAGES, CHECKPOINT_INTERVAL_MS, Checkpointer } from './checkpointer.js';
import { FileLock } from './file-lock.js';
import { sqliteMigrations } from './migrations.js';
import { WriteLock } from './write-lock.js';

export type Row = Record<string, unknown>;

export interface SqliteDbOptions {
  path: string;
  /** How long a write waits for a lock another connection holds (busy_timeout); default 5 s. */
  timeoutMs?: number | undefined;
  /** Cap on the file's size (max_page_count); writes beyond it fail with SQLITE_FULL. */
  maxSizeBytes?: number | null | undefined;
  /** This process serves the file: take its lock file, so a second hookd on it stops with a clear message. */
  exclusive?: boolean | undefined;
  /**
   * Background WAL checkpoints (checkpointer.ts): `true` (default) on a checkpointer thread; `'here'` on this
   * connection, between its commits (hookd start's main connection beside a delivery thread: no thread, and no V8
   * isolate, more); `false` none (another connection of this process runs them).
   */
  checkpoint?: boolean | 'here' | undefined;
}

/**
 * Each connection's page cache, in KiB: SQLite's own default. better-sqlite3 builds SQLite with 16 MB
 * (SQLITE_DEFAULT_CACHE_SIZE=-16000), which a connection fills as the file grows and then keeps; hookd start has
 * two (the API's and the delivery thread's). The hot path reads and writes by index near the newest rows, so the
 * pages it touches fit in 2 MB; the rest come from the OS page cache. Measured (same throughput, less memory):
 * docs/architecture.md, "What the memory of `hookd start` is".
 */
const PAGE_CACHE_KIB = 2000;

/** How often a write checks that the file it writes to is still the one at `path`. */
const FILE_CHECK_MS = 500;

/** SQLite's error codes for a sync (of a file, or of its directory) that failed. */
const SQLITE_SYNC_FAILURES = new Set(['SQLITE_IOERR_FSYNC', 'SQLITE_IOERR_DIR_FSYNC']);

/**
 * One better-sqlite3 connection in WAL mode, checkpointed in the background. Full commits are on disk when they
 * return (committed() fsyncs the WAL after releasing the write lock); redoable ones are not waited for.
 */
export class SqliteDb {
  private readonly db: Database.Database;
  private readonly checkpointer: Checkpointer | null;
  /** The checkpoints run on this connection (checkpoint: 'here'). */
  private readonly checkpoints: NodeJS.Timeout | null;
  private readonly lock: FileLock | null;
  private readonly path: string;
  /** The file's identity at open (device + inode): a deleted or replaced file no longer matches. */
  private readonly identity: string;
  private fileCheckedAt = 0;
  /** Taken around every commit, so this process's connections to the file queue for SQLite's write lock. */
  private readonly writeLock: WriteLock;

  constructor(options: SqliteDbOptions) {
    const { path } = options;
    this.path = path;
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      throw new StoreOpenError(`cannot create the data directory ${dirname(path)}: ${(error as Error).message} (set HOOKD_DATA_DIR or HOOKD_SQLITE_PATH)`);
    }
    this.lock = options.exclusive ? FileLock.take(`${path}.lock`, path) : null;
    let journalMode: unknown;
    try {
      this.db = new Database(path);
      journalMode = this.db.pragma('journal_mode = WAL', { simple: true });
    } catch (error) {
      this.lock?.release();
      throw new StoreOpenError(`cannot open the SQLite database ${path}: ${(error as Error).message}`);
    }
    this.db.pragma('foreign_keys = ON');
    this.db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    this.db.pragma(`busy_timeout = ${Math.round(options.timeoutMs ?? 5000)}`);
    this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    if (options.maxSizeBytes) {
      const pageSize = this.db.pragma('page_size', { simple: true }) as number;
      this.db.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxSizeBytes / pageSize))}`);
    }
    this.identity = fileIdentity(path) ?? '';
    // The WAL next to the file SQLite opened (symbolic links resolved), if it could use WAL mode at all.
    const file = (this.db.pragma('database_list') as { name: string; file: string }[]).find((d) => d.name === 'main')?.file;
    this.walPath = journalMode === 'wal' && file ? `${file}-wal` : null;
    // Set once: with a WAL, commits append without an fsync and committed() fsyncs the WAL itself after a full one;
    // without (SQLite could not use WAL mode), every commit is SQLite's own full commit. (Toggling it around each
    // commit, as hookd did, cost two PRAGMA statements per commit, each parsed again at every run: SQLite runs a
    // PRAGMA once and then re-prepares it.) Writes outside committed() are refused (see guardWrites).
    this.db.pragma(this.walPath === null ? 'synchronous = FULL' : 'synchronous = NORMAL');
    this.writeLock = new WriteLock(path, options.timeoutMs ?? 5000);
    // Without a background checkpoint (its thread died), SQLite checkpoints on commit again, as it does by default.
    const checkpointOnCommit = (): void => {
      if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
    };
    const checkpoint = options.checkpoint ?? true;
    this.checkpointer = checkpoint === true ? new Checkpointer(path, checkpointOnCommit) : null;
    this.checkpoints = checkpoint === 'here' ? setInterval(() => this.checkpointNow(), CHECKPOINT_INTERVAL_MS).unref() : null;
  }

  /** A background checkpoint on this connection (checkpoint: 'here'). */
  private checkpointNow(): void {
    try {
      this.checkpoint();
    } catch {
      // Busy or locked now: the next tick tries again, and the writers' automatic backstop still bounds the WAL.
    }
  }

  /** Throws when the file at `path` is no longer the one this connection writes to (deleted or replaced). */
  assertFileIntact(force = false): void {
    const now = Date.now();
    if (!force && now - this.fileCheckedAt < FILE_CHECK_MS) return;
    if (fileIdentity(this.path) !== this.identity) {
      throw new DatabaseFileGoneError(`the database file ${this.path} was deleted or replaced while hookd was running; restart hookd (what it wrote since went to the old file)`);
    }
    this.fileCheckedAt = now;
  }

  /**
   * Resolves only when a write can be committed now: a 64 KB row inserted and deleted in one transaction needs
   * sixteen new pages (fails at the size cap) and a WAL append (fails on a full disk); the file must still be in
   * place. As much as a large message with its deliveries: a file with room for a tiny row but not for messages is
   * not ready (with a 4 KB row, /ready said 200 while 8 KB messages got 507).
   */
  async probe(): Promise<void> {
    if (this.syncFailure) throw this.syncFailure;
    this.assertFileIntact(true);
    // Committed as ingest is, waiting for the write lock and the WAL's fsync off the event loop: a disk that hangs
    // makes /ready answer 503 at its timeout (it held the event loop, /health and every tenant's requests with it,
    // for as long as the fsync took).
    await this.transactionDurable(() => {
      this.stmt('INSERT INTO readiness_probe (id, filler) VALUES (1, zeroblob(65536))').run();
      this.stmt('DELETE FROM readiness_probe WHERE id = 1').run();
    });
  }

  async migrate(): Promise<number[]> {
    this.committed('full', () => this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)'));
    const done = new Set(this.db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
    const applied: number[] = [];
    for (const migration of sqliteMigrations) {
      if (done.has(migration.version)) continue;
      this.committed('full', () =>
        this.db.transaction(() => {
          this.db.exec(migration.sql);
          this.db
            .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
            .run(migration.version, migration.name, Date.now());
        }).immediate(),
      );
      applied.push(migration.version);
    }
    return applied;
  }

  /** A PASSIVE WAL checkpoint (never waits for readers or writers); the background checkpoints' work. */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(PASSIVE)');
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.checkpoints) clearInterval(this.checkpoints);
    await this.checkpointer?.close();
    // The commits waiting for an fsync get it (or its failure) before the descriptor goes.
    await this.walSyncNext?.catch(() => undefined);
    await this.walSyncRunning?.catch(() => undefined);
    for (const fd of [this.walFd, this.walPoolFd]) if (fd !== null) closeSync(fd);
    this.walFd = this.walPoolFd = null;
    if (this.db.open) this.db.close();
    this.lock?.release();
  }

  /**
   * `work` in an immediate transaction (BEGIN IMMEDIATE: the write lock is taken up front), refused when the file
   * was deleted or replaced (the write would be lost). A `redoable` one is not followed by a WAL fsync (see
   * store/durability.ts): the worker's commits then no longer block the event loop for one each.
   */
  transaction<T>(work: () => T, durability: Durability = 'full'): T {
    this.assertFileIntact();
    return this.committed(durability, () => this.db.transaction(work).immediate());
  }

  /**
   * `work` in an immediate transaction, resolved once it is on disk: the same durability as transaction(), but the
   * WAL's fsync runs on libuv's thread pool, so the event loop goes on (parsing and validating the next requests)
   * meanwhile. Ingest commits this way; nothing is answered before the promise resolves. One such fsync runs at a
   * time: a commit made while one runs waits for the next, which covers every commit made until it begins (the group
   * committer sends one batch at a time, so in hookd that is only a safeguard for concurrent callers).
   */
  async transactionDurable<T>(work: () => T): Promise<T> {
    this.assertFileIntact();
    const walPath = this.walPath;
    // Without a WAL, SQLite's own commit fsyncs (synchronous=FULL).
    if (walPath === null) return this.transaction(work);
    let synced: Promise<void> = Promise.resolve();
    const result = await this.whenWritable(() => {
      const committed = this.committed('redoable', () => this.db.transaction(work).immediate());
      // Begun (or queued) in the commit's own turn: a close() from now on waits for it.
      synced = this.walSynced(walPath);
      return committed;
    });
    await synced;
    return result;
  }

  /** The fsync under way, and the one that will follow it for the commits made since it began. */
  private walSyncRunning: Promise<void> | null = null;
  private walSyncNext: Promise<void> | null = null;

  /** Resolves once an fsync of the WAL that began after this call has ended (see transactionDurable). */
  private walSynced(walPath: string): Promise<void> {
    // One queued and not begun yet covers this commit too (checked first: the one under way may have just ended, its
    // follower not begun yet, and a third must not start beside it).
    if (this.walSyncNext !== null) return this.walSyncNext;
    if (this.walSyncRunning === null) return this.startWalSync(walPath);
    // The fsync under way may have begun before the commit that waits: the next one covers it.
    this.walSyncNext = this.walSyncRunning
      .catch(() => undefined)
      .then(() => {
        this.walSyncNext = null;
        return this.startWalSync(walPath);
      });
    return this.walSyncNext;
  }

  /** WAL fsyncs begun on the thread pool (for tests: commits made meanwhile share one). */
  private walSyncs = 0;

  private startWalSync(walPath: string): Promise<void> {
    this.walSyncs++;
    const running: Promise<void> = new Promise<void>((resolve, reject) => {
      if (this.syncFailure) return reject(this.syncFailure);
      const fd = this.walDescriptor(walPath, 'pool');
      fdatasync(fd, (error) => (error ? reject(this.syncFailed(walPath, error)) : resolve()));
    }).finally(() => {
      if (this.walSyncRunning === running) this.walSyncRunning = null;
    });
    this.walSyncRunning = running;
    return running;
  }

  /**
   * `work` (which commits) once this process's other connections have let go of the write lock, waiting without
   * blocking the event loop: the worker's claims and acks, on the delivery thread beside the API's commits, so it
   * keeps reading answers and sending meanwhile; and ingest's batches (transactionDurable), so the API goes on parsing
   * requests while an ack holds the lock.
   */
  async whenWritable<T>(work: () => T): Promise<T> {
    return this.writeLock.holdWhenFree(work);
  }

  /**
   * `work`'s commits (a transaction, or statements outside one, each its own) made as `durability` says. Every write
   * of this connection goes through here (transaction(), uniqueOrConflict() and migrate() do): the connection runs
   * synchronous=NORMAL, so a commit made anywhere else would not wait for the disk.
   *
   * A full commit's fsync happens after the write lock is released: the commit itself appends to the WAL with
   * synchronous=NORMAL (no fsync, the lock held only for the writing), then syncWal() fsyncs the WAL file, and only
   * then does this return. That is what synchronous=FULL does, minus holding the lock through the fsync: the other
   * threads' claims, acks and commits go on meanwhile instead of queueing behind a quarter of a millisecond of disk
   * flush per ingest batch. (Inside whenWritable, which holds this process's lock around `work`, only SQLite's lock is
   * free during the fsync: the delivery thread's lease release at shutdown.) The WAL is one sequence, so the fsync
   * also covers every commit before this one, and a crash before it ends can only take back a suffix of commits, none
   * of which has been answered as durable.
   * Others may read this commit before its fsync ends (the delivery thread may even send it); a machine crash in
   * that window takes the message back, and its sender, who got no 202, sends it again: at least once, as always.
   * If the fsync fails, the commit stays made although this throws (see syncWal).
   */
  committed<T>(durability: Durability, work: () => T): T {
    if (this.syncFailure) throw this.syncFailure;
    // A commit inside another one (a statement of its transaction): the outer commit decides, and syncs if asked to.
    if (this.committing) {
      if (durability === 'full') this.syncAfter = true;
      return work();
    }
    this.committing = true;
    this.syncAfter = durability === 'full';
    let result: T;
    try {
      // With a WAL the connection runs synchronous=NORMAL (no fsync in the commit; see the constructor); without one,
      // FULL: SQLite's own fsync, the lock held.
      result = this.writeLock.hold(work);
    } catch (error) {
      // SQLite syncs in a commit too: the WAL's new header when the WAL starts over after a checkpoint, every commit
      // without a WAL. A failure there leaves the disk as unknown as one of ours (syncWal).
      if (SQLITE_SYNC_FAILURES.has((error as { code?: string }).code ?? '')) throw this.syncFailed(this.walPath ?? this.path, error);
      throw error;
    } finally {
      this.committing = false;
    }
    if (this.syncAfter && this.walPath !== null) this.syncWal(this.walPath);
    return result;
  }

  private committing = false;
  private syncAfter = false;
  /** The WAL file of this database (null if SQLite could not use WAL mode: its commits then fsync themselves). */
  private readonly walPath: string | null;

  /** The WAL's descriptor, opened at the first fsync and kept: see syncWal. */
  private walFd: number | null = null;
  /**
   * A second one for the fsyncs on the thread pool (transactionDurable), which can run while the event loop fsyncs
   * through the first (an API write): Linux reports a writeback error once per open file, so two fsyncs at once through
   * one descriptor could tell one of them all is well.
   */
  private walPoolFd: number | null = null;
  /** Set by a failed fsync (ours of the WAL, or SQLite's in a commit): from then on this connection refuses to commit. */
  private syncFailure: Error | null = null;

  /**
   * fsyncs the WAL: every commit appended to it so far is on disk when this returns. One descriptor, kept: Linux
   * reports a writeback error once to each descriptor open when it happened, so a descriptor opened after a failure
   * could be told all is well. The file stays the same while this connection is open (SQLite deletes the WAL only when
   * the last connection closes). A failed fsync leaves what is on disk unknown (the kernel may have dropped the pages
   * it could not write), so, as PostgreSQL does, this connection stops committing until hookd restarts: every write and
   * the readiness probe answer unavailable (503, /ready false). The commit was made and others may read it: its
   * requests got a 503 and their retries find it by idempotency key or eventId, or store it again.
   */
  private syncWal(walPath: string): void {
    const fd = this.walDescriptor(walPath, 'loop');
    try {
      fdatasyncSync(fd);
    } catch (error) {
      throw this.syncFailed(walPath, error);
    }
  }

  /** The WAL's kept descriptor for fsyncs on the event loop or on the thread pool (see syncWal). */
  private walDescriptor(walPath: string, where: 'loop' | 'pool'): number {
    try {
      if (where === 'pool') return (this.walPoolFd ??= openSync(walPath, 'r+'));
      return (this.walFd ??= openSync(walPath, 'r+'));
    } catch (error) {
      // Our connection keeps the WAL while it is open: it is gone only if someone removed the files under us.
      this.assertFileIntact(true);
      throw new StoreUnavailableError(`cannot open the WAL ${walPath} to fsync a commit: ${(error as Error).message}`);
    }
  }

  /** Records a failed fsync of `file` (the WAL, or the database without one): this connection commits no more (see syncWal). */
  private syncFailed(file: string, error: unknown): Error {
    this.syncFailure ??= new StoreUnavailableError(
      `an fsync of ${file} failed (${(error as Error).message}): what is on disk is unknown, so this connection no longer commits; restart hookd`,
    );
    return this.syncFailure;
  }

  /** A prepared statement that is not cached. */
  prepare(sql: string): Database.Statement {
    return this.guardWrites(this.db.prepare(refuseReplannedLimit(sql)));
  }

  /**
   * `statement`, refusing to run outside committed() if it writes. The connection runs synchronous=NORMAL, so a
   * write that committed anywhere else would not wait for the disk: a 2xx for it could be lost in a power cut.
   */
  private guardWrites(statement: Database.Statement): Database.Statement {
    if (statement.readonly) return statement;
    const wrapped = new Map<string | symbol, (...args: unknown[]) => unknown>();
    const proxy: Database.Statement = new Proxy(statement, {
      get: (target, key) => {
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== 'function') return value;
        let method = wrapped.get(key);
        if (!method) {
          const runs = RUNS.has(key);
          method = (...args: unknown[]) => {
            if (runs && !this.committing) throw new Error(`a write outside SqliteDb.committed() would not be fsynced: ${target.source.trim()}`);
            const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
            return result === target ? proxy : result; // pluck(), raw(), bind()... chain on the guarded statement
          };
          wrapped.set(key, method);
        }
        return method;
      },
    });
    return proxy;
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** A cached prepared statement; refused when the file was deleted or replaced (as transaction() is). */
  stmt(sql: string): Database.Statement {
    this.assertFileIntact();
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.prepare(sql);
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
    const built = pagedSql(select, params, key, query, () => '?', () => '+?');
    return toPage((this.stmt(built.sql).all(...built.params) as Row[]).map(map), query, keyOf);
  }

  /** `write` (a statement that commits on its own, or part of a transaction), a unique-constraint failure as 409. */
  uniqueOrConflict(detail: string, write: () => unknown): void {
    try {
      this.committed('full', write);
    } catch (error) {
      const code = (error as { code?: string }).code;
      // A duplicate primary key (event_type.name) is as much a conflict as a duplicate unique column.
      if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw conflict(detail);
      throw error;
    }
  }
}

/** The Statement methods that execute it. */
const RUNS = new Set<string | symbol>(['run', 'get', 'all', 'iterate']);

/**
 * `sql`, unless its LIMIT is a bare parameter. SQLite's planner reads the value bound to a `LIMIT ?` (SQLite 3.53 here)
 * and marks the statement to be prepared again whenever that parameter is bound; better-sqlite3 binds every parameter
 * at every run, so such a statement is parsed and planned at each execution (measured: 1,400 re-prepares a second at
 * 1,000 msg/s, the claim's two largest statements). `LIMIT +?` is the same limit, opaque to the planner; the plans stay
 * the same (each statement reads an index in the order of its ORDER BY).
 */
export function refuseReplannedLimit(sql: string): string {
  if (/\bLIMIT[\s(]*[?:@$]/i.test(sql)) throw new Error(`write LIMIT +? instead of a bare parameter, which SQLite re-plans at every run: ${sql.trim()}`);
  return sql;
}

/** device:inode of the file at `path`, or null when there is none. */
function fileIdentity(path: string): string | null {
  try {
    const stat = statSync(path);
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return null;
  }
}
