import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { type Endpoint, type RecoverOut, type ReplayOut, appPath, post } from '../api';
import { formatTime, localInputToIso, toLocalInput } from '../format';
import { ConfirmDialog } from './Confirm';
import { EndpointSelect } from './EndpointSelect';

const DAY_MS = 86_400_000;

/** The two things done to an endpoint for the messages since a time: what each form says, calls and counts. */
const ACTIONS = {
  recover: {
    title: 'Recover failed deliveries',
    button: 'Recover',
    route: 'recover',
    question: 'Recover failed deliveries?',
    explain: (url: string, since: string): JSX.Element => (
      <p>
        Every failed delivery to <span class="mono">{url}</span> of a message created since {since} is scheduled again now.
      </p>
    ),
    count: (out: RecoverOut & ReplayOut): number => out.recovered,
  },
  replay: {
    title: 'Replay missed messages',
    button: 'Replay',
    route: 'replay-missing',
    question: 'Send the messages this endpoint missed?',
    explain: (url: string, since: string): JSX.Element => (
      <p>
        Every message created since {since} that <span class="mono">{url}</span> subscribes to and never received (it was added later, or its event
        types changed) is sent to it now. Messages it already had are not sent again.
      </p>
    ),
    count: (out: RecoverOut & ReplayOut): number => out.replayed,
  },
} as const;

/**
 * Recovers an endpoint's failed deliveries since a time, or (`action="replay"`) sends it the messages since a time it
 * never received. It proposes the endpoint of the newest dead letter (`suggested`), not merely the first endpoint of
 * the application, and asks before acting. On an endpoint's own page (`fixed`), there is nothing to choose.
 */
export function Recover(props: {
  appId: string;
  endpoints: Endpoint[];
  suggested: string | undefined;
  fixed?: boolean;
  action?: keyof typeof ACTIONS;
  onDone: (count: number) => void;
}) {
  const action = props.action ?? 'recover';
  const text = ACTIONS[action];
  const [endpointId, setEndpointId] = useState('');
  const [since, setSince] = useState(() => toLocalInput(Date.now() - DAY_MS));
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const chosen = endpointId || props.suggested || props.endpoints[0]?.id || '';
  const chosenUrl = props.endpoints.find((e) => e.id === chosen)?.url ?? chosen;

  const ask = (event: Event) => {
    event.preventDefault();
    setError(null);
    if (chosen && localInputToIso(since)) setConfirming(true);
  };

  const run = async () => {
    setConfirming(false);
    const sinceIso = localInputToIso(since);
    if (!chosen || !sinceIso) return;
    try {
      const out = await post<RecoverOut & ReplayOut>(`${appPath(props.appId)}/endpoint/${encodeURIComponent(chosen)}/${text.route}`, { since: sinceIso });
      props.onDone(text.count(out));
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <form class="card inline-form" onSubmit={ask} data-testid={`${action}-form`}>
      <h3>{text.title}</h3>
      {!props.fixed && <EndpointSelect endpoints={props.endpoints} value={chosen} onChange={setEndpointId} />}
      <label>
        Messages since
        <input type="datetime-local" name="since" value={since} onInput={(e) => setSince((e.target as HTMLInputElement).value)} required />
      </label>
      <button type="submit" disabled={!chosen}>
        {text.button}
      </button>
      {error && <p class="error">{error}</p>}
      {confirming && (
        <ConfirmDialog title={text.question} confirmLabel={text.button} danger={false} onCancel={() => setConfirming(false)} onConfirm={run}>
          {text.explain(chosenUrl, formatTime(localInputToIso(since)))}
        </ConfirmDialog>
      )}
    </form>
  );
}
