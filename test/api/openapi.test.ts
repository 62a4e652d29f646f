import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { rawHttp } from '../helpers/raw.js';

/** Which of these packages this process has loaded. */
function loaded(...packages: string[]): string[] {
  const files = Object.keys(createRequire(import.meta.url).cache);
  return packages.filter((name) => files.some((file) => file.includes(`${sep}node_modules${sep}${name.replaceAll('/', sep)}${sep}`)));
}

/** /openapi.json and /docs are made on their first request, from the routes of the running hookd. */
describe('the OpenAPI document and the API docs', () => {
  let hookd: TestHookd & { cleanup: () => Promise<void> };
  before(async () => {
    hookd = await startTestHookd();
  });
  after(async () => hookd.cleanup());
  const rawGet = (path: string) => rawHttp(Number(new URL(hookd.url).port), `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);

  test('a hookd whose docs nobody asked for has not loaded @fastify/swagger, its UI or yaml', async () => {
    const app = await hookd.api.post('/api/v1/app', { name: 'docs' });
    assert.equal(app.status, 201);
    assert.deepEqual(loaded('@fastify/swagger', '@fastify/swagger-ui', '@fastify/static', 'yaml'), []);
  });

  test('/openapi.json describes every API route, the ones added after it included, and not the hidden ones', async () => {
    const [first, second] = await Promise.all([fetch(`${hookd.url}/openapi.json`), fetch(`${hookd.url}/openapi.json`)]);
    assert.equal(first.status, 200);
    const document = (await first.json()) as { openapi: string; paths: Record<string, Record<string, { operationId?: string }>> };
    assert.deepEqual(await second.json(), document, 'two first requests at once get the same document');
    assert.equal(document.openapi, '3.0.3');
    assert.ok(document.paths['/api/v1/app/{app_id}/msg']?.post, 'message creation');
    assert.ok(document.paths['/api/v1/app/{app_id}/endpoint/{endpoint_id}']?.get, 'endpoint read');
    assert.ok(document.paths['/ingest/{source_id}']?.post, 'routes registered after the API ones are described');
    for (const hidden of ['/openapi.json', '/docs', '/docs/*', '/docs/json']) assert.equal(document.paths[hidden], undefined, hidden);
    assert.equal(Object.values(document.paths).some((operations) => 'head' in operations), false, 'no HEAD twins of GET routes');
    assert.deepEqual(await hookd.app!.openApiDocument(), document);
    const [one, other] = await Promise.all([hookd.app!.openApiDocument(), hookd.app!.openApiDocument()]);
    assert.strictEqual(one, other, 'one docs instance, one document');
    assert.deepEqual(loaded('@fastify/swagger', '@fastify/swagger-ui'), ['@fastify/swagger', '@fastify/swagger-ui']);
  });

  test('every POST that takes a token documents the idempotency-key header, as Svix\'s spec does; the inbound sources\' route does not', async () => {
    type Operation = { security?: unknown[]; parameters?: { name: string; in: string }[] };
    const document = (await hookd.app!.openApiDocument()) as { paths: Record<string, Record<string, Operation>> };
    const posts = Object.entries(document.paths).flatMap(([path, operations]) => (operations.post ? [[path, operations.post] as const] : []));
    assert.ok(posts.length >= 12, `${posts.length} POST routes`);
    for (const [path, operation] of posts) {
      const documented = (operation.parameters ?? []).some((parameter) => parameter.name === 'idempotency-key' && parameter.in === 'header');
      assert.equal(documented, operation.security?.length !== 0, path);
    }
  });

  test('a body that may be left out (secret rotation, portal access, token expiry) is not marked required; the others are', async () => {
    type Operation = { requestBody?: { required?: boolean } } & Record<string, unknown>;
    const document = (await hookd.app!.openApiDocument()) as { paths: Record<string, Record<string, Operation>> };
    const optional = [
      '/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret/rotate',
      '/api/v1/operational-webhook/endpoint/{endpoint_id}/secret/rotate',
      '/api/v1/auth/app-portal-access/{app_id}',
      '/api/v1/auth/app/{app_id}/expire-all',
    ];
    for (const path of optional) {
      const operation = document.paths[path]?.post;
      assert.ok(operation?.requestBody, path);
      assert.equal(operation.requestBody.required, false, path);
      assert.equal(Object.keys(operation).some((key) => key.startsWith('x-hookd')), false, `${path}: no mark left in the document`);
    }
    assert.equal(document.paths['/api/v1/app/{app_id}/msg']?.post?.requestBody?.required, true, 'message creation');
    assert.equal(document.paths['/api/v1/app']?.post?.requestBody?.required, true, 'application creation');
    // What the document says holds: an empty POST rotates the secret.
    const app = await hookd.api.post('/api/v1/app', { name: 'optional-body' });
    const endpoint = await hookd.api.post(`/api/v1/app/${app.body.id}/endpoint`, { url: 'https://example.com/hook' });
    const rotated = await hookd.api.request('POST', `/api/v1/app/${app.body.id}/endpoint/${endpoint.body.id}/secret/rotate`);
    assert.equal(rotated.status, 200);
    assert.match(rotated.body.key, /^whsec_/);
  });

  test('/docs serves Swagger UI with its assets and the same document; HEAD answers without a body', async () => {
    const page = await fetch(`${hookd.url}/docs`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/docs\/[^"]+)"/g)].map((match) => match[1]!);
    assert.ok(assets.some((asset) => asset.endsWith('.js')), `the page loads scripts (${assets.join(', ')})`);
    for (const asset of assets) {
      const response = await fetch(`${hookd.url}${asset}`);
      assert.equal(response.status, 200, asset);
      assert.ok((await response.arrayBuffer()).byteLength > 0, asset);
    }
    const json = await fetch(`${hookd.url}/docs/json`);
    assert.deepEqual(await json.json(), await hookd.app!.openApiDocument());
    const head = await fetch(`${hookd.url}/docs/json`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    const redirect = await fetch(`${hookd.url}/docs/static/index.html`, { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('content-type'), null, 'an empty redirect is not given a content type');
    const missing = await fetch(`${hookd.url}/docs/static/nothing-here.js`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { code: 'not_found', detail: '/docs/static/nothing-here.js not found' });
  });

  test('only paths under /docs reach the docs: dot segments that leave it are not found, not answered without a key', async () => {
    for (const path of ['/docs/../api/v1/app', '/docs/%2e%2e/api/v1/app', '/docs/.%2E/api/v1/app/', '/docs/static/../../api/v1/app']) {
      // fetch would resolve the dot segments itself; the raw request sends the path as written.
      const response = await rawGet(path);
      assert.equal(response.status, 404, path);
      assert.equal(response.json.code, 'not_found', path);
    }
    const listed = await fetch(`${hookd.url}/api/v1/app`);
    assert.equal(listed.status, 401, 'the API itself still asks for a key');
  });

  test('a range past the end of a docs file is 416 with Content-Range; a path out of the static directory is 404', async () => {
    const page = await fetch(`${hookd.url}/docs`);
    const script = [...(await page.text()).matchAll(/src="(\/docs\/[^"]+\.js)"/g)][0]![1]!;
    const partial = await fetch(`${hookd.url}${script}`, { headers: { range: 'bytes=0-9' } });
    assert.equal(partial.status, 206);
    assert.equal((await partial.arrayBuffer()).byteLength, 10);
    const unsatisfiable = await fetch(`${hookd.url}${script}`, { headers: { range: 'bytes=999999999-' } });
    assert.equal(unsatisfiable.status, 416);
    assert.match(unsatisfiable.headers.get('content-range') ?? '', /^bytes \*\/\d+$/);
    assert.equal(((await unsatisfiable.json()) as { code: string }).code, 'range_not_satisfiable');
    const outside = await rawGet('/docs/static/..%2f..%2fpackage.json');
    assert.equal(outside.status, 404, outside.text);
  });
});

