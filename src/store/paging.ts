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
  /** Rows to fetch: one more than the page, to know whether more exist. */
  fetch: number;
}

export function pageQuery(request: PageRequest, defaultOrder: 'ascending' | 'descending'): PageQuery {
  const ascendingOrder = (request.order ?? defaultOrder) === 'ascending';
  const iterator = request.iterator ?? null;
  const backwards = iterator !== null && iterator.startsWith('-');
  return {
    cursor: backwards ? iterator.slice(1) : iterator,
    ascending: backwards ? !ascendingOrder : ascendingOrder,
    backwards,
    fetch: request.limit + 1,
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
    iterator: last ? keyOf(last) : query.backwards ? query.cursor : null,
    prevIterator: first ? `-${keyOf(first)}` : query.backwards ? null : query.cursor ? `-${query.cursor}` : null,
    // Walking backwards, "done" means nothing is left before this page.
    done: !more,
  };
}
