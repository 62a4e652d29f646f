import type { StatusText } from '../api';

const LABELS: Record<StatusText, string> = { success: 'delivered', pending: 'pending', sending: 'sending', fail: 'failed', none: 'no endpoint' };

/** A coloured status badge; `data-status` lets tests and styles read it. */
export function StatusBadge(props: { status: StatusText | string; label?: string }) {
  const status = props.status as StatusText;
  return (
    <span class={`badge badge-${status}`} data-status={status}>
      {props.label ?? LABELS[status] ?? status}
    </span>
  );
}

/** An HTTP status code, coloured by class; 0 means no response. */
export function StatusCode(props: { code: number | undefined }) {
  if (props.code === undefined) return <span class="muted">–</span>;
  const kind = props.code >= 200 && props.code < 300 ? 'success' : 'fail';
  return <span class={`code code-${kind}`}>{props.code === 0 ? 'no response' : props.code}</span>;
}
