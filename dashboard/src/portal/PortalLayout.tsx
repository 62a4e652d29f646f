import type { ComponentChildren } from 'preact';
import { LiveIndicator } from '../components/Layout';
import { Link } from '../components/Link';
import type { Route } from '../router';
import type { PortalSession } from './session';

/**
 * The portal's frame for the SaaS's customer: their logo (or the application's name), three tabs and Log out.
 * Nothing of the operator's: no application list, API keys, sources or dead letters.
 */
export function PortalLayout(props: { route: Route; session: PortalSession; logo: string | undefined; onLogout: () => void; children: ComponentChildren }) {
  const { app, readOnly } = props.session;
  const page = props.route.page;
  const tab = (to: Route, label: string, active: boolean) => (
    <Link to={to} class={active ? 'tab active' : 'tab'} testId={`nav-${to.page}`}>
      {label}
    </Link>
  );
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
        <span class="spacer" />
        <LiveIndicator />
        <button type="button" class="ghost" data-testid="logout" onClick={props.onLogout}>
          Log out
        </button>
      </header>
      <nav class="tabs">
        {tab({ page: 'endpoints', appId: app.id }, 'Endpoints', page === 'endpoints' || page === 'endpoint')}
        {tab({ page: 'messages', appId: app.id }, 'Messages', page === 'messages' || page === 'message' || page === 'attempt')}
        {tab({ page: 'event-types' }, 'Event types', page === 'event-types')}
      </nav>
      <main>{props.children}</main>
    </div>
  );
}
