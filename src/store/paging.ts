import type { Page } from '../domain/types.js';
import type { PageRequest } from './store.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 250;

/**
 * Cursor paging over a unique, sortable key (ids are time-sortable KSUIDs).
 * `iterator` = key of the last row of a page (next page continues after it);
 * `prevIterator` = "-" + key of the first row (the page before it). Adapters turn a `PageQuery` into
 * `WHERE key > / < cursor ORDER BY key ASC / DESC LIMIT limit + 1` and hand the rows to `toPage`.
 */
export interface PageQuery {
  cursor: string | null;
  /** Direction of the SQL scan. */
  ascending: boolean;
  /** True when the scan runs backwards from a prevIterator (rows are reversed before returning). */
  backwards: boolean;
  /**
   * True when the cursor is PageRequest.afterKey, a bound rather than an item's key: a page that finds nothing after
   * it has neither iterator nor prevIterator (there is nothing on either side to go to), as in Svix.
   */
  fromBound: boolean;
  /** Rows to fetch: one more than the page, to know whether more exist. */
  fetch: number;
}

export function pageQuery(request: PageRequest, defaultOrder: 'ascending' | 'descending'): PageQuery {
  const ascendingOrder = (request.order ?? defaultOrder) === 'ascending';
  const iterator = request.iterator ?? null;
  const fetch = request.limit + 1;
  // Bounded by `after` only, a list starts there (Svix's filter_and_paginate_time_limited): the scan runs up from the
  // bound's key. A newest-first list reverses the rows, as for a scan from a prevIterator, and toPage gives the page
  // the cursors of a page reached that way: prevIterator (its newest item) goes on forward in time, iterator (its
  // oldest) back, and `done` says nothing newer is left.
  const afterKey = request.afterKey ?? null;
  if (afterKey !== null && iterator === null) return { cursor: afterKey, ascending: true, backwards: !ascendingOrder, fromBound: true, fetch };
  const backwards = iterator !== null && iterator.startsWith('-');
  return {
    cursor: backwards ? iterator.slice(1) : iterator,
    ascending: backwards ? !ascendingOrder : ascendingOrder,
    backwards,
    fromBound: false,
    fetch,
  };
}

export function toPage<T>(rows: T[], query: PageQuery, keyOf: (row: T) => string): Page<T> {
  const limit = query.fetch - 1;
  const more = rows.length > limit;
  const data = rows.slice(0, limit);
  if (query.backwards) data.reverse();
  const first = data[0];
  const last = data[data.length - 1];
  return {
    data,
    iterator: last ? keyOf(last) : query.backwards && !query.fromBound ? query.cursor : null,
    prevIterator: first ? `-${keyOf(first)}` : query.backwards || query.fromBound ? null : query.cursor ? `-${query.cursor}` : null,
    // Walking backwards, "done" means nothing is left before this page.
    done: !more,
  };
}

/**
 * Appends the cursor condition, order and limit to `select` (which may already have a WHERE clause).
 * `placeholder(n)` renders the n-th parameter (1-based): "?" for SQLite, "$n" for PostgreSQL; `limitPlaceholder`
 * the LIMIT's, if it must differ (SQLite's is "+?", see refuseReplannedLimit).
 */
export function pagedSql(
  select: string,
  params: unknown[],
  key: string,
  query: PageQuery,
  placeholder: (n: number) => string,
  limitPlaceholder: (n: number) => string = placeholder,
): { sql: string; params: unknown[] } {
  const all = [...params];
  let sql = select;
  if (query.cursor !== null) {
    all.push(query.cursor);
    sql += `${/\bWHERE\b/i.test(select) ? ' AND' : ' WHERE'} ${key} ${query.ascending ? '>' : '<'} ${placeholder(all.length)}`;
  }
  all.push(query.fetch);
  sql += ` ORDER BY ${key} ${query.ascending ? 'ASC' : 'DESC'} LIMIT ${limitPlaceholder(all.length)}`;
  return { sql, params: all };
}

/** An attempt's start (domain attemptStartedAt), what attempt lists filter on by time. */
export const ATTEMPT_STARTED_AT = '(created_at - response_duration_ms)';

/** Adds created_at (or `column`) bounds (exclusive) to a WHERE clause list. */
export function timeRange(
  clauses: string[],
  params: unknown[],
  filter: { beforeMs?: number | undefined; afterMs?: number | undefined },
  placeholder: (n: number) => string,
  column = 'created_at',
): void {
  if (filter.beforeMs !== undefined) {
    params.push(filter.beforeMs);
    clauses.push(`${column} < ${placeholder(params.length)}`);
  }
  if (filter.afterMs !== undefined) {
    params.push(filter.afterMs);
    clauses.push(`${column} > ${placeholder(params.length)}`);
  }
}
