import { useState } from 'preact/hooks';
import { useCan } from '../access';
import { type Application, type Attempt, type Endpoint, type EndpointHealth, type LatencyStats, type Page, appPath, del, get, patch, post, query } from '../api';
import { LatencyChart } from '../components/Chart';
import { ConfirmButton } from '../components/Confirm';
import { CopyButton, CopyableId } from '../components/Copy';
import { type CustomHeaders, HeaderList, HeadersForm } from '../components/CustomHeaders';
import { Circuit, EndpointState, ToggleEndpoint } from '../components/EndpointState';
import { EndpointFields } from '../components/EndpointFields';
import { Link } from '../components/Link';
import { Pager } from '../components/Pager';
import { Recover } from '../components/Recover';
import { SendExample } from '../components/SendExample';
import { StatusBadge, StatusCode } from '../components/Status';
import { formatTime, percent, relativeTime } from '../format';
import { usePoll } from '../live';
import { navigate, useSearch } from '../router';
import { useSubmit } from '../submit';

const PAGE_SIZE = 50;

/**
 * One endpoint: its settings, health, why it was disabled, its attempts and latency, and what can be done to it
 * (for an app-portal token, what its capabilities allow: a read-only one sees the settings, the secret and the
 * attempts).
 */
export function EndpointDetail(props: { appId: string; endpointId: string }) {
  const canManage = useCan('ManageEndpoint');
  const canRotate = useCan('ManageEndpointSecret');
  const canSeeSecret = useCan('ViewEndpointSecret');
  const canAttempt = useCan('CreateAttempts');
  const base = appPath(props.appId);
  const ep = `${base}/endpoint/${encodeURIComponent(props.endpointId)}`;
  const iterator = new URLSearchParams(useSearch()).get('iterator') ?? undefined;
  const health = usePoll(() => get<EndpointHealth>(`${base}/endpoint-health/${encodeURIComponent(props.endpointId)}`), [props.appId, props.endpointId], 3000);
  const attempts = usePoll(
    () => get<Page<Attempt>>(`${base}/attempt/endpoint/${encodeURIComponent(props.endpointId)}${query({ limit: PAGE_SIZE, iterator, with_content: false })}`),
    [props.appId, props.endpointId, iterator],
    3000,
  );
  // Percentiles over 24 h change slowly, custom headers rarely: read them less often than the rest.
  const latency = usePoll(() => get<LatencyStats>(`${ep}/stats/latency`), [props.appId, props.endpointId], 15000);
  const headers = usePoll(() => get<CustomHeaders>(`${ep}/headers`), [props.appId, props.endpointId], 60000);
  // Its throttle applies to an endpoint without a rate limit of its own.
  const owner = usePoll(() => get<Application>(base), [props.appId], 60000);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const act = async (what: () => Promise<unknown>, done: string) => {
    setError(null);
    try {
      await what();
      setNotice(done);
      health.refresh();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const h = health.data;
  if (!h) {
    const missing = health.errorStatus === 404;
    return (
      <section>
        <p>
          <Link to={{ page: 'endpoints', appId: props.appId }}>← Endpoints</Link>
        </p>
        {missing ? <p data-testid="not-found">This application has no endpoint {props.endpointId} (it may have been deleted).</p> : health.error ? <p class="error">{health.error}</p> : <p class="muted">Loading…</p>}
      </section>
    );
  }
  const { endpoint, stats } = h;
  const rows = attempts.data?.data ?? [];
  return (
    <section data-testid="endpoint-detail" data-endpoint-id={endpoint.id}>
      <p>
        <Link to={{ page: 'endpoints', appId: props.appId }}>← Endpoints</Link>
      </p>
      <h2 class="mono wrap">{endpoint.url}</h2>
      {notice && (
        <p class="notice" data-testid="endpoint-notice">
          {notice}
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="columns">
        <dl class="facts" data-testid="endpoint-facts">
          <dt>id</dt>
          <dd>
            <CopyableId value={endpoint.id} testId="copy-endpoint-id" />
          </dd>
          {endpoint.uid && (
            <>
              <dt>uid</dt>
              <dd class="mono">{endpoint.uid}</dd>
            </>
          )}
          <dt>Description</dt>
          <dd>{endpoint.description || <span class="muted">–</span>}</dd>
          <dt>State</dt>
          <dd data-testid="endpoint-state">
            <EndpointState health={h} />
          </dd>
          <dt>Circuit</dt>
          <dd>
            <span data-testid="circuit-state">{stats.circuit?.state ?? 'closed'}</span>
            {stats.circuit && stats.circuit.failureStreak > 0 && <span class="muted"> · {stats.circuit.failureStreak} connection failures or timeouts in a row</span>}
            <Circuit stats={stats} />
          </dd>
          <dt>Event types</dt>
          <dd class="mono">{endpoint.filterTypes?.join(', ') ?? <span class="muted">all</span>}</dd>
          {endpoint.channels && (
            <>
              <dt>Channels</dt>
              <dd>{endpoint.channels.join(', ')}</dd>
            </>
          )}
          <dt>Custom headers</dt>
          <dd data-testid="custom-headers">
            {headers.data ? <HeaderList headers={headers.data} onRemove={canManage ? (name) => act(() => patch(`${ep}/headers`, { headers: { [name]: null } }).then(headers.refresh), `Header ${name} removed.`) : undefined} /> : '…'}
          </dd>
          <dt>Rate limit</dt>
          <dd data-testid="rate-limit">
            {endpoint.rateLimit ? (
              `${endpoint.rateLimit} messages/s`
            ) : owner.data?.throttleRate ? (
              <>
                {owner.data.throttleRate} messages/s <span class="muted">(the application's throttle)</span>
              </>
            ) : (
              <span class="muted">none</span>
            )}
          </dd>
          <dt>Created</dt>
          <dd>{formatTime(endpoint.createdAt)}</dd>
          <dt>Updated</dt>
          <dd>{formatTime(endpoint.updatedAt)}</dd>
        </dl>
        <dl class="facts" data-testid="endpoint-health">
          <dt title="Deliveries of messages from the last 24 h">Deliveries (24 h)</dt>
          <dd>
            <span class="ok">{stats.success} delivered</span>, {stats.pending + stats.sending} pending, <span class={stats.fail > 0 ? 'bad' : ''}>{stats.fail} failed</span>
          </dd>
          <dt>Success rate</dt>
          <dd data-testid="success-rate">{percent(stats.success, stats.success + stats.fail)}</dd>
          <dt title="Attempts of the last 24 h, failed ones included">Latency (24 h)</dt>
          <dd data-testid="latency">{latency.data ? latencyText(latency.data) : '…'}</dd>
        </dl>
      </div>

      {(canManage || canRotate) && (
        <div class="actions-bar" data-testid="endpoint-actions">
          {canManage && <ToggleEndpoint appId={props.appId} endpoint={endpoint} onDone={health.refresh} onError={setError} />}
          {canRotate && (
            <ConfirmButton
              label="Rotate secret"
              testId="rotate-secret"
              title="Rotate the signing secret?"
              detail={<p>A new secret signs from now on. The current one keeps signing too (a second signature) for the grace period (24 h by default), so the receiver can switch over.</p>}
              confirmLabel="Rotate"
              onConfirm={() => act(() => post(`${ep}/secret/rotate`), 'Secret rotated: the previous one signs too until its grace period ends.')}
            />
          )}
          {canManage && (
            <ConfirmButton
              label="Delete"
              testId="delete-endpoint"
              title="Delete this endpoint?"
              detail={
                <p>
                  <span class="mono">{endpoint.url}</span> gets nothing more; its pending deliveries are failed. This cannot be undone.
                </p>
              }
              confirmLabel="Delete endpoint"
              onConfirm={async () => {
                try {
                  await del(ep);
                  navigate({ page: 'endpoints', appId: props.appId });
                } catch (e) {
                  setError((e as Error).message);
                }
              }}
            />
          )}
        </div>
      )}

      {canSeeSecret && <Secret path={`${ep}/secret`} version={endpoint.updatedAt} />}
      {canAttempt && <SendExample appId={props.appId} endpoints={[endpoint]} fixed onSent={(text) => (setNotice(text), attempts.refresh())} />}
      {canManage && (
        <>
          <EditEndpoint key={endpoint.updatedAt} path={ep} endpoint={endpoint} onSaved={() => (setNotice('Endpoint saved.'), health.refresh())} />
          <HeadersForm path={ep} onSaved={(text) => (setNotice(text), headers.refresh())} />
        </>
      )}
      {canAttempt && (
        <>
          <Recover appId={props.appId} endpoints={[endpoint]} suggested={endpoint.id} fixed onDone={(n) => (setNotice(`${n} failed deliver${n === 1 ? 'y' : 'ies'} scheduled again.`), attempts.refresh())} />
          <Recover appId={props.appId} endpoints={[endpoint]} suggested={endpoint.id} fixed action="replay" onDone={(n) => (setNotice(`${n} missed message${n === 1 ? '' : 's'} sent to this endpoint.`), attempts.refresh())} />
        </>
      )}

      <h3>Attempts</h3>
      <LatencyChart attempts={rows} />
      <div class="table-scroll">
        <table class="list" data-testid="endpoint-attempts">
          <thead>
            <tr>
              <th>Time</th>
              <th>Message</th>
              <th>Result</th>
              <th>Status code</th>
              <th>Duration</th>
              <th>Trigger</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr key={a.id} data-testid="attempt-row" data-status={a.statusText} data-status-code={a.responseStatusCode}>
                <td title={formatTime(a.timestamp)}>
                  <Link to={{ page: 'attempt', appId: props.appId, msgId: a.msgId, attemptId: a.id }}>{relativeTime(a.timestamp)}</Link>
                </td>
                <td>
                  <Link to={{ page: 'message', appId: props.appId, msgId: a.msgId }} class="mono small">
                    {a.msgId}
                  </Link>
                </td>
                <td>
                  <StatusBadge status={a.statusText} label={a.statusText === 'success' ? 'succeeded' : 'failed'} />
                </td>
                <td>
                  <StatusCode code={a.responseStatusCode} />
                </td>
                <td>{a.responseDurationMs} ms</td>
                <td>{a.triggerType === 1 ? 'manual' : 'scheduled'}</td>
                <td class="small error-text">{a.error ?? ''}</td>
              </tr>
            ))}
            {attempts.data && rows.length === 0 && (
              <tr>
                <td colSpan={7} class="empty">
                  No attempts{iterator ? ' on this page' : ' yet'}.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager page={attempts.data} iterator={iterator} params={{}} />
    </section>
  );
}

function latencyText(stats: LatencyStats): string {
  const { p50, p90, p99, max } = stats.latencyMs;
  if (stats.attempts === 0 || p50 === null) return 'no attempts';
  return `p50 ${p50} ms · p90 ${p90} ms · p99 ${p99} ms · max ${max} ms (${stats.attempts} attempts)`;
}

/** The signing secret, fetched only when asked for; hidden again after a rotation (`version` changes). */
function Secret(props: { path: string; version: string }) {
  const [shown, setShown] = useState<{ key: string; version: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const show = async () => {
    setError(null);
    try {
      const secret = await get<{ key: string }>(props.path);
      setShown({ key: secret.key, version: props.version });
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const current = shown?.version === props.version ? shown.key : null;
  return (
    <div class="card" data-testid="secret-card">
      <h3>Signing secret</h3>
      {current ? (
        <p>
          <span class="mono secret" data-testid="secret">
            {current}
          </span>{' '}
          <CopyButton text={current} testId="copy-secret" /> <button type="button" class="small-button ghost" onClick={() => setShown(null)}>
            Hide
          </button>
        </p>
      ) : (
        <button type="button" class="small-button ghost" onClick={show} data-testid="show-secret">
          Show secret
        </button>
      )}
      {error && <p class="error">{error}</p>}
    </div>
  );
}

/** The same names, in any order. */
const sameNames = (a: string[], b: string[]): boolean => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

function EditEndpoint(props: { path: string; endpoint: Endpoint; onSaved: () => void }) {
  const { endpoint } = props;
  const [fields, setFields] = useState({ url: endpoint.url, description: endpoint.description, types: endpoint.filterTypes ?? [] });
  const [rateLimit, setRateLimit] = useState(endpoint.rateLimit ? String(endpoint.rateLimit) : '');
  const { submit: save, error, busy } = useSubmit(async () => {
    // The filter is sent only when it was changed: the API checks a filter it is sent against the catalog, so an
    // endpoint filtering on a type archived since could not otherwise be saved without unticking that type.
    const typesChanged = !sameNames(fields.types, endpoint.filterTypes ?? []);
    await patch(props.path, {
      url: fields.url.trim(),
      description: fields.description,
      ...(typesChanged ? { filterTypes: fields.types.length > 0 ? fields.types : null } : {}),
      rateLimit: rateLimit ? Number(rateLimit) : null,
    });
    props.onSaved();
  });
  return (
    <form class="card inline-form" onSubmit={save} data-testid="edit-endpoint-form">
      <h3>Settings</h3>
      <EndpointFields values={fields} onChange={setFields} />
      <label>
        Rate limit (messages/s, empty: the application's throttle, if any)
        <input name="rateLimit" type="number" min={1} value={rateLimit} onInput={(e) => setRateLimit((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit" disabled={busy}>Save</button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
