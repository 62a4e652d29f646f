import assert from 'node:assert/strict';
import { type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Frame, Page } from 'playwright-core';
import { ApiClient, eventually, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { Receiver, type ReceivedRequest } from '../helpers/receiver.js';
import { WAIT_MS, assertFitsWidth, assertNoPageErrors, launchBrowser, openPage, shoot } from '../dashboard/browser.js';

/**
 * The app portal as a SaaS's customer meets it: the operator asks the API for a portal link, the SaaS's own page
 * (another origin) embeds it in an iframe, and inside it the customer adds an endpoint, sends an example, sees it
 * delivered, sees a failure with its request and response, resends it. The token reaches nothing of another
 * application, and after logout or expiry it is refused. Real hookd (SQLite file), real receiver, real chromium.
 * Screenshots of every portal page land in test-output/screenshots/portal/.
 */

let hookd: TestHookd & { cleanup: () => Promise<void> };
let receiver: Receiver;
let browser: Browser;
/** The SaaS's page: another origin (another port) that frames the portal. */
let embedder: Server;
let embedderOrigin = '';
/** hookd's clock runs this far ahead (portal tokens last an hour at least: expiry is reached by moving it). */
let aheadMs = 0;
/** What the receiver answers /hooks with. */
let hooksStatus = 200;

let acme = '';
let other = '';
let otherEndpointUrl = '';

const respond = (request: ReceivedRequest, response: ServerResponse) => {
  const status = request.path.startsWith('/hooks') ? hooksStatus : request.path.startsWith('/failing') ? 500 : 200;
  response.writeHead(status, { 'content-type': 'application/json', 'x-receiver': 'test' });
  response.end(status === 200 ? '{"received":true}' : `{"error":"receiver answered ${status}"}`);
};

/** The SaaS's page: its own heading and the portal in an iframe (`?src=`). */
function embedderPage(src: string): string {
  const attr = src.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return `<!doctype html><html><head><title>Acme SaaS settings</title></head><body style="margin:0;font-family:sans-serif">
<h1 style="margin:8px 16px;font-size:18px">Acme SaaS: webhook settings</h1>
<iframe src="${attr}" title="Webhooks" allow="clipboard-write" style="width:100%;height:1400px;border:0"></iframe></body></html>`;
}

async function portalLink(appId: string, body: Record<string, unknown> = {}): Promise<{ url: string; token: string }> {
  const response = await hookd.api.post(`/api/v1/auth/app-portal-access/${appId}`, body);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

/** Opens the SaaS's page framing `src`, and the portal's frame once it shows `ready`. */
async function embed(page: Page, src: string, ready: string): Promise<Frame> {
  await page.goto(`${embedderOrigin}/?src=${encodeURIComponent(src)}`);
  const frame = await eventually(async () => page.frames().find((f) => f !== page.mainFrame()), WAIT_MS, 'the iframe');
  await frame.locator(`[data-testid="${ready}"]`).first().waitFor();
  return frame;
}

const inFrame = (frame: Frame, id: string, extra = '') => frame.locator(`[data-testid="${id}"]${extra}`);

before(async () => {
  receiver = await Receiver.start(respond);
  embedder = createServer((request, response) => {
    const src = new URL(request.url ?? '/', 'http://x').searchParams.get('src') ?? '';
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(embedderPage(src));
  });
  await new Promise<void>((resolve) => embedder.listen(0, '127.0.0.1', resolve));
  embedderOrigin = `http://127.0.0.1:${(embedder.address() as AddressInfo).port}`;
  hookd = await startTestHookd({ env: { HOOKD_PORTAL_FRAME_ANCESTORS: embedderOrigin }, clock: () => Date.now() + aheadMs });
  browser = await launchBrowser();
  const api = hookd.api;
  await api.post('/api/v1/event-type', {
    name: 'invoice.paid',
    description: 'An invoice was paid in full',
    schemas: { '1': { type: 'object', examples: [{ invoice: 'inv_example', amount: 4200, currency: 'EUR' }] } },
  });
  await api.post('/api/v1/event-type', { name: 'customer.created', description: 'A customer signed up' });
  acme = (await api.post('/api/v1/app', { name: 'Acme Corp', uid: 'acme', metadata: { 'portal.accent': '#0a7d32' } })).body.id;
  // Another customer's application, with an endpoint and a message the Acme token must never reach.
  other = (await api.post('/api/v1/app', { name: 'Globex Secret Division', uid: 'globex' })).body.id;
  otherEndpointUrl = `${receiver.url}/globex-private-endpoint`;
  await api.post(`/api/v1/app/${other}/endpoint`, { url: otherEndpointUrl, description: 'globex only' });
  await api.post(`/api/v1/app/${other}/msg`, { eventType: 'invoice.paid', payload: { invoice: 'globex_secret_invoice' } });
});

after(async () => {
  await browser?.close();
  await hookd?.cleanup();
  await receiver?.close();
  await new Promise<void>((resolve) => (embedder ? embedder.close(() => resolve()) : resolve()));
});

describe('the app portal embedded in another origin', () => {
  test('the customer adds an endpoint, sends an example, sees it delivered, sees a failure with its detail, resends it; no script error or CSP violation', async () => {
    const link = await portalLink(acme);
    assert.match(link.url, new RegExp(`^${hookd.url}/portal/#token=`));
    const { page, context, errors } = await openPage(browser, embedderOrigin);
    const apiCalls: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/')) apiCalls.push(request.url());
    });
    const frame = await embed(page, link.url, 'endpoints-table');

    // The token left the address bar for the frame's sessionStorage; the app came from the token.
    assert.equal(frame.url(), `${hookd.url}/portal/app/${acme}/endpoints`);
    assert.equal(await frame.evaluate("sessionStorage.getItem('hookd.portal.token')"), link.token);
    assert.equal(await frame.evaluate("sessionStorage.getItem('hookd.token')"), null, "the operator dashboard's token stays unset");
    assert.match(await inFrame(frame, 'portal-app-name').innerText(), /Acme Corp/);
    // The application's metadata sets the accent.
    assert.equal(await frame.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"), '#0a7d32');
    // Nothing of the operator's.
    for (const id of ['nav-apps', 'nav-api-keys', 'nav-dead-letters', 'nav-sources', 'create-event-type-form']) assert.equal(await inFrame(frame, id).count(), 0, id);

    // Add an endpoint (a real receiver on 127.0.0.1) subscribed to invoice.paid.
    await frame.fill('[data-testid=create-endpoint-form] input[name=url]', `${receiver.url}/hooks`);
    await frame.fill('[data-testid=create-endpoint-form] input[name=description]', 'billing system');
    await frame.click('[data-testid=picker-filterTypes] summary');
    await frame.check('[data-testid=picker-filterTypes] input[value="invoice.paid"]');
    await frame.click('[data-testid=create-endpoint-form] button[type=submit]');
    await inFrame(frame, 'endpoint-created').waitFor();
    const endpoint = (await hookd.api.get(`/api/v1/app/${acme}/endpoint`)).body.data[0];
    assert.equal(endpoint.url, `${receiver.url}/hooks`);
    assert.deepEqual(endpoint.filterTypes, ['invoice.paid']);

    // The catalog: descriptions and example payloads; send the example to the new endpoint.
    await inFrame(frame, 'nav-event-types').click();
    await inFrame(frame, 'event-type-row', '[data-name="invoice.paid"]').waitFor();
    assert.match(await inFrame(frame, 'event-type-row', '[data-name="invoice.paid"]').innerText(), /An invoice was paid in full/);
    await inFrame(frame, 'event-type-example').locator('summary').click();
    assert.match(await inFrame(frame, 'event-type-example').innerText(), /"invoice": "inv_example"/);
    for (const id of ['archive-event-type', 'delete-event-type']) assert.equal(await inFrame(frame, id).count(), 0, id);
    const before = receiver.requests.length;
    await frame.selectOption('[data-testid=send-test-form] select[name=eventType]', 'invoice.paid');
    await frame.click('[data-testid=send-test-form] button[type=submit]');
    await inFrame(frame, 'example-sent').waitFor();
    const [sent] = (await receiver.waitFor((r) => r.length > before, WAIT_MS, 'the example')).slice(before);
    assert.deepEqual(JSON.parse(sent!.body), { invoice: 'inv_example', amount: 4200, currency: 'EUR' });
    assert.ok(sent!.headers['webhook-signature'], 'signed like any delivery');

    // It shows as delivered.
    await inFrame(frame, 'example-sent').locator('a').click();
    await inFrame(frame, 'delivery-row', '[data-status=success]').waitFor();
    await inFrame(frame, 'attempt-row', '[data-status=success]').waitFor();
    await shoot(page, 'portal/embedded', 1400, 'light');

    // The receiver fails: the message log shows the failure, its attempts and their request and response.
    hooksStatus = 500;
    await inFrame(frame, 'nav-endpoints').click();
    await inFrame(frame, 'endpoint-link').click();
    await inFrame(frame, 'endpoint-detail').waitFor();
    await frame.selectOption('[data-testid=send-test-form] select[name=eventType]', 'invoice.paid');
    await frame.click('[data-testid=send-test-form] button[type=submit]');
    const failedId = /msg_\w+/.exec(await inFrame(frame, 'endpoint-notice').innerText())![0];
    await inFrame(frame, 'nav-messages').click();
    await inFrame(frame, 'message-row', `[data-msg-id="${failedId}"][data-status=fail]`).waitFor();
    await inFrame(frame, 'message-row', `[data-msg-id="${failedId}"]`).locator('a').click();
    await inFrame(frame, 'delivery-row', '[data-status=fail]').waitFor();
    assert.equal(await inFrame(frame, 'attempt-row', '[data-status-code="500"]').count(), 3, 'the first attempt and both retries');
    await inFrame(frame, 'attempt-link').first().click();
    await inFrame(frame, 'attempt-detail').waitFor();
    assert.match(await inFrame(frame, 'response-body').innerText(), /receiver answered 500/);
    assert.match(await inFrame(frame, 'request-body').innerText(), /"invoice": "inv_example"/);
    assert.match(await inFrame(frame, 'request-headers').innerText(), new RegExp(`webhook-id\\s+${failedId}`), 'the request headers as sent');
    assert.match(await inFrame(frame, 'response-headers').innerText(), /x-receiver\s+test/, 'the receiver\'s response headers');

    // Resend once the receiver is back: delivered.
    hooksStatus = 200;
    await frame.evaluate('history.back()');
    await inFrame(frame, 'delivery-row', '[data-status=fail]').waitFor();
    await inFrame(frame, 'resend').click();
    await inFrame(frame, 'delivery-row', '[data-status=success]').waitFor();
    await inFrame(frame, 'attempt-row', '[data-status=success]').waitFor();
    assert.equal((await hookd.api.get(`/api/v1/app/${acme}/msg-status?status=0`)).body.data.length, 2, 'both messages delivered');

    // The endpoint's success rate and latency.
    await inFrame(frame, 'nav-endpoints').click();
    await inFrame(frame, 'endpoint-link').click();
    await eventually(async () => /p50 \d+ ms/.test(await inFrame(frame, 'latency').innerText()), WAIT_MS, 'latency percentiles');
    assert.equal(await inFrame(frame, 'success-rate').innerText(), '100 %');

    // The customer's settings: a rate limit, a custom header (sent with the next delivery), a rotated secret.
    const endpointPath = `/api/v1/app/${acme}/endpoint/${endpoint.id}`;
    await frame.fill('[data-testid=edit-endpoint-form] input[name=rateLimit]', '25');
    await frame.click('[data-testid=edit-endpoint-form] button[type=submit]');
    await eventually(async () => (await hookd.api.get(endpointPath)).body.rateLimit === 25, WAIT_MS, 'the rate limit saved');
    await frame.fill('[data-testid=headers-form] input[name=headerName]', 'X-Customer');
    await frame.fill('[data-testid=headers-form] input[name=headerValue]', 'acme-42');
    await frame.click('[data-testid=headers-form] button[type=submit]');
    await inFrame(frame, 'custom-header', '[data-name="x-customer" i]').waitFor();
    const secret = (await hookd.api.get(`${endpointPath}/secret`)).body.key;
    await inFrame(frame, 'rotate-secret').click();
    await inFrame(frame, 'confirm-ok').click();
    await eventually(async () => (await hookd.api.get(`${endpointPath}/secret`)).body.key !== secret, WAIT_MS, 'the secret rotated');

    // Recover: what failed while the receiver was down is delivered again, with the custom header.
    hooksStatus = 500;
    await frame.click('[data-testid=send-test-form] button[type=submit]');
    await eventually(async () => (await hookd.api.get(`/api/v1/app/${acme}/delivery?status=2`)).body.data.length === 1, WAIT_MS, 'a failed delivery');
    hooksStatus = 200;
    const beforeRecover = receiver.requests.length;
    await frame.click('[data-testid=recover-form] button[type=submit]');
    await inFrame(frame, 'confirm-ok').click();
    await eventually(async () => /1 failed delivery scheduled again/.test(await inFrame(frame, 'endpoint-notice').innerText()), WAIT_MS, 'the recover notice');
    const [recovered] = (await receiver.waitFor((r) => r.some((q, i) => i >= beforeRecover && q.path === '/hooks'), WAIT_MS, 'the recovered delivery')).slice(beforeRecover);
    assert.equal(recovered!.headers['x-customer'], 'acme-42');
    await inFrame(frame, 'custom-header', '[data-name="x-customer" i]').locator('[data-testid=remove-header]').click();
    await inFrame(frame, 'custom-header', '[data-name="x-customer" i]').waitFor({ state: 'detached' });
    assert.deepEqual((await hookd.api.get(`${endpointPath}/headers`)).body.headers, {});

    // Another application: nothing of it through the API with this token, nor in the portal when its id is typed in.
    const portalApi = new ApiClient(hookd.url, link.token);
    for (const path of [`/api/v1/app/${other}`, `/api/v1/app/${other}/endpoint`, `/api/v1/app/${other}/msg`, `/api/v1/app/globex/endpoint`]) {
      assert.equal((await portalApi.get(path)).status, 404, path);
    }
    for (const id of [other, 'globex']) {
      await frame.goto(`${hookd.url}/portal/app/${id}/endpoints`);
      await inFrame(frame, 'portal-not-found').waitFor();
      const text = await frame.locator('body').innerText();
      assert.doesNotMatch(text, /globex-private-endpoint|Globex Secret|globex only/, id);
    }
    assert.deepEqual(
      apiCalls.filter((url) => url.includes(other) || url.includes('/app/globex')),
      [],
      'the portal never even asks for another application',
    );

    assertNoPageErrors(errors);
    await context.close();
  });

  test('logout ends the token: the portal says so, the API refuses it, the link no longer opens', async () => {
    const link = await portalLink(acme);
    const { page, context, errors } = await openPage(browser, embedderOrigin);
    const frame = await embed(page, link.url, 'endpoints-table');
    await inFrame(frame, 'logout').click();
    await inFrame(frame, 'portal-ended', '[data-reason=signed-out]').waitFor();
    assert.match(await inFrame(frame, 'portal-ended').innerText(), /You are signed out[\s\S]*ask the service that gave you this link for a new one/);
    assert.equal(await frame.evaluate("sessionStorage.getItem('hookd.portal.token')"), null);
    assert.equal((await new ApiClient(hookd.url, link.token).get(`/api/v1/app/${acme}/endpoint`)).status, 401);
    const again = await embed(page, link.url, 'portal-ended');
    assert.equal(await inFrame(again, 'portal-ended').getAttribute('data-reason'), 'refused');
    assertNoPageErrors(errors, [401]);
    await context.close();
  });

  test('an expired token: the open portal turns to "this link has expired", and the link opens only that', async () => {
    const link = await portalLink(acme, { expiry: 3600 });
    const { page, context, errors } = await openPage(browser, embedderOrigin);
    const frame = await embed(page, link.url, 'endpoints-table');
    aheadMs = 3600_000 + 1000;
    try {
      // The next poll (every 3 s) is refused.
      await inFrame(frame, 'portal-ended', '[data-reason=expired]').waitFor();
      assert.match(await inFrame(frame, 'portal-ended').innerText(), /This link has expired/);
      assert.equal(await inFrame(frame, 'endpoints-table').count(), 0, 'nothing of the application stays on screen');
      const again = await embed(page, link.url, 'portal-ended');
      assert.equal(await inFrame(again, 'portal-ended').getAttribute('data-reason'), 'expired');
    } finally {
      aheadMs = 0;
    }
    assertNoPageErrors(errors, [401]);
    await context.close();
  });

  test('a read-only token shows no write control on any page', async () => {
    const hooli = (await hookd.api.post('/api/v1/app', { name: 'Hooli' })).body.id as string;
    await hookd.api.post(`/api/v1/app/${hooli}/endpoint`, { url: `${receiver.url}/ok` });
    await hookd.api.post(`/api/v1/app/${hooli}/msg`, { eventType: 'invoice.paid', payload: { invoice: 'inv_ro' } });
    await eventually(async () => (await hookd.api.get(`/api/v1/app/${hooli}/msg-status?status=0`)).body.data.length === 1, WAIT_MS, 'the message delivered');
    const link = await portalLink(hooli, { readOnly: true });
    const { page, context, errors } = await openPage(browser, hookd.url);
    await page.goto(link.url);
    await page.locator('[data-testid=endpoint-row]').first().waitFor();
    await page.locator('[data-testid=read-only]').waitFor();
    const none = async (where: string) => {
      for (const id of ['create-endpoint-form', 'toggle-endpoint', 'endpoint-actions', 'send-test-form', 'edit-endpoint-form', 'headers-form', 'recover-form', 'replay-form', 'remove-header', 'resend']) {
        assert.equal(await page.locator(`[data-testid="${id}"]`).count(), 0, `${where}: ${id}`);
      }
    };
    await none('endpoints');
    await page.locator('[data-testid=endpoint-link]').first().click();
    await page.locator('[data-testid=endpoint-detail]').waitFor();
    await page.locator('[data-testid=attempt-row]').first().waitFor();
    await none('endpoint');
    await page.locator('[data-testid=show-secret]').click();
    await page.locator('[data-testid=secret]').waitFor();
    await page.locator('[data-testid=nav-messages]').click();
    await page.locator('[data-testid=message-row] a').first().click();
    await page.locator('[data-testid=delivery-row]').first().waitFor();
    await none('message');
    await page.locator('[data-testid=nav-event-types]').click();
    await page.locator('[data-testid=event-type-row]').first().waitFor();
    await none('event types');
    assertNoPageErrors(errors);
    await context.close();
  });

  test('a token given capabilities shows the controls they allow and no others: ViewBase + CreateAttempts resends and recovers, sees no secret; ManageEndpointSecret rotates and sees it', async () => {
    const initech = (await hookd.api.post('/api/v1/app', { name: 'Initech' })).body.id as string;
    await hookd.api.post(`/api/v1/app/${initech}/endpoint`, { url: `${receiver.url}/ok` });
    await hookd.api.post(`/api/v1/app/${initech}/msg`, { eventType: 'invoice.paid', payload: { invoice: 'inv_caps' } });
    await eventually(async () => (await hookd.api.get(`/api/v1/app/${initech}/msg-status?status=0`)).body.data.length === 1, WAIT_MS, 'the message delivered');
    const link = await portalLink(initech, { capabilities: ['ViewBase', 'CreateAttempts'] });
    const { page, context, errors } = await openPage(browser, hookd.url);
    await page.goto(link.url);
    await page.locator('[data-testid=endpoint-row]').first().waitFor();
    const count = (id: string) => page.locator(`[data-testid="${id}"]`).count();
    const absent = async (where: string, ids: string[]) => {
      for (const id of ids) assert.equal(await count(id), 0, `${where}: ${id}`);
    };
    await absent('endpoints', ['create-endpoint-form', 'toggle-endpoint', 'read-only']);
    await page.locator('[data-testid=endpoint-link]').first().click();
    await page.locator('[data-testid=endpoint-detail]').waitFor();
    await page.locator('[data-testid=attempt-row]').first().waitFor();
    await page.locator('[data-testid=recover-form]').waitFor();
    assert.equal(await count('replay-form'), 1, 'CreateAttempts: replay what the endpoint missed');
    assert.equal(await count('send-test-form'), 1, 'CreateAttempts: send an example');
    await absent('endpoint', ['endpoint-actions', 'rotate-secret', 'delete-endpoint', 'edit-endpoint-form', 'headers-form', 'remove-header', 'secret-card', 'show-secret']);
    await page.locator('[data-testid=nav-messages]').click();
    await page.locator('[data-testid=message-row] a').first().click();
    await page.locator('[data-testid=resend]').first().waitFor();
    await page.locator('[data-testid=nav-event-types]').click();
    await page.locator('[data-testid=event-type-row]').first().waitFor();
    assertNoPageErrors(errors);
    await context.close();

    // ManageEndpointSecret includes reading the secret: the session lists both, and the portal shows both controls.
    const rotator = await portalLink(initech, { capabilities: ['ViewBase', 'ManageEndpointSecret'] });
    const second = await openPage(browser, hookd.url);
    await second.page.goto(rotator.url);
    await second.page.locator('[data-testid=endpoint-link]').first().click();
    await second.page.locator('[data-testid=show-secret]').click();
    assert.match((await second.page.locator('[data-testid=secret]').textContent()) ?? '', /^whsec_/);
    assert.equal(await second.page.locator('[data-testid=rotate-secret]').count(), 1, 'ManageEndpointSecret: rotate');
    for (const id of ['toggle-endpoint', 'delete-endpoint', 'edit-endpoint-form', 'recover-form', 'replay-form', 'send-test-form']) {
      assert.equal(await second.page.locator(`[data-testid="${id}"]`).count(), 0, `ViewBase + ManageEndpointSecret: ${id}`);
    }
    assertNoPageErrors(second.errors);
    await second.context.close();
  });

  test('the dashboard stays unframable: the SaaS page cannot frame it, and the browser refuses with frame-ancestors', async () => {
    const { page, context, errors } = await openPage(browser, embedderOrigin);
    await page.goto(`${embedderOrigin}/?src=${encodeURIComponent(`${hookd.url}/dashboard/login`)}`);
    await eventually(() => errors.some((e) => /frame-ancestors|Refused to (display|frame)/i.test(e)), WAIT_MS, 'the browser refusing the frame');
    const frame = page.frames().find((f) => f !== page.mainFrame());
    assert.equal(await frame?.locator('[data-testid=login-form]').count(), 0, 'the dashboard did not render in the frame');
    await context.close();
  });
});

describe('every portal page on a desktop and a phone, light and dark', () => {
  let globex = '';
  let paths: { name: string; path: string; ready: string }[] = [];

  before(async () => {
    const api = hookd.api;
    globex = (await api.post('/api/v1/app', { name: 'Initech Payments (production)', uid: 'initech' })).body.id;
    const good = (await api.post(`/api/v1/app/${globex}/endpoint`, { url: `${receiver.url}/ok/webhooks/with/a/fairly/long/path`, description: 'billing', filterTypes: ['invoice.paid'] })).body.id;
    await api.post(`/api/v1/app/${globex}/endpoint`, { url: `${receiver.url}/failing`, description: 'crm' });
    await api.put(`/api/v1/app/${globex}/endpoint/${good}/headers`, { headers: { 'x-tenant': 'initech', authorization: 'Bearer hidden' } });
    let msgId = '';
    for (let i = 0; i < 3; i++) msgId = (await api.post(`/api/v1/app/${globex}/msg`, { eventType: 'invoice.paid', eventId: `inv-${i}`, payload: { invoice: `inv_${i}`, amount: 100 * i } })).body.id;
    await eventually(async () => (await api.get(`/api/v1/app/${globex}/delivery?status=2`)).body.data.length === 3, WAIT_MS, 'three failures');
    const attemptId = (await api.get(`/api/v1/app/${globex}/attempt/msg/${msgId}?endpoint_id=${good}`)).body.data[0].id as string;
    paths = [
      { name: 'endpoints', path: `/app/${globex}/endpoints`, ready: 'endpoint-row' },
      { name: 'endpoint-detail', path: `/app/${globex}/endpoints/${good}`, ready: 'attempt-row' },
      { name: 'messages', path: `/app/${globex}/messages`, ready: 'message-row' },
      { name: 'message-detail', path: `/app/${globex}/messages/${msgId}`, ready: 'attempt-row' },
      { name: 'attempt-detail', path: `/app/${globex}/messages/${msgId}/attempts/${attemptId}`, ready: 'attempt-detail' },
      { name: 'event-types', path: '/event-types', ready: 'event-type-row' },
      { name: 'not-found', path: `/app/${acme}/endpoints`, ready: 'portal-not-found' },
    ];
  });

  for (const width of [1400, 390]) {
    for (const scheme of ['light', 'dark'] as const) {
      test(`${width} px, ${scheme}: no page is wider than the screen; screenshots saved`, async () => {
        const link = await portalLink(globex);
        const { page, context, errors } = await openPage(browser, hookd.url, { width, height: width > 600 ? 900 : 844 });
        await page.emulateMedia({ colorScheme: scheme });
        // The logo: a same-origin image here (an https URL in real life; the portal's CSP allows both).
        await page.goto(`${link.url}&logo=${encodeURIComponent('/dashboard/favicon.svg')}`);
        await page.locator('[data-testid=portal-logo]').waitFor();
        const background = (await page.evaluate('getComputedStyle(document.documentElement).backgroundColor')) as string;
        assert.equal(background, scheme === 'dark' ? 'rgb(13, 17, 23)' : 'rgb(246, 248, 250)', 'the system setting rules (theme auto)');
        for (const screen of paths) {
          await page.goto(`${hookd.url}/portal${screen.path}`);
          await page.locator(`[data-testid="${screen.ready}"]`).first().waitFor();
          await assertFitsWidth(page, screen.name, width);
          await shoot(page, `portal/${screen.name}`, width, scheme);
        }
        await page.locator('[data-testid=logout]').click();
        await page.locator('[data-testid=portal-ended]').waitFor();
        await assertFitsWidth(page, 'signed-out', width);
        await shoot(page, 'portal/signed-out', width, scheme);
        assertNoPageErrors(errors, [401]);
        await context.close();
      });
    }
  }

  test('URL parameters override the theme: dark on a light system, a valid accent; an invalid accent or logo is ignored', async () => {
    const { page, context, errors } = await openPage(browser, hookd.url);
    await page.emulateMedia({ colorScheme: 'light' });
    const link = await portalLink(acme);
    await page.goto(`${link.url}&theme=dark&accent=${encodeURIComponent('#a0157a')}`);
    await page.locator('[data-testid=endpoints-table]').waitFor();
    assert.equal(await page.evaluate('getComputedStyle(document.documentElement).backgroundColor'), 'rgb(13, 17, 23)');
    assert.equal(await page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"), '#a0157a');

    const bad = await openPage(browser, hookd.url);
    await bad.page.emulateMedia({ colorScheme: 'light' });
    await bad.page.goto(`${(await portalLink(acme)).url}&theme=dark;x&accent=${encodeURIComponent('red;background:url(//evil)')}&logo=${encodeURIComponent('http://insecure.example/logo.png')}`);
    await bad.page.locator('[data-testid=endpoints-table]').waitFor();
    assert.equal(await bad.page.evaluate('getComputedStyle(document.documentElement).backgroundColor'), 'rgb(246, 248, 250)', 'an unknown theme is auto');
    assert.equal(await bad.page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"), '#0a7d32', "the application's accent stays");
    assert.equal(await bad.page.locator('[data-testid=portal-logo]').count(), 0, 'no http: logo');
    assertNoPageErrors(errors);
    assertNoPageErrors(bad.errors);
    await bad.context.close();
    await context.close();
  });
});
