import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { TEST_TOKEN, eventually, freePort, startTestHookd, type TestHookd } from '../helpers/hookd.js';
import { Receiver, type ReceivedRequest } from '../helpers/receiver.js';
import { WAIT_MS, assertNoPageErrors, confirm, launchBrowser, login, openPage, testId, type DashboardPage } from './browser.js';

/**
 * An operator's journeys through the dashboard in a real browser, against a real hookd (SQLite file) and real
 * receivers on 127.0.0.1: finding messages, bookmarkable filters, an endpoint's page and its actions, attempt
 * details, the catalog pages, dead letters in bulk, what a scoped key sees, and the request budget of a poll.
 */

let hookd: TestHookd & { cleanup: () => Promise<void> };
let receiver: Receiver;
let browser: Browser;
let admin: DashboardPage;
let page: Page;
/** What /flaky answers. */
let flakyStatus = 500;

const respond = (request: ReceivedRequest, response: ServerResponse) => {
  const status = request.path.startsWith('/gone') ? 410 : request.path.startsWith('/flaky') ? flakyStatus : 200;
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(status === 200 ? '{"received":true}' : `{"error":"status ${status}"}`);
};

async function publish(appId: string, eventType: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType, payload: { kind: eventType }, ...extra });
  assert.equal(response.status, 202, JSON.stringify(response.body));
  return response.body.id as string;
}

async function createEndpoint(appId: string, url: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url, ...extra });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body.id as string;
}

/** The event types a picker offers, in order. */
async function offered(picker: string): Promise<string[]> {
  const boxes = testId(page, picker).locator('input[type=checkbox]');
  await boxes.first().waitFor();
  const values: string[] = [];
  for (let i = 0; i < (await boxes.count()); i++) values.push((await boxes.nth(i).getAttribute('value'))!);
  return values;
}

const clipboard = () => page.evaluate('navigator.clipboard.readText()') as Promise<string>;
const dashboard = (path: string) => `${hookd.url}/dashboard${path}`;

before(async () => {
  receiver = await Receiver.start(respond);
  hookd = await startTestHookd({ env: { HOOKD_CIRCUIT_COOLDOWN: '60s' } });
  browser = await launchBrowser();
  // invoice.paid has an example in its schema: the endpoint page can send it as a test event.
  const example = { '1': { type: 'object', examples: [{ invoice: 'inv_example', amount: 1 }] } };
  for (const [name, description, schemas] of [
    ['invoice.paid', 'An invoice was paid', example],
    ['user.signup', 'A user signed up', undefined],
    ['order.shipped', 'An order left the warehouse', undefined],
  ] as const) {
    assert.equal((await hookd.api.post('/api/v1/event-type', { name, description, schemas })).status, 201);
  }
  admin = await openPage(browser, hookd.url, { clipboard: true });
  page = admin.page;
  await login(page, hookd.url, TEST_TOKEN);
});

after(async () => {
  await browser?.close();
  await hookd?.cleanup();
  await receiver?.close();
});

