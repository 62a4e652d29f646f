/**
 * What a failed database call means for the caller, whichever the adapter: the database is away or too slow right
 * now (`unavailable`: retry soon), or out of space (`full`). Anything else is a bug or bad input, not a fault of
 * the database. The API answers 503 / 507 with Retry-After for these, /ready reports them, and the worker backs off.
 */
export type StoreFailure = 'unavailable' | 'full';

/** Thrown by hookd itself when it will not wait for the database any longer (a full or too slow commit queue). */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly code = 'HOOKD_STORE_UNAVAILABLE';
}

/** PostgreSQL SQLSTATEs: connection exceptions (class 08), shutdowns, timeouts, resource limits, retryable aborts, a read-only standby (mid-failover). */
const PG_UNAVAILABLE = /^(08...|57P0[1-4]|57014|53000|53200|53300|53400|40001|40P01|55P03|58000|58030|25006)$/;
const NODE_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** node-postgres reports a lost or timed-out connection by message only. */
const PG_CLIENT_MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|is not queryable|Connection closed/i;

export function storeFailureOf(error: unknown): StoreFailure | null {
  if (error instanceof StoreUnavailableError) return 'unavailable';
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === 'SQLITE_FULL' || code === '53100') return 'full';
  if (code.startsWith('SQLITE_')) {
    // Busy or locked (another process holds the file), I/O errors, a file that vanished or cannot be opened.
    return /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|READONLY)/.test(code) ? 'unavailable' : null;
  }
  if (PG_UNAVAILABLE.test(code) || NODE_NET.has(code)) return 'unavailable';
  return typeof e?.message === 'string' && PG_CLIENT_MESSAGES.test(e.message) ? 'unavailable' : null;
}

/**
 * The database refused what a statement carried, not the statement itself: a value it cannot hold or a constraint
 * (PostgreSQL: data exceptions, class 22; integrity constraints, class 23; an exception raised by a trigger, P0001;
 * SQLite: a constraint, a value too big, a type mismatch). Retried apart, a batch then loses only the refused item;
 * any other error (a schema or code fault) would fail every part as well, so it is not split.
 */
export function refusedData(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22...|23...|P0001|SQLITE_(CONSTRAINT|TOOBIG|MISMATCH)\w*)$/.test(code);
}

/** The database cannot be opened at all (a data dir hookd cannot write, a second process on the same file). */
export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
}

/** The SQLite file this process opened was deleted or replaced underneath it: writes would go nowhere. */
export class DatabaseFileGoneError extends Error {
  override readonly name = 'DatabaseFileGoneError';
  /** Answered like a file SQLite cannot open: the database is unavailable. */
  readonly code = 'SQLITE_CANTOPEN_FILE_GONE';
}
