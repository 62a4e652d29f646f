import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureDashboardBuilt } from '../../scripts/dashboard-build.mjs';
import { NON_PAGE_CSP, PAGE_CSP, portalCsp } from '../../src/api/security-headers.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { ApiClient, startTestHookd, type TestHookd } from '../helpers/hookd.js';

/**
 * What hookd serves for the app portal: its pages under /portal (framable by HOOKD_PORTAL_FRAME_ANCESTORS only,
 * while everything else stays unframable), and the session a portal token reads to find out whose it is.
 */

const EMBEDDER = 'https://app.example.com http://127.0.0.1:9999';

test('HOOKD_PORTAL_FRAME_ANCESTORS is a CSP source list, checked source by source; default none', () => {
  const base = { HOOKD_SQLITE_PATH: '/tmp/hookd-config-test.db' };
  assert.equal(loadConfig(base).portalFrameAncestors, "'none'");
  assert.equal(loadConfig({ ...base, HOOKD_PORTAL_FRAME_ANCESTORS: '  ' }).portalFrameAncestors, "'none'");
  assert.equal(loadConfig({ ...base, HOOKD_PORTAL_FRAME_ANCESTORS: EMBEDDER }).portalFrameAncestors, EMBEDDER);
  assert.equal(
    loadConfig({ ...base, HOOKD_PORTAL_FRAME_ANCESTORS: "'self'  https://*.example.com:443 https: http://[::1]:8080" }).portalFrameAncestors,
    "'self' https://*.example.com:443 https: http://[::1]:8080",
  );
  for (const bad of ["https://a.example.com; script-src *", "'none' https://a.example.com", "'unsafe-inline'", 'https://a.example.com/path', 'javascript:', 'https://a.example.com,https://b.example.com', '*']) {
    assert.throws(
      () => loadConfig({ ...base, HOOKD_PORTAL_FRAME_ANCESTORS: bad }),
      (error: unknown) => error instanceof ConfigError && /^HOOKD_PORTAL_FRAME_ANCESTORS/.test((error as Error).message),
      bad,
    );
  }
});

