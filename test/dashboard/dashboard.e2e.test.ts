import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureChromium } from '../../scripts/chromium.mjs';
import { ensureDashboardBuilt } from '../../scripts/dashboard-build.mjs';
import { TEST_TOKEN, eventually, freePort, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { Receiver } from '../helpers/receiver.js';

/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) against a real hookd and a real
 * webhook receiver: log in, create an application and an endpoint, watch a published message get delivered
 * live, inspect its attempts, make the endpoint fail, resend a dead letter and recover the rest from the UI.
 * Screenshots of the main pages land in test-output/screenshots/.
 */

const SCREENSHOTS = join(process.cwd(), 'test-output', 'screenshots');
const WAIT_MS = 15_000;

let hookd: TestHookd & { cleanup: () => Promise<void> };
let receiver: Receiver;
let browser: Browser;
let page: Page;
/** What the receiver answers: 200, or 500 while failing. */
let receiverStatus = 200;
/** Errors the page logged (a CSP violation is one), or threw. */
const pageErrors: string[] = [];

const respond = (_: unknown, response: ServerResponse) => {
  response.writeHead(receiverStatus, { 'content-type': 'application/json' });
  response.end(receiverStatus === 200 ? '{"received":true}' : '{"error":"receiver is down for maintenance"}');
};

const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
const testId = (id: string, extra = '') => page.locator(`[data-testid="${id}"]${extra}`);

async function publish(appId: string, amount: number): Promise<string> {
  const response = await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType: 'invoice.paid', payload: { invoice: `inv_${amount}`, amount } });
  assert.equal(response.status, 202, JSON.stringify(response.body));
  return response.body.id as string;
}

before(async () => {
  ensureDashboardBuilt();
  const executablePath = ensureChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
  receiver = await Receiver.start(respond);
  // A long circuit cool-down: the circuit test reads "circuit open" before any probe.
  hookd = await startTestHookd({ env: { HOOKD_CIRCUIT_COOLDOWN: '60s' } });
  // The event-type filter picks from the catalog.
  for (const name of ['invoice.paid', 'user.signup']) assert.equal((await hookd.api.post('/api/v1/event-type', { name, description: name })).status, 201);
  browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
});

after(async () => {
  await browser?.close();
  await hookd?.cleanup();
  await receiver?.close();
});

