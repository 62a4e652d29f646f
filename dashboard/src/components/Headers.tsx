/** A request's or response's headers as a two-column list, names in order; `null` (not recorded) says so. */
export function HeadersTable(props: { headers: Record<string, string> | undefined; empty: string; testId: string }) {
  const entries = Object.entries(props.headers ?? {});
  if (entries.length === 0) {
    return (
      <p class="muted" data-testid={props.testId}>
        {props.empty}
      </p>
    );
  }
  return (
    <dl class="facts headers" data-testid={props.testId}>
      {entries.map(([name, value]) => (
        <>
          <dt class="mono">{name}</dt>
          <dd class="mono">{value}</dd>
        </>
      ))}
    </dl>
  );
}
