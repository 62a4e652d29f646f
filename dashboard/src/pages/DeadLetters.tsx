import { useState } from 'preact/hooks';
import { type Delivery, type Endpoint, type Page, appPath, get, post, query } from '../api';
import { ConfirmButton } from '../components/Confirm';
import { Link } from '../components/Link';
import { Pager } from '../components/Pager';
import { Recover } from '../components/Recover';
import { StatusCode } from '../components/Status';
import { formatTime, relativeTime } from '../format';
import { usePoll } from '../live';
import { useSearch } from '../router';

const PAGE_SIZE = 100;

/** Endpoint URLs change rarely: the list behind them is read less often than the dead letters. */
const ENDPOINTS_POLL_MS = 15_000;

/** Failed deliveries (retries exhausted): resend one or a selection, or recover an endpoint's failures since a time. */
export function DeadLetters(props: { appId: string }) {
  const base = appPath(props.appId);
  const iterator = new URLSearchParams(useSearch()).get('iterator') ?? undefined;
  const dead = usePoll(() => get<Page<Delivery>>(`${base}/delivery${query({ status: 2, limit: PAGE_SIZE, iterator })}`), [props.appId, iterator]);
  const endpointList = usePoll(() => get<Page<Endpoint>>(`${base}/endpoint${query({ limit: 250 })}`), [props.appId], ENDPOINTS_POLL_MS);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [resending, setResending] = useState<Set<string>>(new Set());
  const [selected, setSelected] = useState<Set<string>>(new Set());

  const resendOne = (d: Delivery) => post(`${base}/msg/${encodeURIComponent(d.msgId)}/endpoint/${encodeURIComponent(d.endpointId)}/resend`);

  /** Resends each delivery in turn; says how many went and why the first failure failed. */
  const resend = async (deliveries: Delivery[]) => {
    setError(null);
    const ids = deliveries.map((d) => d.id);
    setResending((s) => new Set([...s, ...ids]));
    let sent = 0;
    let failure: string | null = null;
    for (const d of deliveries) {
      try {
        await resendOne(d);
        sent += 1;
      } catch (e) {
        failure ??= `${d.msgId}: ${(e as Error).message}`;
      }
    }
    setNotice(deliveries.length === 1 && sent === 1 ? `Message ${deliveries[0]!.msgId} scheduled again.` : `${sent} of ${deliveries.length} deliveries scheduled again.`);
    if (failure) setError(`Not resent: ${failure}`);
    setResending((s) => new Set([...s].filter((id) => !ids.includes(id))));
    setSelected(new Set());
    dead.refresh();
  };

  const endpoints = endpointList.data?.data ?? [];
  const urlOf = (id: string) => endpoints.find((e) => e.id === id)?.url ?? id;
  const rows = dead.data?.data ?? [];
  const chosen = rows.filter((d) => selected.has(d.id));
  const toggle = (id: string, on: boolean) =>
    setSelected((s) => {
      const next = new Set(s);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const allSelected = rows.length > 0 && chosen.length === rows.length;
  return (
    <section>
      <h2>Dead letters</h2>
      <p class="muted">Deliveries whose retries are exhausted. Resend one, or recover everything an endpoint failed since a time.</p>
      {notice && (
        <p class="notice" data-testid="dead-letters-notice">
          {notice}
        </p>
      )}
      {(error || dead.error) && <p class="error">{error ?? dead.error}</p>}
      <div class="bulk-bar">
        <ConfirmButton
          label={`Resend selected (${chosen.length})`}
          testId="bulk-resend"
          disabled={chosen.length === 0}
          title={`Resend ${chosen.length} deliver${chosen.length === 1 ? 'y' : 'ies'}?`}
          detail={<p>Each selected message is scheduled again now for its endpoint, as a manual attempt, and follows the retry schedule if it fails again.</p>}
          confirmLabel="Resend"
          danger={false}
          onConfirm={() => resend(chosen)}
        />
      </div>
      <div class="table-scroll">
        <table class="list" data-testid="dead-letters-table">
          <thead>
            <tr>
              <th>
                <input type="checkbox" aria-label="Select all" data-testid="select-all" checked={allSelected} onChange={(e) => setSelected(new Set((e.target as HTMLInputElement).checked ? rows.map((d) => d.id) : []))} />
              </th>
              <th>Message time</th>
              <th>Message</th>
              <th>Endpoint</th>
              <th>Attempts</th>
              <th>Last status</th>
              <th>Last error</th>
              <th>Failed</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr key={d.id} data-testid="dead-letter-row" data-msg-id={d.msgId} data-endpoint-id={d.endpointId}>
                <td>
                  <input type="checkbox" aria-label={`Select ${d.msgId}`} data-testid="select" checked={selected.has(d.id)} onChange={(e) => toggle(d.id, (e.target as HTMLInputElement).checked)} />
                </td>
                <td title={formatTime(d.msgTimestamp)}>{relativeTime(d.msgTimestamp)}</td>
                <td>
                  <Link to={{ page: 'message', appId: props.appId, msgId: d.msgId }} class="mono small">
                    {d.msgId}
                  </Link>
                  <div class="small mono muted">{d.eventType}</div>
                </td>
                <td class="mono small">
                  <Link to={{ page: 'endpoint', appId: props.appId, endpointId: d.endpointId }}>{urlOf(d.endpointId)}</Link>
                </td>
                <td>{d.attempts}</td>
                <td>
                  <StatusCode code={d.lastStatusCode} />
                </td>
                <td class="small error-text">{d.lastError ?? '–'}</td>
                <td title={formatTime(d.updatedAt)}>{relativeTime(d.updatedAt)}</td>
                <td class="actions">
                  <button type="button" class="small-button" disabled={resending.has(d.id)} onClick={() => resend([d])} data-testid="resend">
                    Resend
                  </button>
                </td>
              </tr>
            ))}
            {dead.data && rows.length === 0 && (
              <tr>
                <td colSpan={9} class="empty" data-testid="no-dead-letters">
                  No failed deliveries.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager page={dead.data} iterator={iterator} params={{}} />
      <Recover appId={props.appId} endpoints={endpoints} suggested={rows[0]?.endpointId} onDone={(n) => (setNotice(`${n} failed deliver${n === 1 ? 'y' : 'ies'} scheduled again.`), dead.refresh())} />
    </section>
  );
}
