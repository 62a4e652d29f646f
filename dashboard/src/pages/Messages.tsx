import { useState } from 'preact/hooks';
import { type AttemptSeries, type MessageWithStatus, type Page, appPath, get, query } from '../api';
import { ThroughputChart } from '../components/Chart';
import { Link } from '../components/Link';
import { StatusBadge } from '../components/Status';
import { formatTime, localInputToIso, relativeTime } from '../format';
import { usePoll } from '../live';

const PAGE_SIZE = 50;
const STATUS_FILTER: Record<string, number | undefined> = { all: undefined, success: 0, pending: 1, fail: 2 };

interface Filters {
  status: string;
  eventTypes: string;
  after: string;
  before: string;
}

const NO_FILTERS: Filters = { status: 'all', eventTypes: '', after: '', before: '' };

/** An application's messages, newest first, with their delivery status; updates live. */
export function Messages(props: { appId: string }) {
  const base = appPath(props.appId);
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  // Iterators of the pages before the current one (the first page has none), so "Newer" can go back.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const iterator = cursors[cursors.length - 1];

  const messages = usePoll(
    () =>
      get<Page<MessageWithStatus>>(
        `${base}/msg-status${query({
          limit: PAGE_SIZE,
          iterator,
          status: STATUS_FILTER[filters.status],
          event_types: filters.eventTypes.replace(/\s+/g, ''),
          after: localInputToIso(filters.after),
          before: localInputToIso(filters.before),
        })}`,
      ),
    [props.appId, filters, iterator],
  );
  const series = usePoll(() => get<AttemptSeries>(`${base}/stats/attempt${query({ interval: 60 })}`), [props.appId], 5000);

  const apply = (event: Event) => {
    event.preventDefault();
    setFilters(draft);
    setCursors([undefined]);
  };
  const reset = () => {
    setDraft(NO_FILTERS);
    setFilters(NO_FILTERS);
    setCursors([undefined]);
  };
  const field = (name: keyof Filters) => ({
    name,
    value: draft[name],
    onInput: (e: Event) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value }),
  });

  const page = messages.data;
  return (
    <section>
      <ThroughputChart series={series.data} />
      <h2>Messages</h2>
      <form class="filters" onSubmit={apply} data-testid="message-filters">
        <label>
          Status
          <select {...field('status')} onChange={(e) => setDraft({ ...draft, status: (e.target as HTMLSelectElement).value })}>
            <option value="all">all</option>
            <option value="success">delivered</option>
            <option value="pending">pending / sending</option>
            <option value="fail">failed</option>
          </select>
        </label>
        <label>
          Event types
          <input {...field('eventTypes')} placeholder="invoice.paid, user.signup" />
        </label>
        <label>
          From
          <input type="datetime-local" {...field('after')} />
        </label>
        <label>
          To
          <input type="datetime-local" {...field('before')} />
        </label>
        <button type="submit">Filter</button>
        <button type="button" class="ghost" onClick={reset}>
          Reset
        </button>
      </form>
      {messages.error && <p class="error">{messages.error}</p>}
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
                No messages{filters === NO_FILTERS ? ' yet' : ' match these filters'}.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div class="pager">
        <button type="button" class="ghost" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Newer
        </button>
        <button type="button" class="ghost" disabled={!page || page.done || !page.iterator} onClick={() => page?.iterator && setCursors([...cursors, page.iterator])}>
          Older →
        </button>
      </div>
    </section>
  );
}
