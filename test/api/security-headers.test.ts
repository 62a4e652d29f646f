import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NON_PAGE_CSP, PAGE_CSP } from '../../src/api/security-headers.js';
import { TEST_TOKEN, startTestHookd, type TestHookd } from '../helpers/hookd.js';

/** Security headers on every kind of response: the docs page and its assets, the API, errors and unknown URLs. */
describe('security headers', () => {
  let hookd: TestHookd & { cleanup: () => Promise<void> };
  before(async () => {
    hookd = await startTestHookd();
  });
  after(async () => hookd.cleanup());

  const get = (path: string, token: string | null = TEST_TOKEN) =>
    fetch(`${hookd.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, redirect: 'manual' });

  function assertCommon(response: Response, what: string): void {
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff', what);
    assert.equal(response.headers.get('x-frame-options'), 'DENY', what);
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer', what);
    assert.equal(response.headers.get('cross-origin-opener-policy'), 'same-origin', what);
    assert.equal(response.headers.get('cross-origin-resource-policy'), 'same-origin', what);
    assert.ok(response.headers.get('content-security-policy'), `${what}: a CSP`);
  }

  test('the docs page may run only its own scripts and cannot be framed', async () => {
    const response = await get('/docs', null);
    // /docs may redirect to its index; follow it by hand so the redirect is checked too.
    assertCommon(response, '/docs');
    const page = response.status >= 300 && response.status < 400 ? await get(new URL(response.headers.get('location')!, `${hookd.url}/docs`).pathname, null) : response;
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assertCommon(page, 'docs page');
    const csp = page.headers.get('content-security-policy')!;
    assert.equal(csp, PAGE_CSP);
    const scriptSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src '))!;
    assert.equal(scriptSrc, "script-src 'self'", 'no inline or eval scripts, no foreign origins');
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /object-src 'none'/);
    // Every script the page loads is same-origin, so the CSP lets the page work.
    const html = await page.text();
    const scripts = [...html.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(scripts.length > 0);
    assert.ok(!/<script(?![^>]*src=)[^>]*>\s*\S/.test(html), 'no inline script');
    for (const src of scripts) {
      const asset = await get(new URL(src, page.url).pathname, null);
      assert.equal(asset.status, 200, src);
      assertCommon(asset, src);
      await asset.arrayBuffer(); // read it all, so the connection is idle again when hookd shuts down
    }
  });

  test('the dashboard may run only its own scripts, works without inline scripts, and cannot be framed', async () => {
    for (const path of ['/dashboard', '/dashboard/', '/dashboard/app/acme/messages']) {
      const page = await get(path, null);
      assert.equal(page.status, 200, `${path}: ${page.status} (is the bundle built? npm run build)`);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assertCommon(page, path);
      assert.equal(page.headers.get('content-security-policy'), PAGE_CSP, path);
      assert.equal(page.headers.get('cache-control'), 'no-cache', `${path}: index.html is revalidated`);
      const html = await page.text();
      assert.ok(!/<script(?![^>]*src=)[^>]*>\s*\S/.test(html), 'no inline script');
      assert.ok(!/\son[a-z]+\s*=/i.test(html), 'no inline event handler');
      const scripts = [...html.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]!);
      const styles = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(scripts.length > 0, 'the page loads its script');
      for (const src of [...scripts, ...styles]) {
        const url = new URL(src, page.url);
        assert.equal(url.origin, new URL(hookd.url).origin, `${src} is same-origin`);
        const asset = await get(url.pathname, null);
        assert.equal(asset.status, 200, src);
        assertCommon(asset, src);
        assert.match(asset.headers.get('cache-control') ?? '', /immutable/, `${src}: hashed assets are cached`);
        const code = await asset.text(); // read in full, so the connection is idle when hookd shuts down
        assert.match(asset.headers.get('content-type') ?? '', src.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
        if (src.endsWith('.js')) {
          assert.ok(!/\beval\(|new Function\(/.test(code), `${src} uses no eval (the CSP forbids it)`);
          // Only XML namespaces (www.w3.org) and the endpoint form's placeholder (example.com) name another origin.
          const origins = new Set([...code.matchAll(/https?:\/\/([a-z0-9.-]+)/gi)].map((m) => m[1]!));
          assert.deepEqual([...origins].filter((o) => o !== 'www.w3.org' && o !== 'example.com'), [], `${src} loads nothing from another origin`);
        }
      }
    }
  });

  test('API responses, errors and unknown URLs carry the headers, a no-content CSP, and are never cached', async () => {
    const cases: [string, string | null, number][] = [
      ['/api/v1/app', TEST_TOKEN, 200],
      ['/api/v1/app', null, 401],
      ['/api/v1/app/app_missing', TEST_TOKEN, 404],
      ['/api/v1/app?limit=banana', TEST_TOKEN, 422],
      ['/no/such/page', null, 404],
      ['/openapi.json', null, 200],
      ['/health', null, 200],
    ];
    for (const [path, token, status] of cases) {
      const response = await get(path, token);
      assert.equal(response.status, status, path);
      assertCommon(response, path);
      assert.equal(response.headers.get('content-security-policy'), NON_PAGE_CSP, path);
      assert.equal(response.headers.get('cache-control'), 'no-store', path);
    }
  });
});
