import { type Endpoint, type EndpointHealth, type EndpointStats, appPath, patch } from '../api';
import { formatTime, relativeTime } from '../format';
import { ConfirmButton } from './Confirm';
import { StatusBadge } from './Status';

/** An endpoint's state as the endpoint list and the endpoint page show it. */

/**
 * The endpoint's circuit breaker when it is not closed (nothing is sent while open; one probe at a time while
 * half-open), and what it has in flight against its budget.
 */
export function Circuit({ stats }: { stats: EndpointStats }) {
  const circuit = stats.circuit;
  const concurrency = stats.concurrency;
  return (
    <div class="small muted" data-testid="circuit" data-circuit={circuit?.state ?? 'closed'}>
      {circuit && circuit.state !== 'closed' && (
        <div title={`${circuit.failureStreak} timeouts or connection failures in a row; waiting deliveries spend no attempts`}>
          <StatusBadge status={circuit.state === 'open' ? 'fail' : 'pending'} label={circuit.state === 'open' ? 'circuit open' : 'probing'} />{' '}
          {circuit.nextProbeAt && circuit.state === 'open' && <span>next probe {relativeTime(circuit.nextProbeAt)}</span>}
        </div>
      )}
      {concurrency && (
        <div title="Deliveries on the wire now / what the endpoint may have in flight (adaptive)">
          {concurrency.inFlight} / {concurrency.limit} in flight
        </div>
      )}
    </div>
  );
}

/** Enabled or disabled, and why it was disabled (410 Gone, a failure streak, an operator). */
export function EndpointState({ health }: { health: EndpointHealth }) {
  if (!health.endpoint.disabled && !health.failingSince) return <StatusBadge status="success" label="enabled" />;
  // Enabled, but its latest attempts fail: said where the endpoints are listed too, since the success rate counts
  // finished deliveries only and a retry schedule can take a day to finish one.
  if (!health.endpoint.disabled) {
    return (
      <>
        <StatusBadge status="pending" label="failing" />
        <div class="small muted" data-testid="failing-since">
          enabled; failing since {formatTime(health.failingSince!)}
        </div>
      </>
    );
  }
  return (
    <>
      <StatusBadge status="fail" label="disabled" />
      {health.disabledReason && (
        <div class="small error-text" data-testid="disabled-reason">
          {health.disabledReason}
        </div>
      )}
    </>
  );
}

/** Disables (after a confirmation: deliveries stop) or enables an endpoint. */
export function ToggleEndpoint(props: { appId: string; endpoint: Endpoint; onDone: () => void; onError: (message: string) => void }) {
  const { endpoint } = props;
  const set = async (disabled: boolean) => {
    try {
      await patch(`${appPath(props.appId)}/endpoint/${encodeURIComponent(endpoint.id)}`, { disabled });
      props.onDone();
    } catch (e) {
      props.onError((e as Error).message);
    }
  };
  if (endpoint.disabled) {
    return (
      <button type="button" class="small-button" onClick={() => set(false)} data-testid="toggle-endpoint">
        Enable
      </button>
    );
  }
  return (
    <ConfirmButton
      label="Disable"
      testId="toggle-endpoint"
      title="Disable this endpoint?"
      detail={
        <p>
          Nothing is sent to <span class="mono">{endpoint.url}</span> while it is disabled; its messages wait and are delivered once it is enabled again.
        </p>
      }
      confirmLabel="Disable"
      onConfirm={() => set(true)}
    />
  );
}