describe('portal pages and headers', () => {
  let hookd: TestHookd & { cleanup: () => Promise<void> };
  /** hookd's clock runs this far ahead of the real one (tokens last an hour at least: expiry is reached by moving it). */
  let aheadMs = 0;
  before(async () => {
    ensureDashboardBuilt();
    hookd = await startTestHookd({ env: { HOOKD_PORTAL_FRAME_ANCESTORS: EMBEDDER }, clock: () => Date.now() + aheadMs });
  });
  after(async () => hookd.cleanup());

  const get = (path: string) => fetch(`${hookd.url}${path}`);

  test('every /portal path is the portal page, framable by the configured ancestors only, without X-Frame-Options', async () => {
    for (const path of ['/portal', '/portal/', '/portal/app/app_x/endpoints', '/portal/signed-out']) {
      const response = await get(path);
      assert.equal(response.status, 200, path);
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/, path);
      const body = await response.text();
      assert.match(body, /<title>[^<]*portal/i, `${path} is the portal page, not the dashboard`);
      assert.equal(response.headers.get('content-security-policy'), portalCsp(EMBEDDER), path);
      assert.match(response.headers.get('content-security-policy')!, /frame-ancestors https:\/\/app\.example\.com http:\/\/127\.0\.0\.1:9999$/);
      assert.match(response.headers.get('content-security-policy')!, /script-src 'self';/, 'still same-origin scripts only');
      assert.equal(response.headers.get('x-frame-options'), null, `${path}: X-Frame-Options cannot name an origin, so portal pages send none`);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(response.headers.get('cache-control'), 'no-cache');
    }
  });

  test('everything else keeps DENY and frame-ancestors none: dashboard pages, the portal page under /dashboard, assets, API, docs', async () => {
    const portalPage = await (await get('/portal/')).text();
    const script = /src="([^"]+\.js)"/.exec(portalPage)?.[1];
    assert.ok(script, 'the portal page loads a bundled script');
    for (const path of ['/dashboard/', '/dashboard/app/x/endpoints', '/dashboard/portal.html', script, '/api/v1/health', '/api/v1/app', '/openapi.json', '/portalx', '/nowhere']) {
      const response = await get(path);
      assert.equal(response.headers.get('x-frame-options'), 'DENY', path);
      const csp = response.headers.get('content-security-policy');
      assert.ok(csp === PAGE_CSP || csp === NON_PAGE_CSP, `${path}: ${csp}`);
      assert.match(csp!, /frame-ancestors 'none'$/, path);
    }
    assert.doesNotMatch(await (await get('/dashboard/portal.html')).text(), /<title>[^<]*portal/i, 'the portal page is never served as a dashboard page');
  });

  test('a portal token reads its session: its application, read-only or not, expiry, and the theme from the metadata', async () => {
    const app = (await hookd.api.post('/api/v1/app', { name: 'Acme', uid: 'acme', metadata: { 'portal.accent': '#0a7d32', 'portal.theme': 'dark', unrelated: 'x' } })).body;
    const access = await hookd.api.post(`/api/v1/auth/app-portal-access/${app.id}`, { expiry: 3600 });
    assert.equal(access.status, 200);
    assert.match(access.body.url, new RegExp(`^${hookd.url}/portal/#token=`));
    const portal = new ApiClient(hookd.url, access.body.token);
    const session = await portal.get('/api/v1/auth/app-portal-session');
    assert.equal(session.status, 200);
    assert.deepEqual(session.body.app, { id: app.id, uid: 'acme', name: 'Acme' });
    assert.equal(session.body.readOnly, false);
    const expiresIn = Date.parse(session.body.expiresAt) - Date.now();
    assert.ok(expiresIn > 3500_000 && expiresIn <= 3600_000, `expires in an hour (${expiresIn} ms)`);
    assert.deepEqual(session.body.theme, { accent: '#0a7d32', theme: 'dark' });

    const readOnly = new ApiClient(hookd.url, (await hookd.api.post(`/api/v1/auth/app-portal-access/${app.id}`, { readOnly: true })).body.token);
    assert.equal((await readOnly.get('/api/v1/auth/app-portal-session')).body.readOnly, true);
    assert.equal((await hookd.api.get('/api/v1/auth/app-portal-session')).status, 403, 'an admin key belongs to no application');
    assert.equal((await new ApiClient(hookd.url, 'hookd_nonsense').get('/api/v1/auth/app-portal-session')).status, 401);
  });

  test('a portal token reads the event-type catalog but cannot change it, nor reach another application', async () => {
    await hookd.api.post('/api/v1/event-type', { name: 'invoice.paid', description: 'An invoice was paid', schemas: { '1': { type: 'object', examples: [{ invoice: 'inv_1' }] } } });
    const mine = (await hookd.api.post('/api/v1/app', { name: 'Mine' })).body.id as string;
    const other = (await hookd.api.post('/api/v1/app', { name: 'Other' })).body.id as string;
    const portal = new ApiClient(hookd.url, (await hookd.api.post(`/api/v1/auth/app-portal-access/${mine}`, {})).body.token);
    const catalog = await portal.get('/api/v1/event-type');
    assert.equal(catalog.status, 200);
    assert.ok(catalog.body.data.some((t: { name: string }) => t.name === 'invoice.paid'));
    assert.equal((await portal.post('/api/v1/event-type', { name: 'mine.only', description: 'x' })).status, 403);
    assert.equal((await portal.get(`/api/v1/app/${mine}/endpoint`)).status, 200);
    for (const path of [`/api/v1/app/${other}`, `/api/v1/app/${other}/endpoint`, `/api/v1/app/${other}/msg`, `/api/v1/app/${other}/endpoint-health`]) {
      assert.equal((await portal.get(path)).status, 404, path);
    }
    assert.deepEqual((await portal.get('/api/v1/app')).body.data.map((a: { id: string }) => a.id), [mine], 'the application list holds its own only');
    assert.equal((await portal.get('/api/v1/api-key')).status, 403, 'no API keys');
  });

  test('after logout, and after expiry, the session is refused (401)', async () => {
    const app = (await hookd.api.post('/api/v1/app', { name: 'Brief' })).body.id as string;
    const portal = new ApiClient(hookd.url, (await hookd.api.post(`/api/v1/auth/app-portal-access/${app}`, {})).body.token);
    assert.equal((await portal.post('/api/v1/auth/logout')).status, 204);
    assert.equal((await portal.get('/api/v1/auth/app-portal-session')).status, 401);
    const brief = new ApiClient(hookd.url, (await hookd.api.post(`/api/v1/auth/app-portal-access/${app}`, { expiry: 3600 })).body.token);
    assert.equal((await brief.get('/api/v1/auth/app-portal-session')).status, 200);
    aheadMs = 3600_000 + 1000;
    const refused = await brief.get('/api/v1/auth/app-portal-session');
    assert.equal(refused.status, 401);
    assert.match(refused.body.detail, /expired/);
    assert.equal((await brief.get(`/api/v1/app/${app}/endpoint`)).status, 401);
  });
});
