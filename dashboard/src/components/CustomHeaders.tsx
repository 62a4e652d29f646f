import { useState } from 'preact/hooks';
import { patch } from '../api';
import { useSubmit } from '../submit';

export interface CustomHeaders {
  headers: Record<string, string>;
  /** Names of headers whose values the API does not echo (authorization, cookies, API keys). */
  sensitive: string[];
}

/** The headers hookd adds to every request to an endpoint; secret values stay hidden. With onRemove, each can go. */
export function HeaderList(props: { headers: CustomHeaders; onRemove?: (name: string) => void }) {
  const { headers, sensitive } = props.headers;
  const names = Object.keys(headers);
  if (names.length === 0 && sensitive.length === 0) return <span class="muted">none</span>;
  const remove = (name: string) =>
    props.onRemove && (
      <button type="button" class="small-button ghost" onClick={() => props.onRemove?.(name)} data-testid="remove-header" aria-label={`Remove ${name}`}>
        Remove
      </button>
    );
  return (
    <div class="mono small header-list">
      {names.map((name) => (
        <div key={name} data-testid="custom-header" data-name={name}>
          {name}: {headers[name]} {remove(name)}
        </div>
      ))}
      {sensitive.map((name) => (
        <div key={name} data-testid="custom-header" data-name={name}>
          {name}: <span class="muted">(set, hidden)</span> {remove(name)}
        </div>
      ))}
    </div>
  );
}

/** Sets one custom header of an endpoint (PATCH .../headers: other headers stay), or removes one. */
export function HeadersForm(props: { path: string; onSaved: (text: string) => void }) {
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const { submit: save, error, busy } = useSubmit(async () => {
    await patch(`${props.path}/headers`, { headers: { [name.trim()]: value } });
    props.onSaved(`Header ${name.trim()} set.`);
    setName('');
    setValue('');
  });
  return (
    <form class="card inline-form" onSubmit={save} data-testid="headers-form">
      <h3>Custom headers</h3>
      <label>
        Name
        <input name="headerName" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} required maxLength={256} pattern="[A-Za-z0-9_.\-]+" placeholder="X-Example" />
      </label>
      <label>
        Value
        <input name="headerValue" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} required maxLength={8192} />
      </label>
      <button type="submit" disabled={busy}>Set header</button>
      <p class="fine">Sent with every request to this endpoint. Values of authorization, cookie and API-key headers are never shown again.</p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
