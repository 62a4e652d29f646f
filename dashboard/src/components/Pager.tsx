import type { Page } from '../api';
import { setQuery } from '../router';

/**
 * Newer / Older for a list paged by the API's cursors, kept in the URL (`iterator`) with the page's other
 * `params`, so a bookmark or Back returns to the same page. A prevIterator ("-" + first id) walks back towards
 * the newest; once that walk is done, Newer goes to the plain first page.
 */
export function Pager<T>(props: { page: Page<T> | undefined; iterator: string | undefined; params: Record<string, string | undefined> }) {
  const { page, iterator } = props;
  const backwards = iterator?.startsWith('-') ?? false;
  const newer = !iterator || !page ? null : backwards && page.done ? '' : page.prevIterator;
  const older = !page || !page.iterator || (!backwards && page.done) ? null : page.iterator;
  return (
    <div class="pager">
      <button type="button" class="ghost" disabled={newer === null} onClick={() => setQuery({ ...props.params, iterator: newer ?? undefined })} data-testid="newer">
        ← Newer
      </button>
      <button type="button" class="ghost" disabled={older === null} onClick={() => setQuery({ ...props.params, iterator: older ?? undefined })} data-testid="older">
        Older →
      </button>
    </div>
  );
}
