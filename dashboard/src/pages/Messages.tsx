import { useState } from 'preact/hooks';
import { type AttemptSeries, type MessageWithStatus, type Page, appPath, get, query } from '../api';
import { ThroughputChart } from '../components/Chart';
import { EventTypePicker } from '../components/EventTypePicker';
import { Link } from '../components/Link';
import { Pager } from '../components/Pager';
import { StatusBadge } from '../components/Status';
import { formatTime, localInputToIso, relativeTime } from '../format';
import { usePoll } from '../live';
import { navigate, setQuery, useSearch } from '../router';

const PAGE_SIZE = 50;
const STATUS_FILTER: Record<string, number | undefined> = { all: undefined, success: 0, pending: 1, fail: 2 };

/** The filters as they appear in the URL (?status=&types=&after=&before=); `after`/`before` are local times. */
interface Filters {
  status: string;
  types: string[];
  after: string;
  before: string;
}

function filtersOf(search: URLSearchParams): Filters {
  const status = search.get('status') ?? 'all';
  return {
    status: status in STATUS_FILTER ? status : 'all',
    types: (search.get('types') ?? '').split(',').filter((t) => t.length > 0),
    after: search.get('after') ?? '',
    before: search.get('before') ?? '',
  };
}

function paramsOf(filters: Filters): Record<string, string | undefined> {
  return { status: filters.status === 'all' ? undefined : filters.status, types: filters.types.join(','), after: filters.after, before: filters.before };
}

/** An application's messages, newest first, with their delivery status; updates live. Filters and page live in the URL. */
export function Messages(props: { appId: string }) {
  const base = appPath(props.appId);
  const searchText = useSearch();
  const search = new URLSearchParams(searchText);
  const filters = filtersOf(search);
  const iterator = search.get('iterator') ?? undefined;
  const filtered = paramsOf(filters);
  const anyFilter = Object.values(filtered).some((v) => v);

  const messages = usePoll(
    () =>
      get<Page<MessageWithStatus>>(
        `${base}/msg-status${query({
          limit: PAGE_SIZE,
          iterator,
          status: STATUS_FILTER[filters.status],
          event_types: filters.types.join(','),
          after: localInputToIso(filters.after),
          before: localInputToIso(filters.before),
        })}`,
      ),
    [props.appId, searchText],
  );
  const series = usePoll(() => get<AttemptSeries>(`${base}/stats/attempt${query({ interval: 60 })}`), [props.appId], 5000);

  const page = messages.data;
  return (
    <section>
      <ThroughputChart series={series.data} />
      <div class="heading-row">
        <h2>Messages</h2>
        <FindMessage appId={props.appId} />
      </div>
      <FilterForm key={searchText} filters={filters} />
      {messages.error && <p class="error">{messages.error}</p>}
      <div class="table-scroll">
        <table class="list" data-testid="messages-table">
          <thead>
            <tr>
              <th>Time</th>
              <th>Event type</th>
              <th>Message</th>
              <th>Status</th>
              <th>Deliveries</th>
            </tr>
          </thead>
          <tbody>
            {page?.data.map((m) => (
              <tr key={m.id} data-testid="message-row" data-msg-id={m.id} data-status={m.statusText}>
                <td title={formatTime(m.timestamp)}>{relativeTime(m.timestamp)}</td>
                <td class="mono">{m.eventType}</td>
                <td>
                  <Link to={{ page: 'message', appId: props.appId, msgId: m.id }} class="mono small">
                    {m.id}
                  </Link>
                  {m.eventId && <div class="small muted">eventId {m.eventId}</div>}
                </td>
                <td>
                  <StatusBadge status={m.statusText} />
                </td>
                <td class="counts small">
                  {m.deliveries.success} delivered
                  {m.deliveries.pending + m.deliveries.sending > 0 && `, ${m.deliveries.pending + m.deliveries.sending} in progress`}
                  {m.deliveries.fail > 0 && <span class="bad">, {m.deliveries.fail} failed</span>}
                </td>
              </tr>
            ))}
            {page && page.data.length === 0 && (
              <tr>
                <td colSpan={5} class="empty">
                  No messages{anyFilter ? ' match these filters' : iterator ? ' on this page' : ' yet'}.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager page={page} iterator={iterator} params={filtered} />
    </section>
  );
}

/** The filter form: a draft until applied, then the URL (a new history entry) holds the filters. */
function FilterForm(props: { filters: Filters }) {
  const [draft, setDraft] = useState<Filters>(props.filters);
  const apply = (event: Event) => {
    event.preventDefault();
    setQuery(paramsOf(draft));
  };
  const field = (name: 'after' | 'before') => ({
    name,
    value: draft[name],
    onInput: (e: Event) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value }),
  });
  return (
    <form class="filters" onSubmit={apply} data-testid="message-filters">
      <label>
        Status
        <select name="status" value={draft.status} onChange={(e) => setDraft({ ...draft, status: (e.target as HTMLSelectElement).value })}>
          <option value="all">all</option>
          <option value="success">delivered</option>
          <option value="pending">pending / sending</option>
          <option value="fail">failed</option>
        </select>
      </label>
      <div class="field">
        <span class="field-label">Event types</span>
        <EventTypePicker name="eventTypes" value={draft.types} onChange={(types) => setDraft({ ...draft, types })} emptyLabel="all" />
      </div>
      <label>
        From
        <input type="datetime-local" {...field('after')} />
      </label>
      <label>
        To
        <input type="datetime-local" {...field('before')} />
      </label>
      <button type="submit">Filter</button>
      <button type="button" class="ghost" onClick={() => setQuery({})} data-testid="reset-filters">
        Reset
      </button>
    </form>
  );
}

/** Opens a message by its id or its eventId (the API resolves both); the detail page says when there is none. */
function FindMessage(props: { appId: string }) {
  const [value, setValue] = useState('');
  const submit = (event: Event) => {
    event.preventDefault();
    const id = value.trim();
    if (id) navigate({ page: 'message', appId: props.appId, msgId: id });
  };
  return (
    <form class="find" onSubmit={submit} data-testid="find-message" role="search">
      <input name="find" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} placeholder="Message id or eventId" aria-label="Message id or eventId" />
      <button type="submit" class="ghost">
        Open
      </button>
    </form>
  );
}
