import { useState } from 'preact/hooks';
import { useCan } from '../access';
import { type Attempt, type Message, type MessageEndpoint, type Page, appPath, get, post, query } from '../api';
import { ConfirmButton } from '../components/Confirm';
import { CopyButton, CopyableId } from '../components/Copy';
import { Link } from '../components/Link';
import { StatusBadge, StatusCode } from '../components/Status';
import { excerpt, formatTime, relativeTime } from '../format';
import { usePoll } from '../live';

/** A message does not change once stored: it is read again rarely, its deliveries and attempts every poll. */
const MESSAGE_POLL_MS = 60_000;

interface Deliveries {
  endpoints: MessageEndpoint[];
  attempts: Attempt[];
}

/** One message: its payload, where it goes (with resend), and every attempt. Updates live. */
export function MessageDetail(props: { appId: string; msgId: string }) {
  const canResend = useCan('CreateAttempts');
  const base = appPath(props.appId);
  const msg = `${base}/msg/${encodeURIComponent(props.msgId)}`;
  const stored = usePoll(() => get<Message>(msg), [props.appId, props.msgId], MESSAGE_POLL_MS);
  const detail = usePoll(
    async (): Promise<Deliveries> => {
      const [endpoints, attempts] = await Promise.all([
        get<Page<MessageEndpoint>>(`${msg}/endpoint`),
        get<Page<Attempt>>(`${base}/attempt/msg/${encodeURIComponent(props.msgId)}${query({ limit: 250 })}`),
      ]);
      return { endpoints: endpoints.data, attempts: attempts.data };
    },
    [props.appId, props.msgId],
  );
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const resend = async (endpoint: MessageEndpoint) => {
    setError(null);
    try {
      await post(`${msg}/endpoint/${encodeURIComponent(endpoint.id)}/resend`);
      setNotice(`Resent to ${endpoint.url}.`);
      detail.refresh();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const message = stored.data;
  const data = detail.data;
  if (!message || !data) {
    return (
      <section>
        <p>
          <Link to={{ page: 'messages', appId: props.appId }}>← Messages</Link>
        </p>
        {stored.errorStatus === 404 ? (
          <p data-testid="not-found">
            No message with the id or eventId <span class="mono">{props.msgId}</span> in this application.
          </p>
        ) : stored.error || detail.error ? (
          <p class="error">{stored.error ?? detail.error}</p>
        ) : (
          <p class="muted">Loading…</p>
        )}
      </section>
    );
  }
  const { endpoints, attempts } = data;
  const urlOf = (id: string) => endpoints.find((e) => e.id === id)?.url ?? id;
  // A delivery's own counter restarts with every resend; the attempt list has them all.
  const attemptsTo = (id: string) => attempts.filter((a) => a.endpointId === id).length;
  return (
    <section data-testid="message-detail">
      <p>
        <Link to={{ page: 'messages', appId: props.appId }}>← Messages</Link>
      </p>
      <h2>
        Message <CopyableId value={message.id} testId="copy-msg-id" />
      </h2>
      <dl class="facts">
        <dt>Event type</dt>
        <dd class="mono">{message.eventType}</dd>
        <dt>Created</dt>
        <dd>
          {formatTime(message.timestamp)} <span class="muted">({relativeTime(message.timestamp)})</span>
        </dd>
        {message.eventId && (
          <>
            <dt>eventId</dt>
            <dd>
              <CopyableId value={message.eventId} />
            </dd>
          </>
        )}
        {message.channels && (
          <>
            <dt>Channels</dt>
            <dd>{message.channels.join(', ')}</dd>
          </>
        )}
        {message.tags && (
          <>
            <dt>Tags</dt>
            <dd>{message.tags.join(', ')}</dd>
          </>
        )}
      </dl>
      <h3>
        Payload <CopyButton text={JSON.stringify(message.payload, null, 2)} testId="copy-payload" />
      </h3>
      <pre class="payload" data-testid="payload">
        {JSON.stringify(message.payload, null, 2)}
      </pre>

      <h3>Deliveries</h3>
      {notice && <p class="notice">{notice}</p>}
      {(error || detail.error) && <p class="error">{error ?? detail.error}</p>}
      <div class="table-scroll">
        <table class="list" data-testid="deliveries-table">
          <thead>
            <tr>
              <th>Endpoint</th>
              <th>Status</th>
              <th>Attempts</th>
              <th>Next attempt</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {endpoints.map((e) => (
              <tr key={e.id} data-testid="delivery-row" data-status={e.statusText}>
                <td class="mono">
                  <Link to={{ page: 'endpoint', appId: props.appId, endpointId: e.id }}>{e.url}</Link>
                </td>
                <td>
                  <StatusBadge status={e.statusText} />
                </td>
                <td data-testid="delivery-attempts">{attemptsTo(e.id)}</td>
                <td>{e.nextAttempt ? relativeTime(e.nextAttempt) : '–'}</td>
                <td class="actions">
                  {!canResend ? null : e.statusText === 'success' ? (
                    <ConfirmButton
                      label="Resend"
                      testId="resend"
                      title="Resend a delivered message?"
                      detail={
                        <p>
                          <span class="mono">{e.url}</span> already received this message; it gets it again (the same webhook-id, so a receiver that
                          de-duplicates ignores it).
                        </p>
                      }
                      confirmLabel="Resend"
                      danger={false}
                      onConfirm={() => resend(e)}
                    />
                  ) : (
                    <button type="button" class="small-button" onClick={() => resend(e)} data-testid="resend">
                      Resend
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {endpoints.length === 0 && (
              <tr>
                <td colSpan={5} class="empty">
                  This message matched no endpoint.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>

      <h3>Attempts</h3>
      <div class="table-scroll">
        <table class="list attempts" data-testid="attempts-table">
          <thead>
            <tr>
              <th>Time</th>
              <th>Endpoint</th>
              <th>Result</th>
              <th>Status code</th>
              <th>Duration</th>
              <th>Trigger</th>
              <th>Response / error</th>
            </tr>
          </thead>
          <tbody>
            {attempts.map((a) => (
              <tr key={a.id} data-testid="attempt-row" data-status={a.statusText} data-status-code={a.responseStatusCode}>
                <td title={formatTime(a.timestamp)}>
                  <Link to={{ page: 'attempt', appId: props.appId, msgId: message.id, attemptId: a.id }} testId="attempt-link">
                    {relativeTime(a.timestamp)}
                  </Link>
                </td>
                <td class="mono small">
                  <Link to={{ page: 'endpoint', appId: props.appId, endpointId: a.endpointId }}>{urlOf(a.endpointId)}</Link>
                </td>
                <td>
                  <StatusBadge status={a.statusText} label={a.statusText === 'success' ? 'succeeded' : 'failed'} />
                </td>
                <td>
                  <StatusCode code={a.responseStatusCode} />
                </td>
                <td>{a.responseDurationMs} ms</td>
                <td>{a.triggerType === 1 ? 'manual' : 'scheduled'}</td>
                <td>
                  {a.error && <div class="error small">{a.error}</div>}
                  {a.response && <pre class="response">{excerpt(a.response)}</pre>}
                </td>
              </tr>
            ))}
            {attempts.length === 0 && (
              <tr>
                <td colSpan={7} class="empty">
                  No attempts yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
