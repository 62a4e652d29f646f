import { useState } from 'preact/hooks';
import { type Endpoint, type EventType, appPath, post } from '../api';
import { EndpointSelect } from './EndpointSelect';
import { useEventTypes } from './EventTypePicker';
import { useSubmit } from '../submit';

/** Svix's built-in event type for send-example: it needs no schema or example. */
const PING = 'svix.ping';

/** An event type's example payload (what send-example sends), if its schema has one. */
export function exampleOf(type: EventType): unknown {
  const examples = type.schemas?.['1']?.examples;
  return Array.isArray(examples) && examples.length > 0 ? examples[0] : undefined;
}

/**
 * Sends a test event to one endpoint (send-example): svix.ping, or the example of an event type from the
 * catalog. It is recorded as a message like any other, with its attempts. Asks which endpoint, unless `fixed`
 * (an endpoint's own page).
 */
export function SendExample(props: { appId: string; endpoints: Pick<Endpoint, 'id' | 'url'>[]; fixed?: boolean; onSent: (text: string, msgId: string) => void }) {
  const catalog = useEventTypes();
  const choices = [PING, ...(catalog ?? []).filter((t) => exampleOf(t) !== undefined).map((t) => t.name)];
  const [eventType, setEventType] = useState(PING);
  const [endpointId, setEndpointId] = useState('');
  const chosen = props.endpoints.find((e) => e.id === endpointId) ?? props.endpoints[0];
  const { submit: send, error, busy } = useSubmit(async () => {
    if (!chosen) return;
    const message = await post<{ id: string }>(`${appPath(props.appId)}/endpoint/${encodeURIComponent(chosen.id)}/send-example`, { eventType });
    props.onSent(`Test event ${message.id} (${eventType}) sent to ${props.fixed ? 'this endpoint' : chosen.url}.`, message.id);
  });
  return (
    <form class="card inline-form" onSubmit={send} data-testid="send-test-form">
      <h3>Send a test event</h3>
      <label>
        Event type
        <select name="eventType" value={eventType} onChange={(e) => setEventType((e.target as HTMLSelectElement).value)}>
          {choices.map((name) => (
            <option key={name} value={name}>
              {name === PING ? `${PING} (a ping, {"success": true})` : `${name} (its schema example)`}
            </option>
          ))}
        </select>
      </label>
      {!props.fixed && <EndpointSelect endpoints={props.endpoints} value={chosen?.id} onChange={setEndpointId} />}
      <button type="submit" disabled={!chosen || busy}>
        Send test event
      </button>
      <p class="fine">Goes to {props.fixed ? 'this endpoint' : 'the chosen endpoint'} only. Event types offered: svix.ping, and those whose schema has an example.</p>
      {error && <p class="error">{error}</p>}
    </form>
  );
}