describe('dashboard in a browser', () => {
  let appId = '';
  let endpointId = '';

  test('login: a wrong token is refused; the right one is kept in sessionStorage only', async () => {
    await page.goto(`${hookd.url}/dashboard`);
    await page.waitForURL(/\/dashboard\/login$/);
    await testId('login-form').waitFor();
    await shot('login');
    await page.fill('input[name=token]', 'hookd_not_a_real_token');
    await page.click('button[type=submit]');
    assert.match(await testId('login-error').innerText(), /not valid/);

    await page.fill('input[name=token]', TEST_TOKEN);
    await page.click('button[type=submit]');
    await testId('apps-table').waitFor();
    // Page-side expressions as strings: this file is type-checked without the DOM library.
    const storage = await page.evaluate("({ session: sessionStorage.getItem('hookd.token'), local: localStorage.length, cookie: document.cookie })");
    assert.deepEqual(storage, { session: TEST_TOKEN, local: 0, cookie: '' });
  });

  test('create an application and an endpoint from the UI', async () => {
    await page.fill('[data-testid=create-app-form] input[name=name]', 'Acme Inc');
    await page.fill('[data-testid=create-app-form] input[name=uid]', 'acme');
    await page.click('[data-testid=create-app-form] button[type=submit]');
    await page.waitForURL(/\/dashboard\/app\/app_\w+\/endpoints$/);
    appId = /\/app\/(app_\w+)\//.exec(page.url())![1]!;
    assert.equal((await hookd.api.get(`/api/v1/app/${appId}`)).body.uid, 'acme');

    await page.fill('[data-testid=create-endpoint-form] input[name=url]', `${receiver.url}/hook`);
    await page.fill('[data-testid=create-endpoint-form] input[name=description]', 'billing webhooks');
    await page.click('[data-testid=create-endpoint-form] button[type=submit]');
    await testId('endpoint-created').waitFor();
    const row = testId('endpoint-row');
    await row.waitFor();
    endpointId = (await row.getAttribute('data-endpoint-id'))!;
    assert.match(endpointId, /^ep_/);
    assert.match(await row.innerText(), new RegExp(`${receiver.url}/hook`));
    assert.match(await row.innerText(), /enabled/);
  });

  test('a published message appears and turns delivered live, without a reload; its detail shows the attempt', async () => {
    await testId('nav-messages').click();
    await testId('messages-table').waitFor();
    // A marker on the window: a reload would drop it.
    await page.evaluate('window.noReload = true');
    await testId('live-indicator', '[data-state=live]').waitFor();

    const msgId = await publish(appId, 4200);
    await testId('message-row', `[data-msg-id="${msgId}"][data-status=success]`).waitFor();
    await receiver.waitFor((requests) => requests.some((r) => r.body.includes('inv_4200')));
    assert.equal(await page.evaluate('window.noReload'), true, 'the page was not reloaded');
    await eventually(async () => /[1-9]\d* succeeded/.test(await testId('chart').innerText()), WAIT_MS, 'the chart to count the delivery');

    await page.click(`[data-testid=message-row][data-msg-id="${msgId}"] a`);
    await testId('message-detail').waitFor();
    assert.match(await testId('payload').innerText(), /"amount": 4200/);
    const attempt = testId('attempt-row', '[data-status=success]');
    await attempt.waitFor();
    assert.equal(await attempt.getAttribute('data-status-code'), '200');
    const text = await attempt.innerText();
    assert.match(text, /succeeded/);
    assert.match(text, /\d+ ms/);
    assert.match(text, /"received":true/, 'response excerpt');
    assert.match(text, /scheduled/);
    await shot('message-detail');
  });

  test('a failing endpoint dead-letters the message; resend from the UI delivers it', async () => {
    receiverStatus = 500;
    await testId('nav-messages').click();
    const msgId = await publish(appId, 500);
    // Three attempts (test schedule 100 ms, 200 ms), then failed for good.
    await testId('message-row', `[data-msg-id="${msgId}"][data-status=fail]`).waitFor();

    await page.click(`[data-testid=message-row][data-msg-id="${msgId}"] a`);
    await testId('attempt-row', '[data-status-code="500"]').first().waitFor();
    assert.equal(await testId('attempt-row').count(), 3);
    assert.match(await testId('attempt-row').first().innerText(), /HTTP 500|500/);
    assert.match(await testId('attempt-row').first().innerText(), /receiver is down for maintenance/);

    await testId('nav-dead-letters').click();
    const row = testId('dead-letter-row', `[data-msg-id="${msgId}"]`);
    await row.waitFor();
    const rowText = await row.innerText();
    assert.match(rowText, /500/);
    assert.match(rowText, /3/);
    await shot('dead-letters');

    receiverStatus = 200;
    await row.locator('[data-testid=resend]').click();
    await testId('dead-letters-notice').waitFor();
    await testId('no-dead-letters').waitFor();
    await receiver.waitFor((requests) => requests.filter((r) => r.body.includes('"amount":500')).length >= 4);
    // The receiver has the resend; its attempt is recorded once the answer is back, a moment later.
    const latestAttempts = async () => (await hookd.api.get(`/api/v1/app/${appId}/attempt/msg/${msgId}`)).body.data;
    await eventually(async () => (await latestAttempts()).length === 4, WAIT_MS, 'the resend recorded as a fourth attempt');
    const attempts = await latestAttempts();
    assert.equal(attempts[0].statusText, 'success');
    assert.equal(attempts[0].triggerType, 1, 'the resend is a manual attempt');

    await testId('nav-messages').click();
    await testId('message-row', `[data-msg-id="${msgId}"][data-status=success]`).waitFor();
  });

  test("recover-since brings back every failed delivery of an endpoint", async () => {
    receiverStatus = 500;
    const failed = [await publish(appId, 901), await publish(appId, 902)];
    await eventually(async () => (await hookd.api.get(`/api/v1/app/${appId}/delivery?status=2`)).body.data.length === 2, WAIT_MS, 'two dead letters');
    await testId('nav-dead-letters').click();
    for (const id of failed) await testId('dead-letter-row', `[data-msg-id="${id}"]`).waitFor();

    receiverStatus = 200;
    await eventually(async () => (await page.inputValue('[data-testid=recover-form] select[name=endpoint]')) === endpointId, WAIT_MS, 'Recover proposing the failing endpoint');
    await page.click('[data-testid=recover-form] button[type=submit]');
    await testId('confirm-ok').click();
    assert.match(await testId('dead-letters-notice').innerText(), /2 failed deliveries scheduled again/);
    await testId('no-dead-letters').waitFor();
    await eventually(async () => (await hookd.api.get(`/api/v1/app/${appId}/msg-status?status=0`)).body.data.length === 4, WAIT_MS, 'all four messages delivered');
  });

  test("an endpoint whose receiver refuses connections shows its circuit open and its next probe", async () => {
    const other = (await hookd.api.post('/api/v1/app', { name: 'refused' })).body.id as string;
    const refused = `http://127.0.0.1:${await freePort()}/hook`;
    assert.equal((await hookd.api.post(`/api/v1/app/${other}/endpoint`, { url: refused })).status, 201);
    // Two messages, three attempts each (test schedule 100 ms, 200 ms): five connection failures in a row open it.
    for (const amount of [701, 702]) await publish(other, amount);
    await page.goto(`${hookd.url}/dashboard/app/${other}/endpoints`);
    try {
      const circuit = testId('circuit', '[data-circuit=open]');
      await circuit.waitFor();
      assert.match(await circuit.innerText(), /circuit open/);
      // The cool-down is 60 s (HOOKD_CIRCUIT_COOLDOWN above): shown as "1 min" within half a second of the opening, in
      // seconds after that (a fast run saw "1 min" and failed when only seconds were accepted).
      assert.match(await circuit.innerText(), /next probe in (\d+ s|1 min)/);
      assert.match(await circuit.innerText(), /0 \/ 0 in flight/);
      await shot('endpoint-circuit-open');
    } finally {
      // The next test starts from the first application's endpoints, whatever happened here.
      await page.goto(`${hookd.url}/dashboard/app/${appId}/endpoints`);
    }
  });

  test('endpoint health, filters, application list and logout', async () => {
    await testId('nav-endpoints').click();
    const row = testId('endpoint-row');
    await eventually(async () => /^100 %$/.test((await row.locator('[data-testid=success-rate]').innerText()).trim()), WAIT_MS, 'a 100 % success rate');
    assert.match(await row.locator('[data-testid=last-status]').innerText(), /200/);
    await shot('endpoints');

    await row.locator('[data-testid=toggle-endpoint]').click();
    await testId('confirm-ok').click();
    await eventually(async () => /disabled/.test(await row.innerText()), WAIT_MS, 'the endpoint shown disabled');
    assert.equal((await hookd.api.get(`/api/v1/app/${appId}/endpoint/${endpointId}`)).body.disabled, true);
    await row.locator('[data-testid=toggle-endpoint]').click();
    await eventually(async () => /enabled/.test(await row.innerText()), WAIT_MS, 'the endpoint shown enabled');

    await testId('nav-messages').click();
    await testId('message-row').first().waitFor();
    await page.selectOption('[data-testid=message-filters] select[name=status]', 'fail');
    await page.click('[data-testid=message-filters] button[type=submit]');
    await eventually(async () => (await testId('message-row').count()) === 0, WAIT_MS, 'no failed messages left');
    await page.selectOption('[data-testid=message-filters] select[name=status]', 'success');
    await testId('picker-eventTypes').locator('summary').click();
    await page.check('[data-testid=picker-eventTypes] input[value="invoice.paid"]');
    await page.click('[data-testid=message-filters] button[type=submit]');
    await eventually(async () => (await testId('message-row', '[data-status=success]').count()) === 4, WAIT_MS, 'four delivered messages');
    await testId('picker-eventTypes').locator('summary').click();
    await page.uncheck('[data-testid=picker-eventTypes] input[value="invoice.paid"]');
    await page.check('[data-testid=picker-eventTypes] input[value="user.signup"]');
    await page.click('[data-testid=message-filters] button[type=submit]');
    await eventually(async () => (await testId('message-row').count()) === 0, WAIT_MS, 'no user.signup messages');
    await testId('reset-filters').click();
    await eventually(async () => (await testId('message-row').count()) === 4, WAIT_MS, 'every message once the filters are reset');
    await eventually(async () => /[1-9]\d* failed/.test(await testId('chart').innerText()), WAIT_MS, 'the chart to count the failures');
    await shot('messages');

    await page.click('a.brand');
    await testId('app-row').first().waitFor();
    assert.match(await testId('apps-table').innerText(), /Acme Inc/);
    await shot('applications');

    await testId('logout').click();
    await testId('login-form').waitFor();
    assert.equal(await page.evaluate("sessionStorage.getItem('hookd.token')"), null);
    // A page of the app without a token goes back to the login form.
    await page.goto(`${hookd.url}/dashboard/app/${appId}/messages`);
    await page.waitForURL(/\/dashboard\/login$/);

    assert.deepEqual(pageErrors.filter((e) => !/401/.test(e)), [], 'no script errors or CSP violations');
  });
});
