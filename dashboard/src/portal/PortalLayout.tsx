import type { ComponentChildren } from 'preact';
import { SessionControls } from '../components/Layout';
import { Tab } from '../components/Link';
import type { Route } from '../router';
import type { PortalSession } from './session';

/**
 * The portal's frame for the SaaS's customer: their logo (or the application's name), three tabs and Log out.
 * Nothing of the operator's: no application list, API keys, sources or dead letters.
 */
export function PortalLayout(props: { route: Route; session: PortalSession; logo: string | undefined; onLogout: () => void; children: ComponentChildren }) {
  const { app, readOnly } = props.session;
  const page = props.route.page;
  return (
    <div class="shell portal">
      <header class="top portal-top">
        {props.logo ? <img class="portal-logo" src={props.logo} alt={app.name} data-testid="portal-logo" /> : null}
        <span class="portal-title" data-testid="portal-app-name">
          {app.name} <span class="muted">· Webhooks</span>
        </span>
        {readOnly && (
          <span class="badge badge-none" data-testid="read-only">
            read-only
          </span>
        )}
        <SessionControls onLogout={props.onLogout} />
      </header>
      <nav class="tabs">
        <Tab to={{ page: 'endpoints', appId: app.id }} label="Endpoints" active={page === 'endpoints' || page === 'endpoint'} />
        <Tab to={{ page: 'messages', appId: app.id }} label="Messages" active={page === 'messages' || page === 'message' || page === 'attempt'} />
        <Tab to={{ page: 'event-types' }} label="Event types" active={page === 'event-types'} />
      </nav>
      <main>{props.children}</main>
    </div>
  );
}
