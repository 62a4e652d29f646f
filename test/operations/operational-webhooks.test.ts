import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { generateSecret } from '../../src/domain/signing.js';
import { OPERATOR_APP_UID } from '../../src/operations/operator.js';
import { eventually, startTestHookd, tempDir, type TestHookd } from '../helpers/hookd.js';
import { freshDatabase, testDatabaseUrl } from '../helpers/process.js';
import { Receiver, type ReceivedRequest } from '../helpers/receiver.js';

/**
 * Operational webhooks over real HTTP on both stores: a real Receiver is the operator URL; every event is
 * verified with the standardwebhooks package against HOOKD_OPERATIONAL_WEBHOOK_SECRET.
 */

const stores = [
  { name: 'sqlite', database: async () => ({ env: {}, drop: async () => undefined }) },
  {
    name: 'postgres',
    database: async () => {
      const db = await freshDatabase(testDatabaseUrl(), 'hookd_opwebhooks');
      return { env: { DATABASE_URL: db.url }, drop: db.drop };
    },
  },
];

interface OperationalEvent {
  type: string;
  timestamp: string;
  data: Record<string, any>;
}

for (const { name, database } of stores) {
  describe(`operational webhooks (${name})`, () => {
    let hookd: TestHookd & { cleanup: () => Promise<void> };
    let drop: () => Promise<void>;
    let operator: Receiver;
    const receivers: Receiver[] = [];
    const secret = generateSecret();
    let appId: string;
    let operatorFailures = 0;

    before(async () => {
      // The operator's own receiver is down for its first 3 requests: events are retried like any webhook.
      operator = await Receiver.start((_request, response) => {
        if (operatorFailures < 3) {
          operatorFailures++;
          response.writeHead(500);
          response.end('not yet');
          return;
        }
        response.writeHead(204);
        response.end();
      });
      const db = await database();
      drop = db.drop;
      hookd = await startTestHookd({
        env: {
          ...db.env,
          // 6 attempts: failing goes out after the 4th, exhausted after the 6th.
          HOOKD_RETRY_SCHEDULE: '100ms,100ms,100ms,100ms,100ms',
          HOOKD_OPERATIONAL_WEBHOOK_URL: `${operator.url}/ops`,
          HOOKD_OPERATIONAL_WEBHOOK_SECRET: secret,
        },
      });
      appId = (await hookd.api.post('/api/v1/app', { name: 'tenant', uid: 'tenant-ops' })).body.id;
    });
    after(async () => {
      await hookd?.cleanup();
      await drop?.();
      await operator.close();
      for (const r of receivers) await r.close();
    });

    /** Verified events received for one message, in arrival order (a 500 answered request is retried, so deduplicated). */
    const eventsFor = (msgId: string): OperationalEvent[] => {
      const seen = new Set<string>();
      const events: OperationalEvent[] = [];
      for (const request of operator.requests as ReceivedRequest[]) {
        const event = new StandardWebhook(secret).verify(request.body, request.headers as Record<string, string>) as OperationalEvent;
        if (event.data.msgId !== msgId || seen.has(String(request.headers['webhook-id']))) continue;
        seen.add(String(request.headers['webhook-id']));
        events.push(event);
      }
      return events;
    };
    const waitForEvents = async (msgId: string, types: string[]): Promise<OperationalEvent[]> => {
      await operator.waitFor(() => types.every((type) => eventsFor(msgId).some((e) => e.type === type)), 10_000, types.join(', '));
      return eventsFor(msgId);
    };

    async function endpointAnswering(answers: (n: number) => number, eventType: string) {
      let calls = 0;
      const receiver = await Receiver.start((_request, response) => {
        response.writeHead(answers(++calls));
        response.end();
      });
      receivers.push(receiver);
      await hookd.api.createEventTypes(eventType);
      const endpoint = (await hookd.api.post(`/api/v1/app/${appId}/endpoint`, { url: `${receiver.url}/hook`, filterTypes: [eventType] })).body;
      return { receiver, endpoint };
    }

    async function send(eventType: string, eventId: string): Promise<string> {
      const response = await hookd.api.post(`/api/v1/app/${appId}/msg`, { eventType, eventId, payload: { eventId } });
      assert.equal(response.status, 202);
      return response.body.id as string;
    }

    test('a delivery that keeps failing raises message.attempt.failing at its 4th failed attempt and message.attempt.exhausted after its last', async () => {
      const { receiver, endpoint } = await endpointAnswering(() => 500, 'always.failing');
      const msgId = await send('always.failing', 'evt-exhausted');
      const events = await waitForEvents(msgId, ['message.attempt.failing', 'message.attempt.exhausted']);
      assert.deepEqual(events.map((e) => e.type).sort(), ['message.attempt.exhausted', 'message.attempt.failing']);
      assert.equal(receiver.requests.length, 6);
      const attempts = (await hookd.api.get(`/api/v1/app/${appId}/attempt/msg/${msgId}?endpoint_id=${endpoint.id}`)).body.data as { id: string; timestamp: string; responseDurationMs: number }[];
      const [newest, , fourth] = [...attempts].sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, 3);
      const byType = new Map(events.map((e) => [e.type, e]));
      const base = { appId, appUid: 'tenant-ops', msgId, msgEventId: 'evt-exhausted', endpointId: endpoint.id };
      const failing = byType.get('message.attempt.failing')!;
      assert.deepEqual({ ...failing.data, lastAttempt: { ...failing.data.lastAttempt, timestamp: 'x' } }, { ...base, lastAttempt: { id: fourth!.id, responseStatusCode: 500, timestamp: 'x' } });
      assert.ok(Number.isFinite(Date.parse(failing.data.lastAttempt.timestamp)));
      const exhausted = byType.get('message.attempt.exhausted')!;
      assert.deepEqual(exhausted.data.lastAttempt.id, newest!.id, 'exhausted names the last attempt');
      // The event happened when the last attempt ended; its lastAttempt is stamped as the attempt list stamps it, at its start.
      assert.equal(exhausted.data.lastAttempt.timestamp, newest!.timestamp);
      assert.equal(Date.parse(exhausted.timestamp) - Date.parse(newest!.timestamp), newest!.responseDurationMs);
    });

    test('a delivery that succeeds after a failing notice raises message.attempt.recovered; so does a resend after exhaustion', async () => {
      await endpointAnswering((n) => (n <= 4 ? 503 : 200), 'fails.then.works');
      const msgId = await send('fails.then.works', 'evt-recovered');
      const events = await waitForEvents(msgId, ['message.attempt.failing', 'message.attempt.recovered']);
      assert.deepEqual(events.map((e) => e.type).sort(), ['message.attempt.failing', 'message.attempt.recovered']);
      assert.equal(events.find((e) => e.type === 'message.attempt.recovered')!.data.lastAttempt.responseStatusCode, 200);

      // Exhausted (6 failures), then resent by hand and delivered: recovered.
      const { endpoint: second } = await endpointAnswering((n) => (n <= 6 ? 500 : 200), 'exhausted.then.resent');
      const resentId = await send('exhausted.then.resent', 'evt-resent');
      await waitForEvents(resentId, ['message.attempt.exhausted']);
      assert.equal((await hookd.api.post(`/api/v1/app/${appId}/msg/${resentId}/endpoint/${second.id}/resend`)).status, 202);
      const afterResend = await waitForEvents(resentId, ['message.attempt.recovered']);
      assert.deepEqual(afterResend.map((e) => e.type).sort(), ['message.attempt.exhausted', 'message.attempt.failing', 'message.attempt.recovered']);
    });

    test('events go to the reserved hookd-operator application: retried like any webhook, and never about its own deliveries', async () => {
      const operatorApp = (await hookd.api.get(`/api/v1/app/${OPERATOR_APP_UID}`)).body;
      assert.equal(operatorApp.uid, OPERATOR_APP_UID);
      const [endpoint] = (await hookd.api.get(`/api/v1/app/${operatorApp.id}/endpoint`)).body.data;
      assert.equal(endpoint.url, `${operator.url}/ops`);
      assert.equal((await hookd.api.get(`/api/v1/app/${operatorApp.id}/endpoint/${endpoint.id}/secret`)).body.key, secret);

      // Two more events (failing, exhausted); the operator URL answers 500 to its first 3 requests ever.
      await endpointAnswering(() => 500, 'for.the.operator');
      await waitForEvents(await send('for.the.operator', 'evt-operator'), ['message.attempt.exhausted']);
      const messages = (await hookd.api.get(`/api/v1/app/${operatorApp.id}/msg?limit=100`)).body.data as { id: string }[];
      assert.ok(messages.length >= 2);
      await eventually(async () => {
        const delivered = new Set(operator.requests.slice(3).map((r) => String(r.headers['webhook-id'])));
        return messages.every((m) => delivered.has(m.id));
      }, 10_000, 'every operational event delivered in the end');
      assert.equal(operatorFailures, 3);
      const failed = (await hookd.api.get(`/api/v1/app/${operatorApp.id}/attempt/endpoint/${endpoint.id}?status=2`)).body.data;
      assert.equal(failed.length, 3, 'the failures are recorded attempts of the operator app, like any delivery');
      // None of the events is about the operator application itself (its failures raised none: no loops).
      for (const request of operator.requests) {
        const event = new StandardWebhook(secret).verify(request.body, request.headers as Record<string, string>) as OperationalEvent;
        assert.notEqual(event.data.appId, operatorApp.id);
      }
    });
  });
}

