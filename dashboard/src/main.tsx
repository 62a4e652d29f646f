import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type Application, appPath, get, setUnauthorizedListener } from './api';
import { Layout } from './components/Layout';
import { Link } from './components/Link';
import { ApiKeys } from './pages/ApiKeys';
import { Apps } from './pages/Apps';
import { appPage } from './pages/app-pages';
import { DeadLetters } from './pages/DeadLetters';
import { EventTypes } from './pages/EventTypes';
import { Login } from './pages/Login';
import { Sources } from './pages/Sources';
import { navigate, useRoute } from './router';
import { clearToken, getToken } from './session';
import './styles.css';

function App() {
  const route = useRoute();
  const [loggedIn, setLoggedIn] = useState(() => getToken() !== null);
  const [notice, setNotice] = useState<string | null>(null);
  const [appName, setAppName] = useState<{ id: string; name: string } | null>(null);
  const appId = 'appId' in route ? route.appId : null;

  useEffect(() => {
    setUnauthorizedListener(() => {
      setLoggedIn(false);
      setNotice('Your token is no longer accepted: log in again.');
    });
  }, []);

  useEffect(() => {
    if (!loggedIn && route.page !== 'login') navigate({ page: 'login' }, true);
    if (loggedIn && route.page === 'login') navigate({ page: 'apps' }, true);
  }, [loggedIn, route.page]);

  useEffect(() => {
    if (!loggedIn || !appId || appName?.id === appId) return;
    get<Application>(appPath(appId))
      .then((app) => setAppName({ id: appId, name: app.name }))
      .catch(() => setAppName(null));
  }, [loggedIn, appId]);

  if (!loggedIn || route.page === 'login') {
    return (
      <Login
        notice={notice}
        onLoggedIn={() => {
          setNotice(null);
          setLoggedIn(true);
          navigate({ page: 'apps' }, true);
        }}
      />
    );
  }

  const logout = () => {
    clearToken();
    setLoggedIn(false);
    setNotice('Logged out.');
    navigate({ page: 'login' });
  };

  let page;
  switch (route.page) {
    case 'apps':
      page = <Apps />;
      break;
    case 'endpoints':
    case 'messages':
    case 'message':
    case 'endpoint':
    case 'attempt':
      page = appPage(route);
      break;
    case 'dead-letters':
      page = <DeadLetters key={route.appId} appId={route.appId} />;
      break;
    case 'sources':
      page = <Sources key={route.appId} appId={route.appId} />;
      break;
    case 'event-types':
      page = <EventTypes />;
      break;
    case 'api-keys':
      page = <ApiKeys />;
      break;
    default:
      page = (
        <section>
          <h2>Not found</h2>
          <p>
            <Link to={{ page: 'apps' }}>Back to the applications</Link>
          </p>
        </section>
      );
  }
  return (
    <Layout route={route} appName={appName?.id === appId ? appName.name : undefined} onLogout={logout}>
      {page}
    </Layout>
  );
}

render(<App />, document.getElementById('root')!);
