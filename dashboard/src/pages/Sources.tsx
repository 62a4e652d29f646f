import { useState } from 'preact/hooks';
import { type Page, type Source, type SourceScheme, appPath, del, get, post, query } from '../api';
import { ConfirmButton } from '../components/Confirm';
import { CopyButton } from '../components/Copy';
import { formatTime } from '../format';
import { usePoll } from '../live';
import { useSubmit } from '../submit';

const SCHEMES: { value: SourceScheme; label: string }[] = [
  { value: 'standard-webhooks', label: 'Standard Webhooks (webhook-signature, whsec_ secret)' },
  { value: 'hmac-sha256', label: 'HMAC-SHA256 of the body in a header' },
  { value: 'slack', label: "Slack (v0 signature with Slack's signing secret)" },
  { value: 'api-key', label: 'A shared key in a header' },
];

/**
 * An application's inbound sources: external systems POST their webhooks to a source's ingest URL, hookd
 * verifies them and turns each into a message of the application. The secret is write-only.
 */
export function Sources(props: { appId: string }) {
  const base = `${appPath(props.appId)}/source`;
  const sources = usePoll(() => get<Page<Source>>(`${base}${query({ limit: 250 })}`), [props.appId], 5000);
  const [error, setError] = useState<string | null>(null);
  const remove = async (source: Source) => {
    setError(null);
    try {
      await del(`${base}/${encodeURIComponent(source.id)}`);
      sources.refresh();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const rows = sources.data?.data ?? [];
  return (
    <section>
      <h2>Inbound sources</h2>
      <p class="muted">External systems POST webhooks to a source&apos;s ingest URL; each verified request becomes a message of this application.</p>
      {(error || sources.error) && <p class="error">{error ?? sources.error}</p>}
      <div class="table-scroll">
        <table class="list" data-testid="sources-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Ingest URL</th>
              <th>Verification</th>
              <th>Event type from</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => {
              const url = `${location.origin}${s.ingestPath}`;
              const from = [s.eventType.header && `header ${s.eventType.header}`, s.eventType.field && `field ${s.eventType.field}`, s.eventType.default && `default ${s.eventType.default}`].filter(Boolean);
              return (
                <tr key={s.id} data-testid="source-row" data-source-id={s.id}>
                  <td>{s.name}</td>
                  <td>
                    <span class="mono small">{url}</span> <CopyButton text={url} testId="copy-ingest-url" />
                  </td>
                  <td class="small">
                    {s.verification.scheme} <span class="muted mono">{s.verification.header}</span>
                  </td>
                  <td class="small">{from.join(', then ')}</td>
                  <td>{formatTime(s.createdAt)}</td>
                  <td class="actions">
                    <ConfirmButton
                      label="Delete"
                      testId="delete-source"
                      title={`Delete the source ${s.name}?`}
                      detail={<p>Requests to its ingest URL are refused from now on (404). Messages it already created stay.</p>}
                      confirmLabel="Delete source"
                      onConfirm={() => remove(s)}
                    />
                  </td>
                </tr>
              );
            })}
            {sources.data && rows.length === 0 && (
              <tr>
                <td colSpan={6} class="empty">
                  No inbound sources yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <CreateSource path={base} onCreated={sources.refresh} />
    </section>
  );
}

function CreateSource(props: { path: string; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [scheme, setScheme] = useState<SourceScheme>('standard-webhooks');
  const [secret, setSecret] = useState('');
  const [field, setField] = useState('');
  const [fallback, setFallback] = useState('');
  const { submit, error, busy } = useSubmit(async () => {
    await post(props.path, {
      name: name.trim(),
      verification: { scheme, secret },
      eventType: { ...(field.trim() ? { field: field.trim() } : {}), ...(fallback.trim() ? { default: fallback.trim() } : {}) },
    });
    setName('');
    setSecret('');
    setField('');
    setFallback('');
    props.onCreated();
  });
  return (
    <form class="card inline-form" onSubmit={submit} data-testid="create-source-form">
      <h3>New inbound source</h3>
      <label>
        Name
        <input name="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} required maxLength={256} placeholder="Stripe" />
      </label>
      <label>
        Verification
        <select name="scheme" value={scheme} onChange={(e) => setScheme((e.target as HTMLSelectElement).value as SourceScheme)}>
          {SCHEMES.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Secret (write-only)
        <input name="secret" type="password" autocomplete="off" value={secret} onInput={(e) => setSecret((e.target as HTMLInputElement).value)} required placeholder={scheme === 'standard-webhooks' ? 'whsec_…' : 'at least 16 characters'} />
      </label>
      <label>
        Event type from body field
        <input name="field" value={field} onInput={(e) => setField((e.target as HTMLInputElement).value)} placeholder="type" />
      </label>
      <label>
        Default event type
        <input name="default" value={fallback} onInput={(e) => setFallback((e.target as HTMLInputElement).value)} placeholder="stripe.event" />
      </label>
      <button type="submit" disabled={busy}>Create</button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
