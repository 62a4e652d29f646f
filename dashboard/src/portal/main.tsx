import { type ComponentChildren, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { knownAccess } from '../access';
import { post, setUnauthorizedListener } from '../api';
import { Link } from '../components/Link';
import { EventTypes } from '../pages/EventTypes';
import { appPage } from '../pages/app-pages';
import { configureRouter, navigate, useRoute } from '../router';
import { clearToken, getToken, setTokenKey } from '../session';
import '../styles.css';
import { PortalLayout } from './PortalLayout';
import { type PortalSession, linkTheme, loadSession, takeLinkFragment } from './session';
import { applyTheme, themeOf } from './theme';

/**
 * The app portal: what a SaaS's customer sees of their own application, opened from the link POST
 * /api/v1/auth/app-portal-access answers (often inside the SaaS's page, in an iframe). The token is the
 * session: it scopes every call to the one application, and a read-only token shows no write control.
 */
configureRouter({ base: '/portal', pages: ['apps', 'endpoints', 'endpoint', 'messages', 'message', 'attempt', 'event-types'] });
setTokenKey('hookd.portal.token');
takeLinkFragment();
applyTheme(themeOf(linkTheme()));

type State = { kind: 'loading' } | { kind: 'ready'; session: PortalSession } | { kind: 'ended'; reason: 'expired' | 'signed-out' | 'refused' } | { kind: 'error'; message: string };

function Portal() {
  const route = useRoute();
  const [state, setState] = useState<State>(() => (getToken() ? { kind: 'loading' } : { kind: 'ended', reason: 'signed-out' }));

  const start = () => {
    setState({ kind: 'loading' });
    void loadSession().then((result) => {
      if (result.kind === 'ok') {
        const { session } = result;
        knownAccess(getToken() ?? '', session.readOnly ? 'read-only' : 'scoped', session.capabilities);
        applyTheme(themeOf(session.theme, linkTheme()));
        setState({ kind: 'ready', session });
      } else if (result.kind === 'refused') {
        clearToken();
        setState({ kind: 'ended', reason: result.expired ? 'expired' : 'refused' });
      } else {
        setState({ kind: 'error', message: result.message });
      }
    });
  };

  useEffect(() => {
    // A token refused while the portal is open (it expired, or was ended elsewhere).
    setUnauthorizedListener(() => setState({ kind: 'ended', reason: 'expired' }));
    if (getToken()) start();
  }, []);

  const ready = state.kind === 'ready' ? state.session : null;
  useEffect(() => {
    if (ready && route.page === 'apps') navigate({ page: 'endpoints', appId: ready.app.id }, true);
  }, [ready, route.page]);

  if (state.kind === 'ended') return <Ended reason={state.reason} />;
  if (state.kind === 'error') {
    return (
      <Center testId="portal-error">
        <h1>The portal could not load</h1>
        <p class="error">{state.message}</p>
        <button type="button" onClick={start}>
          Try again
        </button>
      </Center>
    );
  }
  if (!ready) return <Center testId="portal-loading">Loading…</Center>;

  const logout = async () => {
    try {
      await post('/api/v1/auth/logout');
    } catch {
      // Refused already (expired or ended): signed out either way.
    }
    clearToken();
    setState({ kind: 'ended', reason: 'signed-out' });
  };
  const theme = themeOf(ready.theme, linkTheme());
  const ownApp = (appId: string) => appId === ready.app.id || appId === ready.app.uid;

  let page;
  if ('appId' in route && !ownApp(route.appId)) {
    page = <NotHere session={ready} />;
  } else {
    switch (route.page) {
      case 'endpoints':
      case 'endpoint':
      case 'messages':
      case 'message':
      case 'attempt':
        page = appPage(route);
        break;
      case 'event-types':
        page = <EventTypes appId={ready.app.id} />;
        break;
      case 'apps':
        page = null;
        break;
      default:
        page = <NotHere session={ready} />;
    }
  }
  return (
    <PortalLayout route={route} session={ready} logo={theme.logo} onLogout={logout}>
      {page}
    </PortalLayout>
  );
}

/** A page of another application, or no page at all: nothing of it is shown (nor asked for). */
function NotHere(props: { session: PortalSession }) {
  return (
    <section data-testid="portal-not-found">
      <h2>Not found</h2>
      <p>This portal shows the webhooks of {props.session.app.name} only.</p>
      <p>
        <Link to={{ page: 'endpoints', appId: props.session.app.id }}>Back to the endpoints</Link>
      </p>
    </section>
  );
}

const ENDED = {
  expired: { title: 'This link has expired', text: 'Links to this portal work for a limited time.' },
  'signed-out': { title: 'You are signed out', text: 'You left the portal with Log out, or it was opened without a link.' },
  refused: { title: 'This link is not valid', text: 'It was ended, or it is not a link to a webhooks portal.' },
} as const;

/** After logout, expiry or a refused link: what happened and what to do; nothing else is reachable. */
function Ended(props: { reason: keyof typeof ENDED }) {
  const { title, text } = ENDED[props.reason];
  return (
    <Center testId="portal-ended" reason={props.reason}>
      <h1>{title}</h1>
      <p>{text}</p>
      <p>To see your webhooks again, ask the service that gave you this link for a new one (open its webhooks settings again).</p>
    </Center>
  );
}

function Center(props: { testId: string; reason?: string; children: ComponentChildren }) {
  return (
    <div class="login">
      <div class="card login-card" data-testid={props.testId} data-reason={props.reason}>
        {props.children}
      </div>
    </div>
  );
}

render(<Portal />, document.getElementById('root')!);
