import { useState } from 'preact/hooks';
import { useCan, useCanEditApp } from '../access';
import { type Application, type Endpoint, type EndpointHealth, type Page, appPath, get, post, query } from '../api';
import { AppSettings } from '../components/AppSettings';
import { Circuit, EndpointState, ToggleEndpoint } from '../components/EndpointState';
import { EndpointFields, type EndpointFieldValues } from '../components/EndpointFields';
import { Link } from '../components/Link';
import { StatusCode } from '../components/Status';
import { percent, relativeTime } from '../format';
import { usePoll } from '../live';
import { hasPage } from '../router';
import { useSubmit } from '../submit';

/**
 * An application's endpoints with their health over the last 24 h (one request per poll), a form to add one, and
 * the application's own settings (for a dashboard key that may change them).
 */
export function Endpoints(props: { appId: string }) {
  const canWrite = useCan('ManageEndpoint');
  const canEditApp = useCanEditApp();
  const base = appPath(props.appId);
  const health = usePoll(() => get<Page<EndpointHealth>>(`${base}/endpoint-health${query({ limit: 250 })}`), [props.appId], 3000);
  // The settings change rarely: read them seldom, and not at all for a token that may not change them.
  const owner = usePoll(() => (canEditApp ? get<Application>(base) : Promise.resolve(undefined)), [props.appId, canEditApp], 60000);
  const [actionError, setActionError] = useState<string | null>(null);
  const rows = health.data?.data;

  return (
    <section>
      <h2>Endpoints</h2>
      {(health.error || actionError) && <p class="error">{actionError ?? health.error}</p>}
      <div class="table-scroll">
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
            {rows?.map((h) => {
              const { endpoint, stats, lastAttempt } = h;
              return (
                <tr key={endpoint.id} data-testid="endpoint-row" data-endpoint-id={endpoint.id}>
                  <td>
                    <Link to={{ page: 'endpoint', appId: props.appId, endpointId: endpoint.id }} class="mono" testId="endpoint-link">
                      {endpoint.url}
                    </Link>
                    <div class="small muted">
                      {endpoint.description || endpoint.uid || endpoint.id}
                      {endpoint.filterTypes && ` · ${endpoint.filterTypes.join(', ')}`}
                    </div>
                  </td>
                  <td>
                    <EndpointState health={h} />
                    <Circuit stats={stats} />
                  </td>
                  <td data-testid="success-rate">{percent(stats.success, stats.success + stats.fail)}</td>
                  <td data-testid="last-status">
                    {lastAttempt ? (
                      <>
                        <StatusCode code={lastAttempt.responseStatusCode} /> <span class="small muted">{relativeTime(lastAttempt.timestamp)}</span>
                      </>
                    ) : (
                      <span class="muted">none yet</span>
                    )}
                  </td>
                  <td class="counts">
                    <span class="ok">{stats.success}</span> / <span>{stats.pending + stats.sending}</span> / <span class={stats.fail > 0 ? 'bad' : ''}>{stats.fail}</span>
                  </td>
                  <td class="actions">
                    {canWrite && <ToggleEndpoint appId={props.appId} endpoint={endpoint} onDone={health.refresh} onError={setActionError} />}
                    {stats.fail > 0 && hasPage('dead-letters') && <Link to={{ page: 'dead-letters', appId: props.appId }}>Dead letters</Link>}
                  </td>
                </tr>
              );
            })}
            {rows && rows.length === 0 && (
              <tr>
                <td colSpan={6} class="empty">
                  No endpoints yet{canWrite ? ': add one below' : ''}.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {health.data && !health.data.done && <p class="muted small">Showing the first 250 endpoints.</p>}
      {canWrite && <CreateEndpoint appId={props.appId} onCreated={health.refresh} />}
      {canEditApp && owner.data && <AppSettings path={base} app={owner.data} onSaved={owner.refresh} />}
    </section>
  );
}

const NO_FIELDS: EndpointFieldValues = { url: '', description: '', types: [] };

function CreateEndpoint(props: { appId: string; onCreated: () => void }) {
  const [fields, setFields] = useState<EndpointFieldValues>(NO_FIELDS);
  const [created, setCreated] = useState<Endpoint | null>(null);

  const { submit, error, busy } = useSubmit(async () => {
    setCreated(null);
    const endpoint = await post<Endpoint>(`${appPath(props.appId)}/endpoint`, {
      url: fields.url.trim(),
      description: fields.description,
      ...(fields.types.length > 0 ? { filterTypes: fields.types } : {}),
    });
    setFields(NO_FIELDS);
    setCreated(endpoint);
    props.onCreated();
  });

  return (
    <form class="card inline-form" onSubmit={submit} data-testid="create-endpoint-form">
      <h3>New endpoint</h3>
      <EndpointFields values={fields} onChange={setFields} urlPlaceholder="https://example.com/webhooks" />
      <button type="submit" disabled={busy}>Add endpoint</button>
      {created && (
        <p class="notice" data-testid="endpoint-created">
          Endpoint <Link to={{ page: 'endpoint', appId: props.appId, endpointId: created.id }}>{created.id}</Link> created.
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
