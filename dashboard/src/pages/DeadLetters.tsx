import { useState } from 'preact/hooks';
import { type Delivery, type Endpoint, type Page, type RecoverOut, appPath, get, post, query } from '../api';
import { Link } from '../components/Link';
import { StatusCode } from '../components/Status';
import { formatTime, localInputToIso, relativeTime, toLocalInput } from '../format';
import { usePoll } from '../live';

const DAY_MS = 86_400_000;

interface DeadLettersData {
  deliveries: Page<Delivery>;
  endpoints: Endpoint[];
}

/** Failed deliveries (retries exhausted): resend one, or recover an endpoint's failures since a time. */
export function DeadLetters(props: { appId: string }) {
  const base = appPath(props.appId);
  const dead = usePoll(
    async (): Promise<DeadLettersData> => {
      const [deliveries, endpoints] = await Promise.all([
        get<Page<Delivery>>(`${base}/delivery${query({ status: 2, limit: 100 })}`),
        get<Page<Endpoint>>(`${base}/endpoint${query({ limit: 250 })}`),
      ]);
      return { deliveries, endpoints: endpoints.data };
    },
    [props.appId],
  );
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [resending, setResending] = useState<Set<string>>(new Set());

  const resend = async (d: Delivery) => {
    setError(null);
    setResending((s) => new Set(s).add(d.id));
    try {
      await post(`${base}/msg/${encodeURIComponent(d.msgId)}/endpoint/${encodeURIComponent(d.endpointId)}/resend`);
      setNotice(`Message ${d.msgId} scheduled again.`);
      dead.refresh();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setResending((s) => {
        const next = new Set(s);
        next.delete(d.id);
        return next;
      });
    }
  };

  const endpoints = dead.data?.endpoints ?? [];
  const urlOf = (id: string) => endpoints.find((e) => e.id === id)?.url ?? id;
  const rows = dead.data?.deliveries.data ?? [];
  return (
    <section>
      <h2>Dead letters</h2>
      <p class="muted">Deliveries whose retries are exhausted. Resend one, or recover everything an endpoint failed since a time.</p>
      {notice && (
        <p class="notice" data-testid="dead-letters-notice">
          {notice}
        </p>
      )}
      {(error || dead.error) && <p class="error">{error ?? dead.error}</p>}
      <table class="list" data-testid="dead-letters-table">
        <thead>
          <tr>
            <th>Message time</th>
            <th>Message</th>
            <th>Endpoint</th>
            <th>Attempts</th>
            <th>Last status</th>
            <th>Last error</th>
            <th>Failed</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr key={d.id} data-testid="dead-letter-row" data-msg-id={d.msgId} data-endpoint-id={d.endpointId}>
              <td title={formatTime(d.msgTimestamp)}>{relativeTime(d.msgTimestamp)}</td>
              <td>
                <Link to={{ page: 'message', appId: props.appId, msgId: d.msgId }} class="mono small">
                  {d.msgId}
                </Link>
                <div class="small mono muted">{d.eventType}</div>
              </td>
              <td class="mono small">{urlOf(d.endpointId)}</td>
              <td>{d.attempts}</td>
              <td>
                <StatusCode code={d.lastStatusCode} />
              </td>
              <td class="small error-text">{d.lastError ?? '–'}</td>
              <td title={formatTime(d.updatedAt)}>{relativeTime(d.updatedAt)}</td>
              <td class="actions">
                <button type="button" class="small-button" disabled={resending.has(d.id)} onClick={() => resend(d)} data-testid="resend">
                  Resend
                </button>
              </td>
            </tr>
          ))}
          {dead.data && rows.length === 0 && (
            <tr>
              <td colSpan={8} class="empty" data-testid="no-dead-letters">
                No failed deliveries.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {dead.data && !dead.data.deliveries.done && <p class="muted small">Showing the newest 100.</p>}
      <Recover appId={props.appId} endpoints={endpoints} onRecovered={(n) => (setNotice(`${n} failed deliver${n === 1 ? 'y' : 'ies'} scheduled again.`), dead.refresh())} />
    </section>
  );
}

function Recover(props: { appId: string; endpoints: Endpoint[]; onRecovered: (count: number) => void }) {
  const [endpointId, setEndpointId] = useState('');
  const [since, setSince] = useState(() => toLocalInput(Date.now() - DAY_MS));
  const [error, setError] = useState<string | null>(null);
  const chosen = endpointId || props.endpoints[0]?.id || '';

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    const sinceIso = localInputToIso(since);
    if (!chosen || !sinceIso) return;
    try {
      const out = await post<RecoverOut>(`${appPath(props.appId)}/endpoint/${encodeURIComponent(chosen)}/recover`, { since: sinceIso });
      props.onRecovered(out.recovered);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <form class="card inline-form" onSubmit={submit} data-testid="recover-form">
      <h3>Recover failed deliveries</h3>
      <label>
        Endpoint
        <select name="endpoint" value={chosen} onChange={(e) => setEndpointId((e.target as HTMLSelectElement).value)}>
          {props.endpoints.map((e) => (
            <option key={e.id} value={e.id}>
              {e.url}
            </option>
          ))}
        </select>
      </label>
      <label>
        Messages since
        <input type="datetime-local" name="since" value={since} onInput={(e) => setSince((e.target as HTMLInputElement).value)} required />
      </label>
      <button type="submit" disabled={!chosen}>
        Recover
      </button>
      {error && <p class="error">{error}</p>}
    </form>
  );
}
