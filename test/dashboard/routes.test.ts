import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { PAGE_CSP, installSecurityHeaders } from '../../src/api/security-headers.js';
import { dashboardRoutes } from '../../src/dashboard/routes.js';
import { tempDir } from '../helpers/hookd.js';

/** Serving the built dashboard: caching, client-side routes, and a clear answer when it was never built. */
describe('dashboard file serving', () => {
  const temp = tempDir('hookd-dashboard-');
  const root = join(temp.dir, 'ui');
  let app: FastifyInstance;

  before(async () => {
    app = Fastify();
    installSecurityHeaders(app);
    await app.register(dashboardRoutes, { root });
    await app.ready();
  });
  after(async () => {
    await app.close();
    temp.cleanup();
  });

  test('without a built bundle, /dashboard answers 503 JSON telling to run npm run build; nothing crashes', async () => {
    for (const url of ['/dashboard', '/dashboard/app/x/messages', '/dashboard/assets/index.js']) {
      const response = await app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 503, url);
      assert.match(response.headers['content-type'] as string, /^application\/json/);
      assert.equal(response.json().code, 'dashboard_not_built');
      assert.match(response.json().detail, /npm run build/);
    }
  });

  test('a bundle built while running is served: index.html revalidated, hashed assets cached for a year', async () => {
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><script type="module" src="/dashboard/assets/index-abc.js"></script>');
    writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
    writeFileSync(join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');

    const page = await app.inject({ method: 'GET', url: '/dashboard' });
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.equal(page.headers['content-security-policy'], PAGE_CSP);
    const script = await app.inject({ method: 'GET', url: '/dashboard/assets/index-abc.js' });
    assert.equal(script.statusCode, 200);
    assert.equal(script.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(script.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(script.body, 'console.log(1)');
    const icon = await app.inject({ method: 'GET', url: '/dashboard/favicon.svg' });
    assert.equal(icon.headers['content-type'], 'image/svg+xml');
    assert.equal(icon.headers['cache-control'], 'public, max-age=3600');
  });

  test('page paths get index.html (client-side routing); a missing asset or a path outside the bundle is a 404', async () => {
    for (const url of ['/dashboard/', '/dashboard/login', '/dashboard/app/acme.io/messages/msg_1']) {
      const response = await app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 200, url);
      assert.match(response.body, /index-abc\.js/, url);
    }
    for (const url of ['/dashboard/assets/index-old.js', '/dashboard/assets/../../package.json', '/dashboard/assets/%2e%2e/%2e%2e/package.json']) {
      const response = await app.inject({ method: 'GET', url });
      assert.ok(response.statusCode === 404 || response.body.includes('index-abc.js'), `${url}: ${response.statusCode} ${response.body.slice(0, 80)}`);
      assert.ok(!response.body.includes('"name": "hookd"'), `${url} never reads outside the bundle`);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/dashboard/assets/index-old.js' })).statusCode, 404);
  });

  test('a rebuild (new index.html) replaces the served bundle', async () => {
    writeFileSync(join(root, 'index.html'), '<!doctype html><script type="module" src="/dashboard/assets/index-def.js"></script>');
    writeFileSync(join(root, 'assets', 'index-def.js'), 'console.log(2)');
    const later = new Date(Date.now() + 5000);
    utimesSync(join(root, 'index.html'), later, later);
    assert.match((await app.inject({ method: 'GET', url: '/dashboard' })).body, /index-def\.js/);
    assert.equal((await app.inject({ method: 'GET', url: '/dashboard/assets/index-def.js' })).body, 'console.log(2)');
  });
});
