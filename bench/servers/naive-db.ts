import Database from 'better-sqlite3';

/**
 * The naive baseline's database: one SQLite file with the same durability as hookd (WAL, synchronous=FULL) and
 * one table, an outbox with one row per delivery (a naive service stores the destination URL with each row).
 */
export function openNaiveDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS outbox (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      msg_id TEXT NOT NULL,
      url TEXT NOT NULL,
      event_type TEXT NOT NULL,
      payload TEXT NOT NULL,
      status TEXT NOT NULL,
      attempts INTEGER NOT NULL,
      next_attempt_at INTEGER NOT NULL,
      created_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at);
  `);
  return db;
}

export const NAIVE_INSERT =
  "INSERT INTO outbox (msg_id, url, event_type, payload, status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)";
