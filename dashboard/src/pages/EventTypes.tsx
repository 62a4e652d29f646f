import { useState } from 'preact/hooks';
import { useAccess, useCan } from '../access';
import { type Endpoint, type EventType, type Page, appPath, del, get, patch, post, query } from '../api';
import { ConfirmButton } from '../components/Confirm';
import { Link } from '../components/Link';
import { SendExample, exampleOf } from '../components/SendExample';
import { formatTime } from '../format';
import { usePoll } from '../live';
import { useSubmit } from '../submit';

/**
 * The event-type catalog (shared by every application): list with descriptions and example payloads, and for
 * admin keys create, archive, restore and delete an archived one. Archiving keeps the name (messages of that type
 * are still accepted); it only leaves the pickers. Within one application (the app portal: `appId`), the
 * archived ones are left out and an example can be sent to one of its endpoints.
 */
export function EventTypes(props: { appId?: string }) {
  const access = useAccess();
  const canSend = useCan('CreateAttempts');
  const types = usePoll(() => get<Page<EventType>>(`/api/v1/event-type${query({ limit: 250, include_archived: props.appId === undefined })}`), [], 5000);
  const [error, setError] = useState<string | null>(null);
  const run = async (what: () => Promise<unknown>) => {
    setError(null);
    try {
      await what();
      types.refresh();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const path = (name: string) => `/api/v1/event-type/${encodeURIComponent(name)}`;
  const rows = types.data?.data ?? [];
  return (
    <section>
      <h2>Event types</h2>
      <p class="muted">The catalog endpoints subscribe to and messages are filtered by.</p>
      {(error || types.error) && <p class="error">{error ?? types.error}</p>}
      <div class="table-scroll">
        <table class="list" data-testid="event-types-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Description</th>
              <th>State</th>
              <th>Created</th>
              {access === 'admin' && <th />}
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.name} data-testid="event-type-row" data-name={t.name} data-archived={String(t.archived)}>
                <td class="mono">{t.name}</td>
                <td>
                  {t.description}
                  <Example type={t} />
                </td>
                <td>{t.archived ? <span class="muted">archived</span> : t.deprecated ? <span class="muted">deprecated</span> : 'active'}</td>
                <td>{formatTime(t.createdAt)}</td>
                {access === 'admin' && (
                  <td class="actions">
                    {t.archived ? (
                      <>
                        <button type="button" class="small-button ghost" onClick={() => run(() => patch(path(t.name), { archived: false }))} data-testid="restore-event-type">
                          Restore
                        </button>
                        <ConfirmButton
                          label="Delete"
                          testId="delete-event-type"
                          title={`Delete ${t.name} for good?`}
                          detail={<p>The name leaves the catalog; messages of that type already stored stay, and endpoints filtering on it keep the filter. This cannot be undone.</p>}
                          confirmLabel="Delete"
                          onConfirm={() => run(() => del(`${path(t.name)}${query({ expunge: true })}`))}
                        />
                      </>
                    ) : (
                      <ConfirmButton
                        label="Archive"
                        testId="archive-event-type"
                        title={`Archive ${t.name}?`}
                        detail={<p>It leaves the pickers; endpoints subscribed to it keep receiving it, and it can be restored.</p>}
                        confirmLabel="Archive"
                        onConfirm={() => run(() => del(path(t.name)))}
                      />
                    )}
                  </td>
                )}
              </tr>
            ))}
            {types.data && rows.length === 0 && (
              <tr>
                <td colSpan={5} class="empty">
                  No event types yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {access === 'admin' && <CreateEventType onCreated={types.refresh} />}
      {props.appId !== undefined && canSend && <SendToEndpoint appId={props.appId} />}
    </section>
  );
}

/** An event type's example payload, folded away. */
function Example(props: { type: EventType }) {
  const example = exampleOf(props.type);
  if (example === undefined) return null;
  return (
    <details class="example" data-testid="event-type-example">
      <summary class="small">Example payload</summary>
      <pre class="payload">{JSON.stringify(example, null, 2)}</pre>
    </details>
  );
}

/** Sends an event type's example (or a ping) to one of the application's endpoints; links to the message. */
function SendToEndpoint(props: { appId: string }) {
  const endpoints = usePoll(() => get<Page<Endpoint>>(`${appPath(props.appId)}/endpoint${query({ limit: 250 })}`), [props.appId], 15000);
  const [sent, setSent] = useState<{ text: string; msgId: string } | null>(null);
  const list = endpoints.data?.data ?? [];
  if (endpoints.data && list.length === 0) return <p class="muted">Add an endpoint to send it an example.</p>;
  return (
    <>
      <SendExample appId={props.appId} endpoints={list} onSent={(text, msgId) => setSent({ text, msgId })} />
      {sent && (
        <p class="notice" data-testid="example-sent">
          {sent.text} <Link to={{ page: 'message', appId: props.appId, msgId: sent.msgId }}>See the message</Link>
        </p>
      )}
    </>
  );
}

function CreateEventType(props: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const { submit, error, busy } = useSubmit(async () => {
    await post('/api/v1/event-type', { name: name.trim(), description });
    setName('');
    setDescription('');
    props.onCreated();
  });
  return (
    <form class="card inline-form" onSubmit={submit} data-testid="create-event-type-form">
      <h3>New event type</h3>
      <label>
        Name
        <input name="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} required maxLength={256} pattern="[a-zA-Z0-9\-_.]+" placeholder="invoice.paid" />
      </label>
      <label>
        Description
        <input name="description" value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} maxLength={4096} />
      </label>
      <button type="submit" disabled={busy}>Create</button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
