import type { Endpoint } from '../api';

/** Picks one of an application's endpoints by URL. */
export function EndpointSelect(props: { endpoints: Pick<Endpoint, 'id' | 'url'>[]; value: string | undefined; onChange: (id: string) => void }) {
  return (
    <label>
      Endpoint
      <select name="endpoint" value={props.value} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}>
        {props.endpoints.map((e) => (
          <option key={e.id} value={e.id}>
            {e.url}
          </option>
        ))}
      </select>
    </label>
  );
}
