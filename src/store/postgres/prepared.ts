// Statements the server parses once per connection instead of at every execution, and plans once when its plan
// cache finds a generic plan as good as a custom one. On the hot path (ingest, claim, ack) parsing and planning
// were 38% of the backends' CPU at 2,000 msg/s (perf; docs/architecture.md, PostgreSQL statements). Two kinds:
//
// - `named(name, text)`: a statement with parameters, sent through the extended protocol under its name. pg parses
//   it on a connection's first use (in the same round trip) and afterwards only binds and executes it.
// - `Prepared`: a statement that travels in one simple query with a BEGIN or a COMMIT (PostgresDb.transaction's
//   openWith and commitWith), where parameters cannot go. It is PREPAREd on a connection before its first use there
//   and run as `EXECUTE name(literals)`: the server parses the literals, not the statement.
//
// Session-level prepared statements need a connection that stays the same server session: PostgreSQL itself, or a
// pooler in session mode (not PgBouncer's transaction mode).
import type pg from 'pg';

/** Every statement name in use: a session's named and PREPAREd statements share one namespace. */
const names = new Set<string>();
function register(name: string): void {
  if (names.has(name)) throw new Error(`two prepared statements named ${name}`);
  names.add(name);
}

/** A statement with parameters under a name (unique in the store): each call gives pg the query to run. */
export function named(name: string, text: string): (values: unknown[]) => pg.QueryConfig {
  register(name);
  return (values) => ({ name, text, values });
}

/** SQL for one simple query (statements without parameters), with the prepared statements it EXECUTEs. */
export interface Sql {
  readonly text: string;
  /** How many statements: the server bounds each (statement_timeout), so a client's bound on the query counts them. */
  readonly statements: number;
  readonly needs: readonly Prepared[];
}

export const plainSql = (text: string): Sql => ({ text, statements: 1, needs: [] });

/** Statements run in order in one simple query. */
export const sqlOf = (...parts: Sql[]): Sql => ({
  text: parts.map((part) => part.text).join(';\n'),
  statements: parts.reduce((sum, part) => sum + part.statements, 0),
  needs: parts.flatMap((part) => part.needs),
});

export class Prepared {
  /**
   * @param name unique in the store (a connection's prepared statements share one namespace)
   * @param types the parameters' types, in order ($1, $2, ...)
   */
  constructor(
    readonly name: string,
    private readonly types: readonly string[],
    private readonly body: string,
  ) {
    register(name);
  }

  get definition(): string {
    return `PREPARE ${this.name}(${this.types.join(', ')}) AS ${this.body}`;
  }

  /** EXECUTE with these arguments, each an SQL literal of its parameter's type (literals.ts). */
  execute(...args: string[]): Sql {
    if (args.length !== this.types.length) throw new TypeError(`${this.name} takes ${this.types.length} arguments, not ${args.length}`);
    return { text: `EXECUTE ${this.name}(${args.join(', ')})`, statements: 1, needs: [this] };
  }
}

/** The prepared statements each connection has: a connection replaced after an error starts with none. */
const preparedOn = new WeakMap<pg.ClientBase, Set<string>>();

/**
 * PREPAREs on `client` those of `needs` it does not have yet, one statement per query (one that fails has prepared
 * nothing: PREPARE is not undone by a rollback, but only a PREPARE that succeeded is remembered). Once per
 * connection and statement; usually there is nothing to do.
 */
export async function prepareOn(client: pg.ClientBase, needs: readonly Prepared[]): Promise<void> {
  let done = preparedOn.get(client);
  for (const statement of needs) {
    if (done?.has(statement.name)) continue;
    await client.query(statement.definition);
    if (!done) preparedOn.set(client, (done = new Set()));
    done.add(statement.name);
  }
}

/** Runs `sql` on `client`, preparing first what it needs. */
export async function runSql(client: pg.ClientBase, sql: Sql): Promise<pg.QueryResult> {
  await prepareOn(client, sql.needs);
  return client.query(sql.text);
}
