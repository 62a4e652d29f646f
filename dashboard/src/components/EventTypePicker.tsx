import { useEffect, useState } from 'preact/hooks';
import { type EventType, type Page, get, query } from '../api';

/** The event-type catalog (not archived), read once per page. */
export function useEventTypes(): EventType[] | undefined {
  const [types, setTypes] = useState<EventType[] | undefined>(undefined);
  useEffect(() => {
    get<Page<EventType>>(`/api/v1/event-type${query({ limit: 250 })}`).then(
      (page) => setTypes(page.data),
      () => setTypes([]),
    );
  }, []);
  return types;
}

/**
 * Picks event types from the catalog (checkboxes in a drop-down); none picked means all. Types already chosen
 * but no longer in the catalog (archived or deleted since) stay listed so they can be unticked.
 */
export function EventTypePicker(props: { name: string; value: string[]; onChange: (value: string[]) => void; emptyLabel?: string }) {
  const catalog = useEventTypes();
  const names = [...new Set([...(catalog ?? []).map((t) => t.name), ...props.value])].sort();
  const toggle = (name: string, on: boolean) => props.onChange(on ? [...props.value, name].sort() : props.value.filter((n) => n !== name));
  return (
    <details class="picker" data-testid={`picker-${props.name}`}>
      <summary>{props.value.length > 0 ? props.value.join(', ') : (props.emptyLabel ?? 'all event types')}</summary>
      <div class="picker-options">
        {names.map((name) => (
          <label key={name} class="check">
            <input type="checkbox" name={props.name} value={name} checked={props.value.includes(name)} onChange={(e) => toggle(name, (e.target as HTMLInputElement).checked)} />
            <span class="mono">{name}</span>
          </label>
        ))}
        {catalog && names.length === 0 && <p class="muted small">The event-type catalog is empty (Event types page).</p>}
      </div>
    </details>
  );
}
