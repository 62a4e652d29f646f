import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { newId } from '../../src/domain/ids.js';
import type { Message } from '../../src/domain/types.js';
import { startHookd } from '../../src/server.js';
import { ApiClient, TEST_TOKEN, freePort, tempDir, testEnv } from './hookd.js';
import { freshDatabase, testDatabaseUrl } from './process.js';
import { parsePrometheusText, sampleValue } from '../observability/prometheus-text.js';
import { Receiver, type ReceivedRequest } from './receiver.js';

/**
 * Tenant isolation, end to end (issue 11): tenant A's endpoint is broken in one way (slow, silent, refusing,
 * hostile) and has a backlog; tenant B's healthy endpoint receives a steady stream. B's latency must not notice A.
 * hookd runs in this process (API + worker) on a fresh SQLite file or PostgreSQL database per scenario; the
 * receivers are real HTTP servers on 127.0.0.1.
 */

export type Store = 'sqlite' | 'postgres';

/** How A's receiver treats a request. */
export type Misbehaviour = 'slow' | 'hang' | 'refuse' | 'hostile';

export interface ScenarioResult {
  /** B's end-to-end latencies (ms), API call to arrival, in send order. */
  latencies: number[];
  bSent: number;
  bReceived: number;
  /** Requests A's receiver got (nothing for `refuse`). */
  aRequests: number;
  /** Most requests A's receiver had open at once. */
  aPeakOpen: number;
  /** A's deliveries still pending when B's stream ended. */
  aPendingAtEnd: number;
  /** Attempts recorded for A's endpoint. */
  aAttempts: number;
  /** Those attempts' HTTP status (0: no answer) and duration, newest first. */
  aOutcomes: { statusCode: number; durationMs: number }[];
  /** hookd_endpoint_circuits_open on /metrics at the end. */
  circuitsOpenMetric: number;
  /** GET .../endpoint/{A}/stats at the end: its circuit and in-flight budget. */
  aStats: { circuit: { state: string; failureStreak: number; nextProbeAt: string | null }; concurrency: { limit: number; adaptive: number; inFlight: number } };
  windowMs: number;
}

export const B_RATE = 20;
export const B_SECONDS = 5;
export const A_BACKLOG = 3000;
export const REQUEST_TIMEOUT_MS = 4000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function p(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/**
 * The receivers. A and B share one origin (one server, paths /a and /b: tenants often point at the same SaaS), so
 * per-origin limits are under test too; for `refuse`, A's URL is a port nobody listens on.
 */
async function receivers(kind: Misbehaviour, track: { open: number; peak: number }): Promise<{ aUrl: string; bUrl: string; aRequests: () => number; b: () => ReceivedRequest[]; close: () => Promise<void> }> {
  let hostileTurn = 0;
  const server = await Receiver.start((request, response: ServerResponse) => {
    if (request.path !== '/a') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    track.open++;
    track.peak = Math.max(track.peak, track.open);
    response.on('close', () => track.open--);
    const behaviour = kind === 'hostile' ? (['hang', 'drip', 'cut'] as const)[hostileTurn++ % 3]! : kind;
    switch (behaviour) {
      case 'slow':
        setTimeout(() => {
          if (!response.destroyed) response.writeHead(200).end('ok');
        }, 2000);
        return;
      case 'hang':
        return; // accepts and reads the request, never answers
      case 'drip': {
        // Headers at once, then one byte a second, never finishing.
        response.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => response.write('x'), 1000);
        response.on('close', () => clearInterval(timer));
        return;
      }
      case 'cut':
        (response.req as IncomingMessage).socket.destroy();
        return;
      case 'refuse':
        throw new Error('unreachable: nothing listens for a refusing A');
    }
  });
  const aUrl = kind === 'refuse' ? `http://127.0.0.1:${await freePort()}/a` : `${server.url}/a`;
  return {
    aUrl,
    bUrl: `${server.url}/b`,
    aRequests: () => server.requests.filter((r) => r.path === '/a').length,
    b: () => server.requests.filter((r) => r.path === '/b'),
    close: () => server.close(),
  };
}

