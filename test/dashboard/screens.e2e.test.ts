import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { TEST_TOKEN, eventually, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { Receiver, type ReceivedRequest } from '../helpers/receiver.js';
import { WAIT_MS, assertFitsWidth, assertNoPageErrors, launchBrowser, login, openPage, shoot, testId } from './browser.js';

/**
 * Every page of the dashboard on a desktop (1400 px) and a phone (390 px), in light and dark mode (the system
 * setting, emulated): nothing is wider than the screen, dark mode really is dark, and a screenshot of each lands
 * in test-output/screenshots/<page>-<width>-<scheme>.png.
 */

let hookd: TestHookd & { cleanup: () => Promise<void> };
let receiver: Receiver;
let browser: Browser;

const respond = (request: ReceivedRequest, response: ServerResponse) => {
  const status = request.path.startsWith('/failing') ? 503 : 200;
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(status === 200 ? '{"received":true}' : '{"error":"maintenance"}');
};

/** A page of the dashboard and what shows it has loaded with data. */
interface Screen {
  name: string;
  path: string;
  ready: string;
}

let screens: Screen[] = [];

before(async () => {
  receiver = await Receiver.start(respond);
  hookd = await startTestHookd();
  browser = await launchBrowser();
  const api = hookd.api;
  for (const name of ['invoice.paid', 'customer.created.with.a.rather.long.event.type.name']) {
    await api.post('/api/v1/event-type', { name, description: `Sent when ${name} happens` });
  }
  const appId = (await api.post('/api/v1/app', { name: 'Acme Incorporated (production)', uid: 'acme' })).body.id as string;
  const good = (await api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/ok/webhooks/with/a/fairly/long/path`, description: 'billing' })).body.id as string;
  await api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/failing`, description: 'crm' });
  await api.post(`/api/v1/app/${appId}/source`, { name: 'Payments provider', verification: { scheme: 'api-key', secret: 'a-long-shared-secret-1234' }, eventType: { default: 'invoice.paid' } });
  await api.post('/api/v1/api-key', { name: 'acme support', appId });
  let msgId = '';
  for (let i = 0; i < 4; i++) {
    msgId = (await api.post(`/api/v1/app/${appId}/msg`, { eventType: 'invoice.paid', eventId: `invoice-${i}`, payload: { invoice: `inv_${i}`, lines: [{ sku: 'A-1', qty: i }] } })).body.id;
  }
  await eventually(async () => (await api.get(`/api/v1/app/${appId}/delivery?status=2`)).body.data.length === 4, WAIT_MS, 'four dead letters');
  const attemptId = (await api.get(`/api/v1/app/${appId}/attempt/msg/${msgId}?endpoint_id=${good}`)).body.data[0].id as string;
  screens = [
    { name: 'applications', path: '/', ready: 'app-row' },
    { name: 'messages', path: `/app/${appId}/messages`, ready: 'message-row' },
    { name: 'message-detail', path: `/app/${appId}/messages/${msgId}`, ready: 'attempt-row' },
    { name: 'attempt-detail', path: `/app/${appId}/messages/${msgId}/attempts/${attemptId}`, ready: 'attempt-detail' },
    { name: 'endpoints', path: `/app/${appId}/endpoints`, ready: 'endpoint-row' },
    { name: 'endpoint-detail', path: `/app/${appId}/endpoints/${good}`, ready: 'attempt-row' },
    { name: 'dead-letters', path: `/app/${appId}/dead-letters`, ready: 'dead-letter-row' },
    { name: 'sources', path: `/app/${appId}/sources`, ready: 'source-row' },
    { name: 'event-types', path: '/event-types', ready: 'event-type-row' },
    { name: 'api-keys', path: '/api-keys', ready: 'api-key-row' },
  ];
});

after(async () => {
  await browser?.close();
  await hookd?.cleanup();
  await receiver?.close();
});

describe('every page on a desktop and a phone, light and dark', () => {
  for (const width of [1400, 390]) {
    for (const scheme of ['light', 'dark'] as const) {
      test(`${width} px, ${scheme}: no page is wider than the screen; screenshots saved`, async () => {
        const { page, context, errors } = await openPage(browser, hookd.url, { width, height: width > 600 ? 900 : 844 });
        await page.emulateMedia({ colorScheme: scheme });
        const overflow = (name: string) => assertFitsWidth(page, name, width);

        await page.goto(`${hookd.url}/dashboard/login`);
        await testId(page, 'login-form').waitFor();
        await overflow('login');
        // Dark mode follows the system setting: the page background is dark, the text light.
        const background = (await page.evaluate("getComputedStyle(document.documentElement).backgroundColor")) as string;
        assert.equal(background, scheme === 'dark' ? 'rgb(13, 17, 23)' : 'rgb(246, 248, 250)');
        await shoot(page, 'login', width, scheme);

        await login(page, hookd.url, TEST_TOKEN);
        for (const screen of screens) {
          await page.goto(`${hookd.url}/dashboard${screen.path}`);
          await testId(page, screen.ready).first().waitFor();
          await overflow(screen.name);
          await shoot(page, screen.name, width, scheme);
        }
        assertNoPageErrors(errors);
        await context.close();
      });
    }
  }
});
