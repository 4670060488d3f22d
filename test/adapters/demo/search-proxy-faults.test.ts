/**
 * Fault injection over real sockets: the proxy (node:http), the HTTP JSON adapter and two demo backends on
 * 127.0.0.1. Time is real here (sockets), so nothing asserts a duration: "the proxy did not wait" is proved by
 * the backend still holding the request when the answer arrives, and recovery is awaited by polling with a
 * bound.
 */
import { startDemoProxy, type DemoProxy } from '../../../lib/adapters/demo/demo-proxy';
import type { DemoBackendStatus } from '../../../lib/adapters/demo/demo-backend';

const VECTOR = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

interface SearchAnswer {
  status: number;
  headers: Headers;
  body: { servedBy?: string; degraded?: boolean; degradedReason?: string; results?: unknown[]; error?: { code: string; message: string; details?: Record<string, { outcome: string }> } };
}

let demo: DemoProxy;
const logs: string[] = [];

async function search(): Promise<SearchAnswer> {
  const r = await fetch(`${demo.url}/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vector: VECTOR, topK: 5 }) });
  return { status: r.status, headers: r.headers, body: (await r.json()) as SearchAnswer['body'] };
}

async function setMode(role: 'primary' | 'fallback', mode: string, extra: Record<string, unknown> = {}): Promise<void> {
  const r = await fetch(`${demo.url}/demo/backends/${role}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode, ...extra }) });
  expect(r.status).toBe(200);
}

async function backends(): Promise<Record<'primary' | 'fallback', DemoBackendStatus>> {
  return (await (await fetch(`${demo.url}/demo/backends`)).json()) as Record<'primary' | 'fallback', DemoBackendStatus>;
}

async function health(): Promise<{ status: string; breakers: Record<string, { state: string }> }> {
  return (await (await fetch(`${demo.url}/health`)).json()) as { status: string; breakers: Record<string, { state: string }> };
}

/** Poll until `ok` holds, at most `limit` tries 50 ms apart; returns the last answer. */
async function until(ok: (a: SearchAnswer) => boolean, limit = 100): Promise<SearchAnswer> {
  let last = await search();
  for (let i = 0; i < limit && !ok(last); i++) {
    await new Promise((r) => setTimeout(r, 50));
    last = await search();
  }
  return last;
}

beforeEach(async () => {
  logs.length = 0;
  demo = await startDemoProxy({
    settings: {
      deadlineMs: 600,
      primaryTimeoutMs: 200,
      consecutiveFailures: 3,
      errorThresholdPercent: 50,
      minimumRequests: 6,
      // long enough that the requests right after opening are certainly rejected, short enough to wait for
      resetTimeoutMs: 1000,
      successThreshold: 2,
    },
    log: (l) => logs.push(l),
  });
});

afterEach(async () => {
  await demo.close();
});

it('backend refusing connections: fallback serves, the breaker opens, probes after recovery and closes', async () => {
  await setMode('primary', 'down');
  for (let i = 0; i < 3; i++) {
    const a = await search();
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ servedBy: 'fallback', degraded: true, degradedReason: 'error' });
    expect(a.headers.get('x-search-degraded')).toBe('true');
  }
  expect((await health()).status).toBe('degraded');
  const open = await search();
  expect(open.body.degradedReason).toBe('breaker_open');
  expect((await backends()).primary.requests).toBe(0); // refused connections never reached it

  await setMode('primary', 'ok');
  const back = await until((a) => a.body.servedBy === 'primary');
  expect(back.body).toMatchObject({ servedBy: 'primary', degraded: false });
  await until((a) => a.body.servedBy === 'primary' && logs.some((l) => l.includes('search-primary CLOSED')));
  expect((await health()).status).toBe('healthy');
  expect(logs.filter((l) => /search-primary (OPEN|HALF-OPEN|CLOSED)/.test(l)).map((l) => l.replace(/.*search-primary /, ''))).toEqual([
    'OPEN (failures)',
    'HALF-OPEN (recovery_timeout)',
    'CLOSED (probes_succeeded)',
  ]);
});

it('backend hanging past the deadline: the answer comes from the fallback while the primary still holds the request', async () => {
  await setMode('primary', 'slow', { slowMs: 60_000 });
  const a = await search();
  expect(a.body).toMatchObject({ servedBy: 'fallback', degraded: true, degradedReason: 'timeout' });
  const b = await backends();
  expect(b.primary.requests).toBe(1);
  expect(b.primary.holding).toBe(1);
});

it('5xx burst: fallback serves during the burst, the breaker opens, and closes again after recovery', async () => {
  await setMode('primary', 'error', { errorStatus: 503 });
  const during = [];
  for (let i = 0; i < 5; i++) during.push(await search());
  expect(during.every((a) => a.body.servedBy === 'fallback' && a.body.degraded)).toBe(true);
  expect(during.map((a) => a.body.degradedReason)).toEqual(['error', 'error', 'error', 'breaker_open', 'breaker_open']);
  expect((await backends()).primary.requests).toBe(3); // three failures, then the breaker held the rest back
  await setMode('primary', 'ok');
  const after = await until((a) => a.body.servedBy === 'primary');
  expect(after.body.degraded).toBe(false);
});

it('flapping backend: the error percentage opens the breaker although failures never come 3 in a row', async () => {
  let i = 0;
  let opened = false;
  for (; i < 12 && !opened; i++) {
    await setMode('primary', i % 2 === 0 ? 'error' : 'ok');
    await search();
    opened = (await health()).breakers['primary']!.state === 'open';
  }
  expect(opened).toBe(true);
  expect(i).toBeGreaterThanOrEqual(6); // the minimum volume
  expect(logs.some((l) => l.includes('search-primary OPEN (failures)'))).toBe(true);
  await setMode('primary', 'ok');
  await until((a) => a.body.servedBy === 'primary');
  const closed = await until(() => logs.some((l) => l.includes('search-primary CLOSED')));
  expect(closed.body.servedBy).toBe('primary');
});

it('both backends down: a clear 503 with the reasons, not a hang', async () => {
  await setMode('primary', 'down');
  await setMode('fallback', 'error', { errorStatus: 500 });
  const a = await search();
  expect(a.status).toBe(503);
  expect(a.body.error?.code).toBe('backends_unavailable');
  expect(a.body.error?.message).toMatch(/^no vector backend could answer: primary: .*ECONNREFUSED.*; fallback: .*HTTP 500/);
});

it('both backends hanging: 503 at the deadline while both still hold their requests', async () => {
  await setMode('primary', 'slow', { slowMs: 60_000 });
  await setMode('fallback', 'slow', { slowMs: 60_000 });
  const a = await search();
  expect(a.status).toBe(503);
  expect(a.body.error?.details).toMatchObject({ primary: { outcome: 'timeout' }, fallback: { outcome: 'timeout' } });
  const b = await backends();
  expect([b.primary.holding, b.fallback.holding]).toEqual([1, 1]);
});
