import { type Attempt, type Message, appPath, get } from '../api';
import { CopyButton, CopyableId } from '../components/Copy';
import { Link } from '../components/Link';
import { StatusBadge, StatusCode } from '../components/Status';
import { formatTime, relativeTime } from '../format';
import { usePoll } from '../live';

/** An attempt never changes once recorded: read it (and the message it sent) once a minute at most. */
const ATTEMPT_POLL_MS = 60_000;

/** Pretty-prints a JSON body; anything else is shown as received. */
function pretty(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

/** Headers as `name: value` lines, sorted by name. */
function HeaderBlock(props: { headers: Record<string, string>; testId: string }) {
  const lines = Object.entries(props.headers)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n');
  return (
    <pre class="payload" data-testid={props.testId}>
      {lines || '(none)'}
    </pre>
  );
}

/**
 * One delivery attempt: what was sent (headers when recorded, the message body) and what came back (status,
 * duration, headers when recorded, response body or error).
 */
export function AttemptDetail(props: { appId: string; msgId: string; attemptId: string }) {
  const msg = `${appPath(props.appId)}/msg/${encodeURIComponent(props.msgId)}`;
  const loaded = usePoll(
    async () => {
      const [attempt, message] = await Promise.all([get<Attempt>(`${msg}/attempt/${encodeURIComponent(props.attemptId)}`), get<Message>(msg)]);
      return { attempt, message };
    },
    [props.appId, props.msgId, props.attemptId],
    ATTEMPT_POLL_MS,
  );
  const back = (
    <p>
      <Link to={{ page: 'message', appId: props.appId, msgId: props.msgId }}>← Message</Link>
    </p>
  );
  if (!loaded.data) {
    return (
      <section>
        {back}
        {loaded.errorStatus === 404 ? <p data-testid="not-found">No such attempt of this message.</p> : loaded.error ? <p class="error">{loaded.error}</p> : <p class="muted">Loading…</p>}
      </section>
    );
  }
  const { attempt, message } = loaded.data;
  const requestBody = JSON.stringify(message.payload, null, 2);
  return (
    <section data-testid="attempt-detail">
      {back}
      <h2>
        Attempt <CopyableId value={attempt.id} testId="copy-attempt-id" />
      </h2>
      <dl class="facts">
        <dt>Result</dt>
        <dd>
          <StatusBadge status={attempt.statusText} label={attempt.statusText === 'success' ? 'succeeded' : 'failed'} /> <StatusCode code={attempt.responseStatusCode} />
        </dd>
        <dt>Time</dt>
        <dd>
          {formatTime(attempt.timestamp)} <span class="muted">({relativeTime(attempt.timestamp)})</span>
        </dd>
        <dt>Duration</dt>
        <dd>{attempt.responseDurationMs} ms</dd>
        <dt>Trigger</dt>
        <dd>{attempt.triggerType === 1 ? 'manual (resend or recover)' : 'scheduled'}</dd>
        <dt>URL</dt>
        <dd class="mono">{attempt.url}</dd>
        <dt>Endpoint</dt>
        <dd>
          <Link to={{ page: 'endpoint', appId: props.appId, endpointId: attempt.endpointId }} class="mono">
            {attempt.endpointId}
          </Link>{' '}
          <CopyButton text={attempt.endpointId} testId="copy-endpoint-id" />
        </dd>
        <dt>Message</dt>
        <dd>
          <CopyableId value={attempt.msgId} testId="copy-msg-id" /> <span class="mono muted">{message.eventType}</span>
        </dd>
        {attempt.error && (
          <>
            <dt>Error</dt>
            <dd class="error-text" data-testid="attempt-error">
              {attempt.error}
            </dd>
          </>
        )}
      </dl>
      {attempt.requestHeaders && (
        <>
          <h3>Request headers</h3>
          <HeaderBlock headers={attempt.requestHeaders} testId="request-headers" />
        </>
      )}
      <h3>
        Request body <CopyButton text={requestBody} testId="copy-request-body" />
      </h3>
      <pre class="payload" data-testid="request-body">
        {requestBody}
      </pre>
      {attempt.responseHeaders && (
        <>
          <h3>Response headers</h3>
          <HeaderBlock headers={attempt.responseHeaders} testId="response-headers" />
        </>
      )}
      <h3>
        Response body <CopyButton text={attempt.response} testId="copy-response-body" />
      </h3>
      <pre class="payload" data-testid="response-body">
        {attempt.response ? pretty(attempt.response) : '(empty)'}
      </pre>
      {attempt.requestHeaders || attempt.responseHeaders ? (
        <p class="fine">The response body is kept up to 20 KB.</p>
      ) : (
        <p class="fine" data-testid="headers-note">
          Headers: for this attempt hookd records neither the request headers it sent (webhook-id, webhook-timestamp, webhook-signature, the endpoint's
          custom headers) nor the response headers, so they cannot be shown. The response body is kept up to 20 KB.
        </p>
      )}
    </section>
  );
}
