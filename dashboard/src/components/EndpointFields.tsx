import { EventTypePicker } from './EventTypePicker';

/** What the fields edit: an endpoint's URL, description and event-type filter (none picked: every type). */
export interface EndpointFieldValues {
  url: string;
  description: string;
  types: string[];
}

/**
 * The fields the new-endpoint form and an endpoint's settings share: URL, description and event types. The form
 * keeps the values and says what to do with them.
 */
export function EndpointFields(props: { values: EndpointFieldValues; onChange: (values: EndpointFieldValues) => void; urlPlaceholder?: string }) {
  const { values, onChange } = props;
  return (
    <>
      <label>
        URL
        <input
          name="url"
          type="url"
          value={values.url}
          onInput={(e) => onChange({ ...values, url: (e.target as HTMLInputElement).value })}
          placeholder={props.urlPlaceholder}
          required
        />
      </label>
      <label>
        Description
        <input name="description" value={values.description} onInput={(e) => onChange({ ...values, description: (e.target as HTMLInputElement).value })} maxLength={4096} />
      </label>
      <div class="field">
        <span class="field-label">Event types (none picked: all)</span>
        <EventTypePicker name="filterTypes" value={values.types} onChange={(types) => onChange({ ...values, types })} />
      </div>
    </>
  );
}
