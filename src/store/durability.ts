/**
 * How a transaction must survive a crash of the machine (or of the PostgreSQL server). `full` (the default): its
 * commit waits until it is on disk. `redoable`: work the delivery worker redoes if it is lost (a claim, an ack, a
 * lease renewal) commits without waiting for that (SQLite: no WAL fsync after it; PostgreSQL synchronous_commit=off).
 * Either database's log is one sequence written in order, so the next full commit (an ingest, any API write) makes it
 * durable too. A killed hookd process loses nothing; a crash of the machine or the database server can take back the
 * redoable commits made since the last full one, and what they recorded is then done again: a delivery leased again
 * and sent again (at-least-once, as after any crash). Nothing accepted, and no API write, depends on them.
 */
export type Durability = 'full' | 'redoable';
