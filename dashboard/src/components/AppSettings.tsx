import { useEffect, useState } from 'preact/hooks';
import { useAccess } from '../access';
import { type Application, patch } from '../api';
import { useSubmit } from '../submit';

/** The number typed in a rate field: null when empty. */
const rateOf = (text: string): number | null => (text.trim() === '' ? null : Number(text));
const textOf = (rate: number | undefined): string => (rate === undefined ? '' : String(rate));

/**
 * An application's settings: its name, its throttle (each endpoint's send rate unless the endpoint sets its own), and,
 * for an admin key only (the API refuses it to a scoped key), its ingest limit.
 */
export function AppSettings(props: { path: string; app: Application; onSaved: () => void }) {
  const admin = useAccess() === 'admin';
  const [name, setName] = useState(props.app.name);
  const [throttle, setThrottle] = useState(textOf(props.app.throttleRate));
  const [ingest, setIngest] = useState(textOf(props.app.ingestRateLimit));
  const [saved, setSaved] = useState(false);
  // Another tab (or the API) may change it: the form shows the latest until it is being edited.
  useEffect(() => {
    setName(props.app.name);
    setThrottle(textOf(props.app.throttleRate));
    setIngest(textOf(props.app.ingestRateLimit));
  }, [props.app.id, props.app.updatedAt]);
  const { submit: save, error, busy } = useSubmit(async () => {
    setSaved(false);
    await patch(props.path, { name: name.trim(), throttleRate: rateOf(throttle), ...(admin ? { ingestRateLimit: rateOf(ingest) } : {}) });
    setSaved(true);
    props.onSaved();
  });
  return (
    <form class="card inline-form" onSubmit={save} data-testid="app-settings-form">
      <h3>Application settings</h3>
      <label>
        Name
        <input name="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} required maxLength={256} />
      </label>
      <label title="Each endpoint is sent at most this many messages a second, unless the endpoint sets its own rate limit">
        Throttle per endpoint (messages/s, empty: none)
        <input name="throttleRate" type="number" min={1} value={throttle} onInput={(e) => setThrottle((e.target as HTMLInputElement).value)} />
      </label>
      {admin && (
        <label title="Above it, sending a message answers 429 with Retry-After">
          Ingest limit (messages/s, empty: the server's default, 0: none)
          <input name="ingestRateLimit" type="number" min={0} value={ingest} onInput={(e) => setIngest((e.target as HTMLInputElement).value)} />
        </label>
      )}
      <button type="submit" disabled={busy}>Save</button>
      {saved && !error && <p class="notice">Saved.</p>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