describe('the operator dashboard', () => {
  let appId = '';
  let endpointId = '';

  before(async () => {
    appId = (await hookd.api.post('/api/v1/app', { name: 'Shop', uid: 'shop' })).body.id;
    endpointId = await createEndpoint(appId, `${receiver.url}/ok`, { description: 'shop webhooks' });
  });

  test('an unknown message id in the URL says so, and the header stays Live (a 404 is an answer)', async () => {
    await page.goto(dashboard(`/app/${appId}/messages/msg_doesnotexist`));
    assert.match(await testId(page, 'not-found').innerText(), /No message with the id or eventId msg_doesnotexist/);
    // Two polls later it is still an answer, not being offline.
    await page.waitForTimeout(2500);
    assert.equal(await testId(page, 'live-indicator').getAttribute('data-state'), 'live');
    assert.match(await testId(page, 'live-indicator').innerText(), /Live/);
  });

  test('when hookd stops answering, the header says Offline', async () => {
    const other = await startTestHookd();
    const view = await openPage(browser, other.url);
    await login(view.page, other.url, TEST_TOKEN);
    await testId(view.page, 'live-indicator', '[data-state=live]').waitFor();
    await other.cleanup();
    await testId(view.page, 'live-indicator', '[data-state=error]').waitFor();
    assert.match(await testId(view.page, 'live-indicator').innerText(), /Offline/);
    await view.context.close();
  });

  test('a message is found by its id or its eventId from the messages page', async () => {
    const msgId = await publish(appId, 'order.shipped', { eventId: 'order-42' });
    await page.goto(dashboard(`/app/${appId}/messages`));
    await page.fill('[data-testid=find-message] input', 'order-42');
    await page.click('[data-testid=find-message] button');
    await testId(page, 'message-detail').waitFor();
    assert.match(await testId(page, 'message-detail').innerText(), new RegExp(msgId));
    await page.goBack();
    await page.fill('[data-testid=find-message] input', msgId);
    await page.click('[data-testid=find-message] button');
    assert.match(await testId(page, 'message-detail').locator('h2').innerText(), new RegExp(msgId));
  });

  test('filters and the page position live in the URL: a bookmark and Back bring them back', async () => {
    for (let i = 0; i < 3; i++) await publish(appId, 'user.signup');
    for (let i = 0; i < 52; i++) await publish(appId, 'invoice.paid');
    await page.goto(dashboard(`/app/${appId}/messages`));
    await eventually(async () => (await testId(page, 'message-row').count()) === 50, WAIT_MS, 'a full first page');

    // The event-type filter is a picker over the catalog.
    await testId(page, 'picker-eventTypes').locator('summary').click();
    assert.deepEqual(await offered('picker-eventTypes'), ['invoice.paid', 'order.shipped', 'user.signup']);
    await page.check('[data-testid=picker-eventTypes] input[value="user.signup"]');
    await page.click('[data-testid=message-filters] button[type=submit]');
    await page.waitForURL(/types=user\.signup/);
    await eventually(async () => (await testId(page, 'message-row').count()) === 3, WAIT_MS, 'the three user.signup messages');

    // Into a message and Back: the filter is still applied and shown.
    await testId(page, 'message-row').first().locator('a').click();
    await testId(page, 'message-detail').waitFor();
    await page.goBack();
    await eventually(async () => (await testId(page, 'message-row').count()) === 3, WAIT_MS, 'the filtered list after Back');
    assert.equal(await testId(page, 'picker-eventTypes').locator('summary').innerText(), 'user.signup');

    // A bookmark of the filtered URL opens the same list.
    const bookmark = page.url();
    await page.goto(dashboard(`/app/${appId}/endpoints`));
    await page.goto(bookmark);
    await eventually(async () => (await testId(page, 'message-row').count()) === 3, WAIT_MS, 'the bookmarked list');

    // Pages: Older puts the iterator in the URL; a reload keeps the page; Back returns to the first page.
    await testId(page, 'reset-filters').click();
    await eventually(async () => (await testId(page, 'message-row').count()) === 50, WAIT_MS, 'the first page again');
    const firstOfFirst = await testId(page, 'message-row').first().getAttribute('data-msg-id');
    await testId(page, 'older').click();
    await page.waitForURL(/iterator=/);
    await eventually(async () => (await testId(page, 'message-row').count()) === 6, WAIT_MS, 'the six oldest messages');
    const firstOfSecond = await testId(page, 'message-row').first().getAttribute('data-msg-id');
    await page.reload();
    await eventually(async () => (await testId(page, 'message-row').first().getAttribute('data-msg-id')) === firstOfSecond, WAIT_MS, 'the same page after a reload');
    await testId(page, 'newer').click();
    await eventually(async () => (await testId(page, 'message-row').first().getAttribute('data-msg-id')) === firstOfFirst, WAIT_MS, 'Newer back to the newest');
    await page.goBack();
    await eventually(async () => (await testId(page, 'message-row').first().getAttribute('data-msg-id')) === firstOfSecond, WAIT_MS, 'Back to the older page');
  });

  test('after a resend, Deliveries counts every attempt; resending a delivered message asks first', async () => {
    const msgId = await publish(appId, 'invoice.paid');
    await page.goto(dashboard(`/app/${appId}/messages/${msgId}`));
    await testId(page, 'delivery-row', '[data-status=success]').waitFor();
    assert.equal(await testId(page, 'delivery-attempts').innerText(), '1');

    await testId(page, 'resend').click();
    await testId(page, 'confirm-cancel').click();
    await page.waitForTimeout(300);
    assert.equal(await testId(page, 'attempt-row').count(), 1, 'Cancel resends nothing');

    await testId(page, 'resend').click();
    await confirm(page, /already received this message/);
    await eventually(async () => (await testId(page, 'attempt-row').count()) === 2, WAIT_MS, 'the second attempt');
    await eventually(async () => (await testId(page, 'delivery-attempts').innerText()) === '2', WAIT_MS, 'Attempts 2 beside two attempts');
  });

  test('attempt detail: request and response headers and bodies, ids and bodies to copy', async () => {
    const msgId = await publish(appId, 'invoice.paid', { payload: { invoice: 'inv_77', amount: 77 } });
    await page.goto(dashboard(`/app/${appId}/messages/${msgId}`));
    await testId(page, 'attempt-row', '[data-status=success]').waitFor();
    await testId(page, 'attempt-link').first().click();
    await testId(page, 'attempt-detail').waitFor();
    const attemptId = /\/attempts\/(atmpt_\w+)/.exec(page.url())![1]!;
    assert.match(await testId(page, 'response-body').innerText(), /"received": true/);
    assert.match(await testId(page, 'request-body').innerText(), /"invoice": "inv_77"/);
    const sent = await testId(page, 'request-headers').innerText();
    assert.match(sent, new RegExp(`webhook-id\\s+${msgId}`), 'the webhook-id header as sent');
    assert.match(sent, /webhook-signature\s+v1,/);
    assert.match(await testId(page, 'response-headers').innerText(), /content-type\s+application\/json/);

    await testId(page, 'copy-attempt-id').click();
    await eventually(async () => (await clipboard()) === attemptId, WAIT_MS, 'the attempt id on the clipboard');
    await testId(page, 'copy-request-body').click();
    await eventually(async () => JSON.parse(await clipboard()).amount === 77, WAIT_MS, 'the request body on the clipboard');
    await testId(page, 'copy-response-body').click();
    await eventually(async () => (await clipboard()) === '{"received":true}', WAIT_MS, 'the response body on the clipboard');
  });

  test('endpoint page: details, attempts, latency; edit, show and copy the secret, rotate it, send a test event, disable and enable', async () => {
    assert.equal((await hookd.api.put(`/api/v1/app/${appId}/endpoint/${endpointId}/headers`, { headers: { 'x-tenant': 'shop', authorization: 'Bearer s3cret' } })).status, 204);
    await page.goto(dashboard(`/app/${appId}/endpoints`));
    await testId(page, 'endpoint-row', `[data-endpoint-id="${endpointId}"]`).locator('[data-testid=endpoint-link]').click();
    await testId(page, 'endpoint-detail').waitFor();
    assert.match(await testId(page, 'endpoint-facts').innerText(), /shop webhooks/);
    assert.equal(await testId(page, 'circuit-state').innerText(), 'closed');
    await eventually(async () => /x-tenant: shop/.test(await testId(page, 'custom-headers').innerText()), WAIT_MS, 'the custom headers');
    assert.match(await testId(page, 'custom-headers').innerText(), /authorization: \(set, hidden\)/);
    assert.doesNotMatch(await page.content(), /s3cret/, 'a sensitive header value never reaches the page');
    await testId(page, 'attempt-row').first().waitFor();
    assert.ok((await testId(page, 'latency-chart').locator('rect').count()) > 10, 'a bar per attempt');
    await eventually(async () => /p50 \d+ ms · p90 \d+ ms · p99 \d+ ms/.test(await testId(page, 'latency').innerText()), WAIT_MS, 'latency percentiles');
    assert.equal(await testId(page, 'success-rate').innerText(), '100 %');
    // Its attempts page by page, the page in the URL.
    await eventually(async () => (await testId(page, 'attempt-row').count()) === 50, WAIT_MS, 'a full first page of attempts');
    await testId(page, 'older').click();
    await page.waitForURL(/\/endpoints\/ep_\w+\?iterator=/);
    await eventually(async () => (await testId(page, 'attempt-row').count()) < 50, WAIT_MS, 'the older attempts');
    await page.goBack();
    await eventually(async () => (await testId(page, 'attempt-row').count()) === 50, WAIT_MS, 'Back to the newest attempts');

    // Edit: description, event types from the catalog, rate limit.
    await page.fill('[data-testid=edit-endpoint-form] input[name=description]', 'invoices only');
    await testId(page, 'edit-endpoint-form').locator('summary').click();
    await page.check('[data-testid=edit-endpoint-form] input[value="invoice.paid"]');
    await page.fill('[data-testid=edit-endpoint-form] input[name=rateLimit]', '25');
    await page.click('[data-testid=edit-endpoint-form] button[type=submit]');
    assert.equal(await testId(page, 'endpoint-notice').innerText(), 'Endpoint saved.');
    const saved = (await hookd.api.get(`/api/v1/app/${appId}/endpoint/${endpointId}`)).body;
    assert.deepEqual([saved.description, saved.filterTypes, saved.rateLimit], ['invoices only', ['invoice.paid'], 25]);
    await eventually(async () => /invoice\.paid/.test(await testId(page, 'endpoint-facts').innerText()), WAIT_MS, 'the new event types shown');

    // The secret: shown on demand, copied, rotated after a confirmation.
    await testId(page, 'show-secret').click();
    const secret = await testId(page, 'secret').innerText();
    assert.equal(secret, (await hookd.api.get(`/api/v1/app/${appId}/endpoint/${endpointId}/secret`)).body.key);
    await testId(page, 'copy-secret').click();
    await eventually(async () => (await clipboard()) === secret, WAIT_MS, 'the secret on the clipboard');
    await testId(page, 'rotate-secret').click();
    await confirm(page, /keeps signing too/);
    await testId(page, 'show-secret').click();
    const rotated = await testId(page, 'secret').innerText();
    assert.notEqual(rotated, secret);
    assert.equal(rotated, (await hookd.api.get(`/api/v1/app/${appId}/endpoint/${endpointId}/secret`)).body.key);

    // A test event goes to this endpoint only: svix.ping, or the example of an event type that has one.
    assert.deepEqual(await testId(page, 'send-test-form').locator('option').allInnerTexts(), ['svix.ping (a ping, {"success": true})', 'invoice.paid (its schema example)']);
    // Another endpoint of the application that would take every message: it gets none of these.
    const bystander = await createEndpoint(appId, `${receiver.url}/bystander`);
    const before = receiver.requests.length;
    await page.click('[data-testid=send-test-form] button[type=submit]');
    await eventually(async () => /Test event msg_\w+ \(svix\.ping\) sent to this endpoint/.test(await testId(page, 'endpoint-notice').innerText()), WAIT_MS, 'the ping notice');
    await page.selectOption('[data-testid=send-test-form] select[name=eventType]', 'invoice.paid');
    await page.click('[data-testid=send-test-form] button[type=submit]');
    await eventually(async () => /\(invoice\.paid\) sent to this endpoint/.test(await testId(page, 'endpoint-notice').innerText()), WAIT_MS, 'the example notice');
    const sent = await receiver.waitFor((requests) => requests.length >= before + 2, WAIT_MS, 'the two test events');
    assert.deepEqual(
      sent.slice(before).map((r) => [r.path, JSON.parse(r.body)]),
      [
        ['/ok', { success: true }],
        ['/ok', { invoice: 'inv_example', amount: 1 }],
      ],
    );
    assert.equal((await hookd.api.delete(`/api/v1/app/${appId}/endpoint/${bystander}`)).status, 204);

    // Disable asks first and says why it is disabled; Enable does not ask.
    await testId(page, 'toggle-endpoint').click();
    await confirm(page, /Nothing is sent/);
    await eventually(async () => /disabled by API/.test(await testId(page, 'endpoint-state').innerText()), WAIT_MS, 'disabled, and why');
    await testId(page, 'toggle-endpoint').click();
    await eventually(async () => /enabled/.test(await testId(page, 'endpoint-state').innerText()), WAIT_MS, 'enabled again');
    assert.equal((await hookd.api.get(`/api/v1/app/${appId}/endpoint/${endpointId}`)).body.disabled, false);
  });

  test('an endpoint answering 410 Gone shows disabled with that reason; delete asks, then removes it', async () => {
    const gone = await createEndpoint(appId, `${receiver.url}/gone`, { filterTypes: ['order.shipped'] });
    await publish(appId, 'order.shipped');
    await page.goto(dashboard(`/app/${appId}/endpoints`));
    const row = testId(page, 'endpoint-row', `[data-endpoint-id="${gone}"]`);
    await eventually(async () => /410 Gone/.test(await row.innerText()), WAIT_MS, 'the reason in the list');
    await row.locator('[data-testid=endpoint-link]').click();
    assert.match(await testId(page, 'disabled-reason').innerText(), /endpoint answered 410 Gone/);

    await testId(page, 'delete-endpoint').click();
    await confirm(page, /cannot be undone/);
    await page.waitForURL(/\/endpoints$/);
    await eventually(async () => (await testId(page, 'endpoint-row', `[data-endpoint-id="${gone}"]`).count()) === 0, WAIT_MS, 'the row gone');
    assert.equal((await hookd.api.get(`/api/v1/app/${appId}/endpoint/${gone}`)).status, 404);
  });

  test("an endpoint whose receiver refuses connections shows its circuit open on its page", async () => {
    const other = (await hookd.api.post('/api/v1/app', { name: 'refused' })).body.id as string;
    const refused = await createEndpoint(other, `http://127.0.0.1:${await freePort()}/hook`);
    for (let i = 0; i < 2; i++) await publish(other, 'invoice.paid');
    await page.goto(dashboard(`/app/${other}/endpoints/${refused}`));
    await eventually(async () => (await testId(page, 'circuit-state').innerText()) === 'open', WAIT_MS, 'the circuit open');
    assert.match(await testId(page, 'endpoint-facts').innerText(), /connection failures or timeouts in a row/);
    assert.match(await testId(page, 'endpoint-attempts').innerText(), /failed/);
    assert.match(await testId(page, 'endpoint-state').innerText(), /failing\s+enabled; failing since /);
    // The list says so too: its success rate counts finished deliveries only, and these are still being retried.
    await page.goto(dashboard(`/app/${other}/endpoints`));
    const row = testId(page, 'endpoint-row', `[data-endpoint-id="${refused}"]`);
    await eventually(async () => /enabled; failing since /.test(await row.innerText()), WAIT_MS, 'failing in the list');
  });

  test('event types page: create, archive and delete after confirmations; the pickers offer only active types', async () => {
    const shippingApp = (await hookd.api.post('/api/v1/app', { name: 'shipping' })).body.id as string;
    const shipping = await createEndpoint(shippingApp, `${receiver.url}/shipping`, { filterTypes: ['order.shipped'] });
    await testId(page, 'nav-event-types').click();
    await testId(page, 'event-type-row').first().waitFor();
    await page.fill('[data-testid=create-event-type-form] input[name=name]', 'refund.issued');
    await page.fill('[data-testid=create-event-type-form] input[name=description]', 'Money went back');
    await page.click('[data-testid=create-event-type-form] button[type=submit]');
    const row = testId(page, 'event-type-row', '[data-name="refund.issued"]');
    await row.waitFor();
    const archived = testId(page, 'event-type-row', '[data-name="order.shipped"]');
    await archived.locator('[data-testid=archive-event-type]').click();
    await confirm(page, /Archive order\.shipped/);
    await testId(page, 'event-type-row', '[data-name="order.shipped"][data-archived=true]').waitFor();
    assert.equal((await hookd.api.get('/api/v1/event-type/order.shipped')).body.archived, true);
    // An archived type can be deleted for good, after a confirmation.
    await testId(page, 'event-type-row', '[data-name="refund.issued"]').locator('[data-testid=archive-event-type]').click();
    await confirm(page, /Archive refund\.issued/);
    await testId(page, 'event-type-row', '[data-name="refund.issued"]').locator('[data-testid=delete-event-type]').click();
    await confirm(page, /Delete refund\.issued for good/);
    await eventually(async () => (await testId(page, 'event-type-row', '[data-name="refund.issued"]').count()) === 0, WAIT_MS, 'refund.issued gone');
    assert.equal((await hookd.api.get('/api/v1/event-type/refund.issued')).status, 404);

    await page.goto(dashboard(`/app/${appId}/messages`));
    await testId(page, 'picker-eventTypes').locator('summary').click();
    assert.deepEqual(await offered('picker-eventTypes'), ['invoice.paid', 'user.signup']);

    // An endpoint filtering on order.shipped, archived since, can still be edited: the form sends its filter only
    // when it was changed (the API refuses a filter naming an archived type).
    await page.goto(dashboard(`/app/${shippingApp}/endpoints/${shipping}`));
    await page.fill('[data-testid=edit-endpoint-form] input[name=description]', 'shipping, renamed');
    await page.click('[data-testid=edit-endpoint-form] button[type=submit]');
    assert.equal(await testId(page, 'endpoint-notice').innerText(), 'Endpoint saved.');
    const saved = (await hookd.api.get(`/api/v1/app/${shippingApp}/endpoint/${shipping}`)).body;
    assert.deepEqual([saved.description, saved.filterTypes], ['shipping, renamed', ['order.shipped']]);
  });

  test('a form submitted twice at once sends one request; a refusal shows the API detail', async () => {
    const back = page.url();
    const logged = admin.errors.length;
    await testId(page, 'nav-event-types').click();
    await testId(page, 'event-type-row').first().waitFor();
    const form = '[data-testid=create-event-type-form]';
    await page.fill(`${form} input[name=name]`, 'twice.submitted');
    const posts: string[] = [];
    const count = (request: { method(): string; url(): string }): void => {
      if (request.method() === 'POST' && request.url().endsWith('/api/v1/event-type')) posts.push(request.url());
    };
    page.on('request', count);
    try {
      // Both submits in one task: the first request cannot have finished when the second comes.
      await page.$eval(form, (element) => {
        const submittable = element as unknown as { requestSubmit(): void };
        submittable.requestSubmit();
        submittable.requestSubmit();
      });
      await testId(page, 'event-type-row', '[data-name="twice.submitted"]').waitFor();
      assert.equal(posts.length, 1, 'one POST for two submits');
      // The same name again: the API refuses it, the form says why, and takes the next submit after the failure.
      for (const attempt of [1, 2]) {
        await page.fill(`${form} input[name=name]`, 'twice.submitted');
        const answered = page.waitForResponse((response) => response.request().method() === 'POST' && response.url().endsWith('/api/v1/event-type'));
        await page.click(`${form} button[type=submit]`);
        assert.equal((await answered).status(), 409);
        await page.locator(`${form} .error`, { hasText: 'already exists' }).waitFor();
        assert.equal(posts.length, 1 + attempt);
      }
      // The browser's console notes for exactly those two 409s, and nothing else, are this journey's.
      await eventually(async () => admin.errors.length - logged >= 2, WAIT_MS, 'the console notes of the two 409s');
      const notes = admin.errors.splice(logged);
      assert.equal(notes.length, 2, notes.join('\n'));
      for (const note of notes) assert.match(note, /status of 409/);
    } finally {
      page.off('request', count);
      await hookd.api.delete('/api/v1/event-type/twice.submitted?expunge=true');
      await page.goto(back);
    }
  });

  test('inbound sources page: create one, see its ingest URL, delete it after a confirmation', async () => {
    await testId(page, 'nav-sources').click();
    await testId(page, 'sources-table').waitFor();
    await page.fill('[data-testid=create-source-form] input[name=name]', 'Payments provider');
    await page.selectOption('[data-testid=create-source-form] select[name=scheme]', 'api-key');
    await page.fill('[data-testid=create-source-form] input[name=secret]', 'a-long-shared-secret-1234');
    await page.fill('[data-testid=create-source-form] input[name=default]', 'invoice.paid');
    await page.click('[data-testid=create-source-form] button[type=submit]');
    const row = testId(page, 'source-row');
    await row.waitFor();
    const sourceId = (await row.getAttribute('data-source-id'))!;
    assert.match(await row.innerText(), new RegExp(`${hookd.url}/ingest/${sourceId}`));
    assert.match(await row.innerText(), /api-key/);

    await row.locator('[data-testid=delete-source]').click();
    await confirm(page, /Delete the source Payments provider/);
    await eventually(async () => (await testId(page, 'source-row').count()) === 0, WAIT_MS, 'the source gone');
    assert.equal((await hookd.api.get(`/api/v1/app/${appId}/source`)).body.data.length, 0);
  });

  test('dead letters: Recover proposes the failing endpoint and asks; bulk resend asks, then delivers them all', async () => {
    const ledger = (await hookd.api.post('/api/v1/app', { name: 'Ledger' })).body.id as string;
    // The healthy endpoint comes first in the application's list; the failing one is the one to recover.
    await createEndpoint(ledger, `${receiver.url}/ok`);
    const flaky = await createEndpoint(ledger, `${receiver.url}/flaky`);
    flakyStatus = 500;
    const failed = [await publish(ledger, 'invoice.paid'), await publish(ledger, 'invoice.paid')];
    await eventually(async () => (await hookd.api.get(`/api/v1/app/${ledger}/delivery?status=2`)).body.data.length === 2, WAIT_MS, 'two dead letters');

    await page.goto(dashboard(`/app/${ledger}/dead-letters`));
    for (const id of failed) await testId(page, 'dead-letter-row', `[data-msg-id="${id}"]`).waitFor();
    await eventually(async () => (await page.inputValue('[data-testid=recover-form] select[name=endpoint]')) === flaky, WAIT_MS, 'Recover proposing the failing endpoint');
    await page.click('[data-testid=recover-form] button[type=submit]');
    assert.match(await testId(page, 'confirm-dialog').innerText(), /flaky/);
    await testId(page, 'confirm-cancel').click();
    assert.equal((await hookd.api.get(`/api/v1/app/${ledger}/delivery?status=2`)).body.data.length, 2, 'Cancel recovers nothing');

    flakyStatus = 200;
    assert.equal(await testId(page, 'bulk-resend').isDisabled(), true, 'nothing selected yet');
    await testId(page, 'select-all').check();
    assert.match(await testId(page, 'bulk-resend').innerText(), /Resend selected \(2\)/);
    await testId(page, 'bulk-resend').click();
    await confirm(page, /Resend 2 deliveries/);
    assert.match(await testId(page, 'dead-letters-notice').innerText(), /2 of 2 deliveries scheduled again/);
    await testId(page, 'no-dead-letters').waitFor();
    await eventually(async () => (await hookd.api.get(`/api/v1/app/${ledger}/msg-status?status=0`)).body.data.length === 2, WAIT_MS, 'both delivered');

    // Recover after a confirmation.
    flakyStatus = 500;
    await publish(ledger, 'invoice.paid');
    await eventually(async () => (await hookd.api.get(`/api/v1/app/${ledger}/delivery?status=2`)).body.data.length === 1, WAIT_MS, 'one dead letter');
    flakyStatus = 200;
    await testId(page, 'dead-letter-row').waitFor();
    await page.click('[data-testid=recover-form] button[type=submit]');
    await confirm(page, /Every failed delivery to/);
    await eventually(async () => /1 failed delivery scheduled again/.test(await testId(page, 'dead-letters-notice').innerText()), WAIT_MS, 'the recover notice');
    await testId(page, 'no-dead-letters').waitFor();
  });

  test("an endpoint added later: Replay on its page asks, then sends it the messages of its event types it missed, once", async () => {
    const shop = (await hookd.api.post('/api/v1/app', { name: 'Shop' })).body.id as string;
    await createEndpoint(shop, `${receiver.url}/ok`);
    const missed = [await publish(shop, 'invoice.paid'), await publish(shop, 'invoice.paid')];
    await publish(shop, 'user.signup');
    const late = await createEndpoint(shop, `${receiver.url}/late-op`, { filterTypes: ['invoice.paid'] });
    const lateRequests = () => receiver.requests.filter((r) => r.path === '/late-op');
    const errorsBefore = admin.errors.length;

    await page.goto(dashboard(`/app/${shop}/endpoints/${late}`));
    await page.click('[data-testid=replay-form] button[type=submit]');
    assert.match(await testId(page, 'confirm-dialog').innerText(), /late-op.*never received/s);
    await testId(page, 'confirm-cancel').click();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(lateRequests().length, 0, 'Cancel sends nothing');

    await page.click('[data-testid=replay-form] button[type=submit]');
    await confirm(page, /Messages it already had are not sent again/);
    await eventually(async () => /2 missed messages sent to this endpoint/.test(await testId(page, 'endpoint-notice').innerText()), WAIT_MS, 'the replay notice');
    await eventually(async () => lateRequests().length === 2, WAIT_MS, 'the missed messages at the new endpoint');
    assert.deepEqual(lateRequests().map((r) => r.headers['webhook-id']).sort(), [...missed].sort(), 'its event type only');

    await page.click('[data-testid=replay-form] button[type=submit]');
    await confirm(page, /never received/);
    await eventually(async () => /0 missed messages sent to this endpoint/.test(await testId(page, 'endpoint-notice').innerText()), WAIT_MS, 'nothing left to replay');
    assert.equal(lateRequests().length, 2);
    assertNoPageErrors(admin.errors.slice(errorsBefore));
  });

  test('API keys page: create a scoped key (token shown once, copied), revoke it after a confirmation', async () => {
    // An app-portal token is listed as what it is: read-only, expiring.
    assert.equal((await hookd.api.post(`/api/v1/auth/app-portal-access/${appId}`, { readOnly: true, expiry: 3600 })).status, 200);
    await testId(page, 'nav-api-keys').click();
    await eventually(async () => (await testId(page, 'api-key-row').filter({ hasText: 'read-only' }).count()) === 1, WAIT_MS, 'the portal token listed');
    assert.match(await testId(page, 'api-key-row').filter({ hasText: 'read-only' }).innerText(), /active · expires .* · read-only/);
    await testId(page, 'api-key-row').first().waitFor();
    await page.fill('[data-testid=create-api-key-form] input[name=name]', 'shop support');
    await page.selectOption('[data-testid=create-api-key-form] select[name=appId]', appId);
    await page.click('[data-testid=create-api-key-form] button[type=submit]');
    await testId(page, 'new-token').waitFor();
    await testId(page, 'copy-token').click();
    const token = await eventually(async () => {
      const text = await clipboard();
      return text.startsWith('hookd_') ? text : null;
    }, WAIT_MS, 'the token on the clipboard');
    assert.match(await testId(page, 'new-token').innerText(), new RegExp(token));

    // What a key scoped to one application sees: its application, no admin-only forms or pages.
    const scoped = await openPage(browser, hookd.url);
    await login(scoped.page, hookd.url, token);
    await eventually(async () => (await testId(scoped.page, 'app-row').count()) === 1, WAIT_MS, 'its one application');
    assert.match(await testId(scoped.page, 'apps-table').innerText(), /Shop/);
    await scoped.page.waitForTimeout(500);
    assert.equal(await testId(scoped.page, 'create-app-form').count(), 0, 'no New application form');
    assert.equal(await testId(scoped.page, 'nav-api-keys').count(), 0, 'no API keys page');
    await testId(scoped.page, 'nav-event-types').click();
    await testId(scoped.page, 'event-type-row').first().waitFor();
    assert.equal(await testId(scoped.page, 'create-event-type-form').count(), 0, 'no New event type form');
    assert.equal(await testId(scoped.page, 'archive-event-type').count(), 0, 'no Archive buttons');
    await scoped.page.goto(dashboard(`/app/${appId}/endpoints`));
    await testId(scoped.page, 'endpoint-row').first().waitFor();
    // It may set its application's throttle, not its ingest limit (the API refuses that to a scoped key).
    await testId(scoped.page, 'app-settings-form').waitFor();
    assert.equal(await scoped.page.locator('[data-testid=app-settings-form] input[name=ingestRateLimit]').count(), 0, 'no ingest limit field');
    await scoped.page.fill('[data-testid=app-settings-form] input[name=throttleRate]', '9');
    await scoped.page.click('[data-testid=app-settings-form] button[type=submit]');
    await eventually(async () => (await hookd.api.get(`/api/v1/app/${appId}`)).body.throttleRate === 9, WAIT_MS, 'the throttle set by the scoped key');
    assert.equal((await hookd.api.patch(`/api/v1/app/${appId}`, { throttleRate: null })).status, 200);
    assertNoPageErrors(scoped.errors, [403]);

    const row = testId(page, 'api-key-row', '[data-revoked=false]').filter({ hasText: 'shop support' });
    await row.locator('[data-testid=revoke-key]').click();
    await confirm(page, /Revoke the key shop support/);
    await testId(page, 'api-key-row', '[data-revoked=true]').filter({ hasText: 'shop support' }).waitFor();
    // The scoped page is sent back to the login form at its next poll.
    await scoped.page.waitForURL(/\/dashboard\/login$/, { timeout: WAIT_MS });
    await scoped.context.close();
  });

  test("application settings: an admin sets the throttle and the ingest limit; an endpoint without its own rate shows the application's", async () => {
    const throttled = (await hookd.api.post('/api/v1/app', { name: 'Throttled' })).body.id as string;
    const own = await createEndpoint(throttled, `${receiver.url}/ok/own`, { rateLimit: 3 });
    const inherits = await createEndpoint(throttled, `${receiver.url}/ok/inherits`);
    await page.goto(dashboard(`/app/${throttled}/endpoints`));
    await testId(page, 'app-settings-form').waitFor();
    assert.equal(await page.inputValue('[data-testid=app-settings-form] input[name=throttleRate]'), '', 'no throttle yet');
    await page.fill('[data-testid=app-settings-form] input[name=name]', 'Throttled shop');
    await page.fill('[data-testid=app-settings-form] input[name=throttleRate]', '7');
    await page.fill('[data-testid=app-settings-form] input[name=ingestRateLimit]', '50');
    await page.click('[data-testid=app-settings-form] button[type=submit]');
    await testId(page, 'app-settings-form').getByText('Saved.').waitFor();
    const saved = (await hookd.api.get(`/api/v1/app/${throttled}`)).body;
    assert.deepEqual([saved.name, saved.throttleRate, saved.rateLimit, saved.ingestRateLimit], ['Throttled shop', 7, 7, 50]);
    await page.goto(dashboard(`/app/${throttled}/endpoints/${inherits}`));
    await eventually(async () => /^7 messages\/s \(the application's throttle\)$/.test(await testId(page, 'rate-limit').innerText()), WAIT_MS, 'the inherited throttle');
    await page.goto(dashboard(`/app/${throttled}/endpoints/${own}`));
    await eventually(async () => (await testId(page, 'rate-limit').innerText()) === '3 messages/s', WAIT_MS, "the endpoint's own rate");
    // Emptied, the ingest limit falls back to the server's default (absent on the wire), and 0 means none.
    await page.goto(dashboard(`/app/${throttled}/endpoints`));
    await page.fill('[data-testid=app-settings-form] input[name=ingestRateLimit]', '');
    await page.fill('[data-testid=app-settings-form] input[name=throttleRate]', '');
    await page.click('[data-testid=app-settings-form] button[type=submit]');
    await eventually(async () => (await hookd.api.get(`/api/v1/app/${throttled}`)).body.throttleRate === undefined, WAIT_MS, 'the throttle removed');
    assert.equal((await hookd.api.get(`/api/v1/app/${throttled}`)).body.ingestRateLimit, undefined);
  });

  test('the endpoints page of 60 endpoints makes one request per poll', async (t) => {
    const fleet = (await hookd.api.post('/api/v1/app', { name: 'Fleet' })).body.id as string;
    for (let i = 0; i < 60; i++) await createEndpoint(fleet, `${receiver.url}/ok/${i}`);
    await page.goto(dashboard(`/app/${fleet}/endpoints`));
    await eventually(async () => (await testId(page, 'endpoint-row').count()) === 60, WAIT_MS, 'sixty rows');
    const seen: string[] = [];
    const record = (request: { url(): string }) => {
      if (request.url().includes('/api/')) seen.push(new URL(request.url()).pathname);
    };
    page.on('request', record);
    await page.waitForTimeout(6500);
    page.off('request', record);
    // Polls every 3 s: two or three in 6.5 s, each a single endpoint-health request (it used to be 121 in 4 s).
    t.diagnostic(`API requests in 6.5 s with 60 endpoints: ${seen.length}`);
    assert.ok(seen.length >= 2 && seen.length <= 3, `requests in 6.5 s: ${seen.length}`);
    assert.deepEqual(new Set(seen), new Set([`/api/v1/app/${fleet}/endpoint-health`]));
  });

  test('no script errors or CSP violations in any journey', () => {
    // The only console notes allowed are the browser's own for the 404 the unknown-message journey asked for.
    assertNoPageErrors(admin.errors, [404]);
  });
});
