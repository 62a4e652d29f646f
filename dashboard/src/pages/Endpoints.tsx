import { useState } from 'preact/hooks';
import { type Attempt, type Endpoint, type EndpointStats, type Page, appPath, get, patch, post, query } from '../api';
import { Link } from '../components/Link';
import { StatusBadge, StatusCode } from '../components/Status';
import { percent, relativeTime } from '../format';
import { usePoll } from '../live';

const DAY_MS = 86_400_000;

interface EndpointHealth {
  endpoint: Endpoint;
  stats: EndpointStats;
  last: Attempt | undefined;
}

/**
 * The endpoint's circuit breaker when it is not closed (nothing is sent while open; one probe at a time while
 * half-open), and what it has in flight against its budget.
 */
function Circuit({ stats }: { stats: EndpointStats }) {
  const circuit = stats.circuit;
  const concurrency = stats.concurrency;
  return (
    <div class="small muted" data-testid="circuit" data-circuit={circuit?.state ?? 'closed'}>
      {circuit && circuit.state !== 'closed' && (
        <div title={`${circuit.failureStreak} timeouts or connection failures in a row; waiting deliveries spend no attempts`}>
          <StatusBadge status={circuit.state === 'open' ? 'fail' : 'pending'} label={circuit.state === 'open' ? 'circuit open' : 'probing'} />{' '}
          {circuit.nextProbeAt && circuit.state === 'open' && <span>next probe {relativeTime(circuit.nextProbeAt)}</span>}
        </div>
      )}
      {concurrency && (
        <div title="Deliveries on the wire now / what the endpoint may have in flight (adaptive)">
          {concurrency.inFlight} / {concurrency.limit} in flight
        </div>
      )}
    </div>
  );
}

/** An application's endpoints with their health over the last 24 h, and a form to add one. */
export function Endpoints(props: { appId: string }) {
  const base = appPath(props.appId);
  const health = usePoll(
    async (): Promise<EndpointHealth[]> => {
      const endpoints = await get<Page<Endpoint>>(`${base}/endpoint${query({ limit: 250 })}`);
      const since = new Date(Date.now() - DAY_MS).toISOString();
      return Promise.all(
        endpoints.data.map(async (endpoint) => {
          const ep = `${base}/endpoint/${encodeURIComponent(endpoint.id)}`;
          const [stats, attempts] = await Promise.all([
            get<EndpointStats>(`${ep}/stats${query({ since })}`),
            get<Page<Attempt>>(`${base}/attempt/endpoint/${encodeURIComponent(endpoint.id)}${query({ limit: 1, with_content: false })}`),
          ]);
          return { endpoint, stats, last: attempts.data[0] };
        }),
      );
    },
    [props.appId],
    3000,
  );
  const [secrets, setSecrets] = useState<Record<string, string>>({});
  const [actionError, setActionError] = useState<string | null>(null);

  const toggle = async (endpoint: Endpoint) => {
    setActionError(null);
    try {
      await patch(`${base}/endpoint/${encodeURIComponent(endpoint.id)}`, { disabled: !endpoint.disabled });
      health.refresh();
    } catch (e) {
      setActionError((e as Error).message);
    }
  };
  const showSecret = async (endpoint: Endpoint) => {
    try {
      const secret = await get<{ key: string }>(`${base}/endpoint/${encodeURIComponent(endpoint.id)}/secret`);
      setSecrets((s) => ({ ...s, [endpoint.id]: secret.key }));
    } catch (e) {
      setActionError((e as Error).message);
    }
  };

  return (
    <section>
      <h2>Endpoints</h2>
      {(health.error || actionError) && <p class="error">{actionError ?? health.error}</p>}
      <table class="list" data-testid="endpoints-table">
        <thead>
          <tr>
            <th>URL</th>
            <th>State</th>
            <th title="Deliveries of the last 24 h that succeeded, of those finished">Success (24 h)</th>
            <th>Last attempt</th>
            <th title="Deliveries of the last 24 h">Delivered / pending / failed</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {health.data?.map(({ endpoint, stats, last }) => (
            <tr key={endpoint.id} data-testid="endpoint-row" data-endpoint-id={endpoint.id}>
              <td>
                <div class="mono">{endpoint.url}</div>
                <div class="small muted">
                  {endpoint.description || endpoint.uid || endpoint.id}
                  {endpoint.filterTypes && ` · ${endpoint.filterTypes.join(', ')}`}
                </div>
                {secrets[endpoint.id] && <div class="mono small secret">{secrets[endpoint.id]}</div>}
              </td>
              <td>
                {endpoint.disabled ? <StatusBadge status="fail" label="disabled" /> : <StatusBadge status="success" label="enabled" />}
                <Circuit stats={stats} />
              </td>
              <td data-testid="success-rate">{percent(stats.success, stats.success + stats.fail)}</td>
              <td data-testid="last-status">
                {last ? (
                  <>
                    <StatusCode code={last.responseStatusCode} /> <span class="small muted">{relativeTime(last.timestamp)}</span>
                  </>
                ) : (
                  <span class="muted">none yet</span>
                )}
              </td>
              <td class="counts">
                <span class="ok">{stats.success}</span> / <span>{stats.pending + stats.sending}</span> / <span class={stats.fail > 0 ? 'bad' : ''}>{stats.fail}</span>
              </td>
              <td class="actions">
                <button type="button" class="small-button" onClick={() => toggle(endpoint)} data-testid="toggle-endpoint">
                  {endpoint.disabled ? 'Enable' : 'Disable'}
                </button>
                <button type="button" class="small-button ghost" onClick={() => showSecret(endpoint)}>
                  Secret
                </button>
                {stats.fail > 0 && <Link to={{ page: 'dead-letters', appId: props.appId }}>Dead letters</Link>}
              </td>
            </tr>
          ))}
          {health.data && health.data.length === 0 && (
            <tr>
              <td colSpan={6} class="empty">
                No endpoints yet: add one below.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <CreateEndpoint appId={props.appId} onCreated={health.refresh} />
    </section>
  );
}

function CreateEndpoint(props: { appId: string; onCreated: () => void }) {
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [types, setTypes] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setCreated(null);
    const filterTypes = types
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t.length > 0);
    try {
      const endpoint = await post<Endpoint>(`${appPath(props.appId)}/endpoint`, {
        url: url.trim(),
        description,
        ...(filterTypes.length > 0 ? { filterTypes } : {}),
      });
      setUrl('');
      setDescription('');
      setTypes('');
      setCreated(endpoint.id);
      props.onCreated();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <form class="card inline-form" onSubmit={submit} data-testid="create-endpoint-form">
      <h3>New endpoint</h3>
      <label>
        URL
        <input name="url" type="url" value={url} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} placeholder="https://example.com/webhooks" required />
      </label>
      <label>
        Description
        <input name="description" value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} maxLength={4096} />
      </label>
      <label>
        Event types (comma-separated, empty: all)
        <input name="filterTypes" value={types} onInput={(e) => setTypes((e.target as HTMLInputElement).value)} placeholder="invoice.paid, user.signup" />
      </label>
      <button type="submit">Add endpoint</button>
      {created && (
        <p class="notice" data-testid="endpoint-created">
          Endpoint {created} created.
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
