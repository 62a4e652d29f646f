/** A throwaway PostgreSQL server (scripts/test-postgres.mjs). */
export interface ThrowawayPostgres {
  url: string;
  binDir: string;
  durable: boolean;
  /** Stops the server as a crash would (pg_ctl stop -m immediate), keeping its data. */
  crash(): void;
  /** Starts it again after crash(). */
  restart(): void;
  /** The postmaster's pid and its children's (to SIGSTOP / SIGCONT the whole server). */
  processIds(): number[];
  /** Stops it and removes its data. */
  stop(): void;
}

export function startThrowawayPostgres(options?: { durable?: boolean }): Promise<ThrowawayPostgres>;