/** Runs one scenario on a fresh database of `store`. */
export async function runScenario(store: Store, kind: Misbehaviour): Promise<ScenarioResult> {
  const temp = tempDir('hookd-isolation-');
  const database = store === 'postgres' ? await freshDatabase(testDatabaseUrl(), 'isolation') : null;
  const env: Record<string, string> = {
    HOOKD_REQUEST_TIMEOUT: `${REQUEST_TIMEOUT_MS}ms`,
    HOOKD_POLL_INTERVAL: '1s',
    ...(kind === 'refuse' ? { HOOKD_RETRY_SCHEDULE: '5s,5m,30m,2h,5h,10h,10h' } : { HOOKD_RETRY_SCHEDULE: '1s,2s,4s' }),
    ...(database ? { DATABASE_URL: database.url } : {}),
  };
  const config = loadConfig(testEnv(join(temp.dir, 'hookd.db'), env));
  const hookd = await startHookd({ config, logger: pino({ level: 'silent' }), role: 'all' });
  const track = { open: 0, peak: 0 };
  const receiver = await receivers(kind, track);
  try {
    const api = new ApiClient(hookd.url!, TEST_TOKEN);
    const appA = (await api.post('/api/v1/app', { name: 'tenant A' })).body.id as string;
    const appB = (await api.post('/api/v1/app', { name: 'tenant B' })).body.id as string;
    const endpointA = (await api.post(`/api/v1/app/${appA}/endpoint`, { url: receiver.aUrl })).body.id as string;
    assert.equal((await api.post(`/api/v1/app/${appB}/endpoint`, { url: receiver.bUrl })).status, 201);

    // A's backlog, committed through the store in batches (the same insert as the API's group commit).
    const backlog = kind === 'hostile' ? 0 : A_BACKLOG;
    for (let done = 0; done < backlog; done += 500) {
      const now = Date.now();
      const batch: Message[] = Array.from({ length: Math.min(500, backlog - done) }, (_, i) => ({
        id: newId('msg', now),
        appId: appA,
        eventId: null,
        eventType: 'a.backlog',
        payload: JSON.stringify({ i: done + i }),
        channels: null,
        tags: null,
        createdAt: now,
      }));
      await hookd.store.insertMessages(batch);
    }
    hookd.worker?.wake();
    await sleep(1000); // A's backlog is being worked on (or A's circuit opening) before B starts

    // B: a steady stream, open model (each message at its time, whatever happened before).
    const sentAt = new Map<number, number>();
    const started = Date.now();
    const sends: Promise<unknown>[] = [];
    let hostileSends: Promise<unknown>[] = [];
    for (let i = 0; i < B_RATE * B_SECONDS; i++) {
      const due = started + (i * 1000) / B_RATE;
      await sleep(Math.max(0, due - Date.now()));
      sentAt.set(i, Date.now());
      sends.push(api.post(`/api/v1/app/${appB}/msg`, { eventType: 'b.stream', payload: { i } }).then((r) => assert.equal(r.status, 202)));
      // Hostile: A gets a message with every other one of B's (10/s, no backlog), each met by the next trick.
      if (kind === 'hostile' && i % 2 === 0) hostileSends = [...hostileSends, api.post(`/api/v1/app/${appA}/msg`, { eventType: 'a.hostile', payload: { i } })];
    }
    await Promise.all([...sends, ...hostileSends]);
    const windowMs = Date.now() - started;
    const aPendingAtEnd = (await api.get(`/api/v1/app/${appA}/endpoint/${endpointA}/stats`)).body as { pending: number; sending: number };
    const bSent = sentAt.size;
    const deadline = Date.now() + 15_000;
    while (receiver.b().length < bSent && Date.now() < deadline) await sleep(20);
    const latencies = receiver.b().map((request) => request.at - sentAt.get((JSON.parse(request.body) as { i: number }).i)!);
    const stats = (await api.get(`/api/v1/app/${appA}/endpoint/${endpointA}/stats`)).body;
    const attempts = (await api.get(`/api/v1/app/${appA}/attempt/endpoint/${endpointA}?limit=250`)).body.data as { responseStatusCode: number; responseDurationMs: number }[];
    const metrics = parsePrometheusText(await (await fetch(`${hookd.url}/metrics`)).text());
    return {
      latencies,
      bSent,
      bReceived: receiver.b().length,
      aRequests: receiver.aRequests(),
      aPeakOpen: track.peak,
      aPendingAtEnd: aPendingAtEnd.pending + aPendingAtEnd.sending,
      aAttempts: attempts.length,
      aOutcomes: attempts.map((a) => ({ statusCode: a.responseStatusCode, durationMs: a.responseDurationMs })),
      aStats: { circuit: stats.circuit, concurrency: stats.concurrency },
      circuitsOpenMetric: sampleValue(metrics.samples, 'hookd_endpoint_circuits_open') ?? Number.NaN,
      windowMs,
    };
  } finally {
    await hookd.close();
    await receiver.close();
    await database?.drop();
    temp.cleanup();
  }
}

/** What every scenario asserts about B: everything arrives, p99 under a second, while A is broken. */
export function assertBUnaffected(result: ScenarioResult, what: string): void {
  const p50 = p(result.latencies, 0.5);
  const p99 = p(result.latencies, 0.99);
  const summary = `${what}: B ${result.bReceived}/${result.bSent} delivered, p50 ${p50} ms, p99 ${p99} ms, max ${Math.max(...result.latencies)} ms; A: ${result.aRequests} requests (peak ${result.aPeakOpen} open), ${result.aAttempts} attempts, ${result.aPendingAtEnd} pending at the end, circuit ${result.aStats.circuit.state}, in-flight limit ${result.aStats.concurrency.limit}`;
  console.log(summary);
  assert.equal(result.bReceived, result.bSent, `every one of B's messages arrives (${summary})`);
  assert.ok(p99 < 1000, `B's p99 stays under 1 s (${summary})`);
}
