import { useState } from 'preact/hooks';
import { useAccess } from '../access';
import { type Application, type Page, get, post, query } from '../api';
import { Link } from '../components/Link';
import { formatTime } from '../format';
import { usePoll } from '../live';
import { navigate } from '../router';
import { useSubmit } from '../submit';

/** Every application the token may see, and a form to create one (admin tokens only: a scoped key would get 403). */
export function Apps() {
  const access = useAccess();
  const apps = usePoll(() => get<Page<Application>>(`/api/v1/app${query({ limit: 250 })}`), [], 5000);
  const [name, setName] = useState('');
  const [uid, setUid] = useState('');

  const { submit: create, error, busy } = useSubmit(async () => {
    const created = await post<Application>('/api/v1/app', { name, ...(uid ? { uid } : {}) });
    setName('');
    setUid('');
    navigate({ page: 'endpoints', appId: created.id });
  });

  return (
    <section>
      <h2>Applications</h2>
      {apps.error && <p class="error">{apps.error}</p>}
      <div class="table-scroll">
        <table class="list" data-testid="apps-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>uid</th>
              <th>id</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {apps.data?.data.map((app) => (
              <tr key={app.id} data-testid="app-row">
                <td>
                  <Link to={{ page: 'messages', appId: app.id }}>{app.name}</Link>
                </td>
                <td class="mono">{app.uid ?? '–'}</td>
                <td class="mono small">{app.id}</td>
                <td>{formatTime(app.createdAt)}</td>
                <td class="actions">
                  <Link to={{ page: 'endpoints', appId: app.id }}>Endpoints</Link> · <Link to={{ page: 'dead-letters', appId: app.id }}>Dead letters</Link>
                </td>
              </tr>
            ))}
            {apps.data && apps.data.data.length === 0 && (
              <tr>
                <td colSpan={5} class="empty">
                  No applications yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {access === 'admin' && (
        <form class="card inline-form" onSubmit={create} data-testid="create-app-form">
          <h3>New application</h3>
          <label>
            Name
            <input name="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} required maxLength={256} />
          </label>
          <label>
            uid (optional)
            <input name="uid" value={uid} onInput={(e) => setUid((e.target as HTMLInputElement).value)} pattern="[a-zA-Z0-9\-_.]+" maxLength={256} />
          </label>
          <button type="submit" disabled={busy}>Create</button>
          {error && <p class="error">{error}</p>}
        </form>
      )}
    </section>
  );
}