test('at start the operator endpoint follows the configured URL and secret', async () => {
  const temp = tempDir();
  const dbPath = `${temp.dir}/hookd.db`;
  const first = generateSecret();
  const second = generateSecret();
  try {
    let hookd = await startTestHookd({ dbPath, env: { HOOKD_OPERATIONAL_WEBHOOK_URL: 'http://127.0.0.1:9/a', HOOKD_OPERATIONAL_WEBHOOK_SECRET: first } });
    const app = (await hookd.api.get(`/api/v1/app/${OPERATOR_APP_UID}`)).body;
    const [endpoint] = (await hookd.api.get(`/api/v1/app/${app.id}/endpoint`)).body.data;
    await hookd.api.patch(`/api/v1/app/${app.id}/endpoint/${endpoint.id}`, { disabled: true });
    await hookd.cleanup();

    hookd = await startTestHookd({ dbPath, env: { HOOKD_OPERATIONAL_WEBHOOK_URL: 'http://127.0.0.1:9/b', HOOKD_OPERATIONAL_WEBHOOK_SECRET: second } });
    try {
      assert.equal((await hookd.api.get(`/api/v1/app/${OPERATOR_APP_UID}`)).body.id, app.id, 'the same application');
      const current = (await hookd.api.get(`/api/v1/app/${app.id}/endpoint/${endpoint.id}`)).body;
      assert.equal(current.url, 'http://127.0.0.1:9/b');
      assert.equal(current.disabled, false);
      assert.equal((await hookd.api.get(`/api/v1/app/${app.id}/endpoint/${endpoint.id}/secret`)).body.key, second);
      assert.equal((await hookd.api.get(`/api/v1/app/${app.id}/endpoint`)).body.data.length, 1);
    } finally {
      await hookd.cleanup();
    }
  } finally {
    temp.cleanup();
  }
});
