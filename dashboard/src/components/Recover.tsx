import { useState } from 'preact/hooks';
import { type Endpoint, type RecoverOut, appPath, post } from '../api';
import { formatTime, localInputToIso, toLocalInput } from '../format';
import { ConfirmDialog } from './Confirm';
import { EndpointSelect } from './EndpointSelect';

const DAY_MS = 86_400_000;

/**
 * Recovers an endpoint's failed deliveries since a time. It proposes the endpoint of the newest dead letter
 * (`suggested`), not merely the first endpoint of the application, and asks before acting. On an endpoint's own
 * page (`fixed`), there is nothing to choose.
 */
export function Recover(props: { appId: string; endpoints: Endpoint[]; suggested: string | undefined; fixed?: boolean; onRecovered: (count: number) => void }) {
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

  const recover = async () => {
    setConfirming(false);
    const sinceIso = localInputToIso(since);
    if (!chosen || !sinceIso) return;
    try {
      const out = await post<RecoverOut>(`${appPath(props.appId)}/endpoint/${encodeURIComponent(chosen)}/recover`, { since: sinceIso });
      props.onRecovered(out.recovered);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <form class="card inline-form" onSubmit={ask} data-testid="recover-form">
      <h3>Recover failed deliveries</h3>
      {!props.fixed && <EndpointSelect endpoints={props.endpoints} value={chosen} onChange={setEndpointId} />}
      <label>
        Messages since
        <input type="datetime-local" name="since" value={since} onInput={(e) => setSince((e.target as HTMLInputElement).value)} required />
      </label>
      <button type="submit" disabled={!chosen}>
        Recover
      </button>
      {error && <p class="error">{error}</p>}
      {confirming && (
        <ConfirmDialog title="Recover failed deliveries?" confirmLabel="Recover" danger={false} onCancel={() => setConfirming(false)} onConfirm={recover}>
          <p>
            Every failed delivery to <span class="mono">{chosenUrl}</span> of a message created since {formatTime(localInputToIso(since))} is scheduled again now.
          </p>
        </ConfirmDialog>
      )}
    </form>
  );
}
