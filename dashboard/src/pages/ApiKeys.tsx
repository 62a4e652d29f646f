import { useState } from 'preact/hooks';
import { useAccess } from '../access';
import { type ApiKey, type Application, type Page, del, get, post, query } from '../api';
import { ConfirmButton } from '../components/Confirm';
import { CopyButton } from '../components/Copy';
import { formatTime } from '../format';
import { usePoll } from '../live';
import { useSubmit } from '../submit';

interface KeysData {
  keys: ApiKey[];
  apps: Application[];
}

/** API keys (admin tokens only): list, create (admin or scoped to one application; the token is shown once), revoke. */
export function ApiKeys() {
  const access = useAccess();
  const data = usePoll(
    async (): Promise<KeysData> => {
      const [keys, apps] = await Promise.all([get<Page<ApiKey>>('/api/v1/api-key'), get<Page<Application>>(`/api/v1/app${query({ limit: 250 })}`)]);
      return { keys: keys.data, apps: apps.data };
    },
    [],
    5000,
  );
  const [error, setError] = useState<string | null>(null);
  if (access === 'scoped') return <p data-testid="admin-only">API keys are managed with an admin token.</p>;
  const apps = data.data?.apps ?? [];
  const appName = (id: string) => apps.find((a) => a.id === id)?.name ?? id;
  const revoke = async (key: ApiKey) => {
    setError(null);
    try {
      await del(`/api/v1/api-key/${encodeURIComponent(key.id)}`);
      data.refresh();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const keys = data.data?.keys ?? [];
  return (
    <section>
      <h2>API keys</h2>
      {(error || data.error) && <p class="error">{error ?? data.error}</p>}
      <div class="table-scroll">
        <table class="list" data-testid="api-keys-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Prefix</th>
              <th>Scope</th>
              <th>Created</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id} data-testid="api-key-row" data-key-id={k.id} data-revoked={String(k.revokedAt !== null)}>
                <td>{k.name}</td>
                <td class="mono">{k.prefix}…</td>
                <td>{k.appId ? appName(k.appId) : <strong>admin</strong>}</td>
                <td>{formatTime(k.createdAt)}</td>
                <td>
                  <KeyState apiKey={k} />
                </td>
                <td class="actions">
                  {!k.revokedAt && !isExpired(k) && (
                    <ConfirmButton
                      label="Revoke"
                      testId="revoke-key"
                      title={`Revoke the key ${k.name}?`}
                      detail={<p>Every request with its token is refused (401) from now on. This cannot be undone.</p>}
                      confirmLabel="Revoke"
                      onConfirm={() => revoke(k)}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <CreateKey apps={apps} onCreated={data.refresh} />
    </section>
  );
}

const isExpired = (k: ApiKey) => k.expiresAt != null && new Date(k.expiresAt).getTime() <= Date.now();

/** Active, revoked or expired; app-portal tokens also say when they expire and whether they only read. */
function KeyState(props: { apiKey: ApiKey }) {
  const k = props.apiKey;
  if (k.revokedAt) return <span class="muted">revoked {formatTime(k.revokedAt)}</span>;
  if (isExpired(k)) return <span class="muted">expired {formatTime(k.expiresAt!)}</span>;
  return (
    <>
      active
      {k.expiresAt && <span class="muted small"> · expires {formatTime(k.expiresAt)}</span>}
      {k.readOnly && <span class="muted small"> · read-only</span>}
    </>
  );
}

function CreateKey(props: { apps: Application[]; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [appId, setAppId] = useState('');
  const [token, setToken] = useState<string | null>(null);
  const { submit, error, busy } = useSubmit(async () => {
    setToken(null);
    const created = await post<ApiKey & { token?: string }>('/api/v1/api-key', { name: name.trim(), ...(appId ? { appId } : {}) });
    setName('');
    setToken(created.token ?? null);
    props.onCreated();
  });
  return (
    <form class="card inline-form" onSubmit={submit} data-testid="create-api-key-form">
      <h3>New API key</h3>
      <label>
        Name
        <input name="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} required maxLength={256} placeholder="billing service" />
      </label>
      <label>
        Scope
        <select name="appId" value={appId} onChange={(e) => setAppId((e.target as HTMLSelectElement).value)}>
          <option value="">admin (every application)</option>
          {props.apps.map((a) => (
            <option key={a.id} value={a.id}>
              only {a.name}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={busy}>Create</button>
      {token && (
        <p class="notice" data-testid="new-token">
          Token (shown only now): <span class="mono">{token}</span> <CopyButton text={token} testId="copy-token" />
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
