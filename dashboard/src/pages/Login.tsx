import { useState } from 'preact/hooks';
import { ApiError, request } from '../api';
import { setToken } from '../session';
import { useSubmit } from '../submit';

/** Asks for an API token, checks it against the API, and keeps it in this tab's sessionStorage only. */
export function Login(props: { notice: string | null; onLoggedIn: () => void }) {
  const [token, setTokenInput] = useState('');
  const { submit, error, busy } = useSubmit(
    async () => {
      const candidate = token.trim();
      await request('GET', '/api/v1/app?limit=1', undefined, candidate);
      setToken(candidate);
      props.onLoggedIn();
    },
    (e) => (e instanceof ApiError && e.status === 401 ? 'That token is not valid (or was revoked).' : (e as Error).message),
  );
  // Only spaces (which `required` lets through) do nothing: the last error stays.
  const submitToken = (event: Event) => (token.trim() ? submit(event) : event.preventDefault());

  return (
    <div class="login">
      <form class="card login-card" onSubmit={submitToken} data-testid="login-form">
        <h1>hookd</h1>
        <p class="muted">Sign in with an API token (an admin token, or one scoped to an application).</p>
        {props.notice && <p class="notice">{props.notice}</p>}
        <label>
          API token
          <input
            type="password"
            name="token"
            autocomplete="off"
            spellcheck={false}
            value={token}
            onInput={(e) => setTokenInput((e.target as HTMLInputElement).value)}
            placeholder="hookd_…"
            required
            autofocus
          />
        </label>
        {error && (
          <p class="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Log in'}
        </button>
        <p class="fine">The token stays in this browser tab only (sessionStorage) and is sent as an Authorization header; closing the tab forgets it.</p>
      </form>
    </div>
  );
}
