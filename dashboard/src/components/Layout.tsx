import type { ComponentChildren } from 'preact';
import { useAccess } from '../access';
import { useLiveState } from '../live';
import type { Route } from '../router';
import { Link, Tab } from './Link';

function LiveIndicator() {
  const { state, lastUpdate } = useLiveState();
  const label = state === 'live' ? 'Live' : state === 'paused' ? 'Paused' : state === 'error' ? 'Offline' : 'Connecting';
  const title = lastUpdate ? `Updated ${lastUpdate.toLocaleTimeString()} (every 2 s while this tab is visible)` : 'Polls the API every 2 s while this tab is visible';
  return (
    <span class={`live live-${state}`} data-testid="live-indicator" data-state={state} title={title}>
      <span class="live-dot" aria-hidden="true" />
      {label}
    </span>
  );
}

/** The header's right end: the live indicator and Log out. */
export function SessionControls(props: { onLogout: () => void }) {
  return (
    <>
      <span class="spacer" />
      <LiveIndicator />
      <button type="button" class="ghost" data-testid="logout" onClick={props.onLogout}>
        Log out
      </button>
    </>
  );
}

/** The page frame: header with navigation (inside an application), live indicator and logout. */
export function Layout(props: { route: Route; appName?: string | undefined; onLogout: () => void; children: ComponentChildren }) {
  const appId = 'appId' in props.route ? props.route.appId : null;
  const page = props.route.page;
  const access = useAccess();
  return (
    <div class="shell">
      <header class="top">
        <Link to={{ page: 'apps' }} class="brand">
          hookd
        </Link>
        <nav class="crumbs">
          <Link to={{ page: 'apps' }} testId="nav-apps">
            Applications
          </Link>
          {appId && (
            <>
              <span class="sep">/</span>
              <span class="app-name">{props.appName ?? appId}</span>
            </>
          )}
        </nav>
        <nav class="global">
          <Link to={{ page: 'event-types' }} testId="nav-event-types">
            Event types
          </Link>
          {access === 'admin' && (
            <Link to={{ page: 'api-keys' }} testId="nav-api-keys">
              API keys
            </Link>
          )}
        </nav>
        <SessionControls onLogout={props.onLogout} />
      </header>
      {appId && (
        <nav class="tabs">
          <Tab to={{ page: 'messages', appId }} label="Messages" active={page === 'messages' || page === 'message' || page === 'attempt'} />
          <Tab to={{ page: 'endpoints', appId }} label="Endpoints" active={page === 'endpoints' || page === 'endpoint'} />
          <Tab to={{ page: 'dead-letters', appId }} label="Dead letters" active={page === 'dead-letters'} />
          <Tab to={{ page: 'sources', appId }} label="Inbound sources" active={page === 'sources'} />
        </nav>
      )}
      <main>{props.children}</main>
    </div>
  );
}
