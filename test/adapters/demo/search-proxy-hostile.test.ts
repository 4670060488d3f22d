/**
 * Issue 14 items 3, 4 and 5 over real sockets: the proxy (node:http), the HTTP JSON adapter and two demo
 * backends on 127.0.0.1. Nothing asserts a duration; recovery is awaited by polling with a bound.
 *  - 3: a query's own fault (a filter nested 5,000 deep) is refused with a 4xx naming the limit before any
 *    backend call, and never counts against a store.
 *  - 4: the fallback breaker recovers even while the primary serves every request.
 *  - 5: shadow mode with the serving store down is served by the other store; /health tells the truth.
 */
import { startDemoProxy, type DemoProxy } from '../../../lib/adapters/demo/demo-proxy';
import type { DemoBackendStatus } from '../../../lib/adapters/demo/demo-backend';
import type { ProxySettings } from '../../../lib/core/search/settings';

const VECTOR = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

interface Answer {
  status: number;
  body: { servedBy?: string; degraded?: boolean; degradedReason?: string; error?: { code: string; message: string } };
}
interface Health {
  status: string;
  breakers: Record<'primary' | 'fallback', { state: string; counts: { failures: number; calls: number } }>;
}

let demo: DemoProxy;

async function start(settings: Partial<ProxySettings> = {}): Promise<void> {
  demo = await startDemoProxy({
    settings: { deadlineMs: 600, primaryTimeoutMs: 200, consecutiveFailures: 3, minimumRequests: 6, resetTimeoutMs: 500, successThreshold: 2, ...settings },
    log: () => undefined,
  });
}

afterEach(async () => {
  await demo.close();
});

async function postRaw(body: string): Promise<Answer> {
  const r = await fetch(`${demo.url}/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: r.status, body: (await r.json()) as Answer['body'] };
}
const search = () => postRaw(JSON.stringify({ vector: VECTOR, topK: 5 }));

async function setMode(role: 'primary' | 'fallback', mode: string): Promise<void> {
  const r = await fetch(`${demo.url}/demo/backends/${role}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode }) });
  expect(r.status).toBe(200);
}
const backends = async () => (await (await fetch(`${demo.url}/demo/backends`)).json()) as Record<'primary' | 'fallback', DemoBackendStatus>;
async function health(): Promise<{ code: number; body: Health }> {
  const r = await fetch(`${demo.url}/health`);
  return { code: r.status, body: (await r.json()) as Health };
}
/** The breaker's state as /metrics says it: the `state` label whose series is 1. */
const gauge = async (breaker: string): Promise<string | undefined> =>
  (await (await fetch(`${demo.url}/metrics`)).text()).match(new RegExp(`^migration_circuit_breaker_state\\{breaker="${breaker}",state="(\\w+)"\\} 1$`, 'm'))?.[1];

/** Search until `ok` holds, at most `limit` tries 50 ms apart. True when it held. */
async function until(ok: () => Promise<boolean>, limit = 100): Promise<boolean> {
  for (let i = 0; i < limit; i++) {
    if (await ok()) return true;
    await search();
    await new Promise((r) => setTimeout(r, 50));
  }
  return ok();
}

const nested = (depth: number) => '{"a":'.repeat(depth) + '{}' + '}'.repeat(depth);

describe('item 3: a query that is its own fault', () => {
  it('a filter nested 5,000 deep gets a 4xx naming the limit, reaches no backend and opens no breaker', async () => {
    await start();
    const body = `{"vector":${JSON.stringify(VECTOR)},"topK":5,"filter":${nested(5000)}}`;
    for (let i = 0; i < 5; i++) {
      const a = await postRaw(body);
      expect(a.status).toBeGreaterThanOrEqual(400);
      expect(a.status).toBeLessThan(500);
      expect(a.body.error?.message).toMatch(/nested deeper than 32 levels/);
    }
    const b = await backends();
    expect([b.primary.requests, b.fallback.requests]).toEqual([0, 0]);
    const h = await health();
    expect(h.body.status).toBe('healthy');
    expect([h.body.breakers.primary.state, h.body.breakers.fallback.state]).toEqual(['closed', 'closed']);
    expect([h.body.breakers.primary.counts.failures, h.body.breakers.fallback.counts.failures]).toEqual([0, 0]);
    expect((await search()).body.servedBy).toBe('primary');
  });

  it('a body nested deeper than any endpoint allows is refused with 400 naming the depth limit', async () => {
    await start();
    const a = await postRaw(`{"vector":${JSON.stringify(VECTOR)},"topK":5,"x":${nested(100)}}`);
    expect(a.status).toBe(400);
    expect(a.body.error?.message).toMatch(/nest.*\b32\b/i);
    expect((await backends()).primary.requests).toBe(0);
  });

  it('a filter that is too large is refused with 413 naming the size limit', async () => {
    await start();
    const filter = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`field${i}`, 'x'.repeat(10)]));
    const a = await postRaw(JSON.stringify({ vector: VECTOR, topK: 5, filter }));
    expect(a.status).toBe(413);
    expect(a.body.error?.message).toMatch(/filter.*16384 bytes/);
    expect((await backends()).primary.requests).toBe(0);
  });
});

describe('item 4: the fallback breaker recovers while the primary serves', () => {
  it('after both stores were down and came back, both breakers close, the gauge reads 0 and /health agrees', async () => {
    await start();
    await setMode('primary', 'down');
    await setMode('fallback', 'down');
    for (let i = 0; i < 3; i++) expect((await search()).status).toBe(503);
    const down = await health();
    expect([down.body.breakers.primary.state, down.body.breakers.fallback.state]).toEqual(['open', 'open']);
    expect(down.code).toBe(503);

    await setMode('primary', 'ok');
    await setMode('fallback', 'ok');
    expect(await until(async () => (await health()).body.breakers.primary.state === 'closed')).toBe(true);
    // The primary serves everything from here; the fallback must still get its probes.
    expect(await until(async () => (await health()).body.breakers.fallback.state === 'closed')).toBe(true);
    expect(await gauge('search-fallback')).toBe('closed');
    expect(await gauge('search-primary')).toBe('closed');
    expect((await health()).body.status).toBe('healthy');
    expect((await search()).body).toMatchObject({ servedBy: 'primary', degraded: false });
  });

  it('/health is degraded, not healthy, while the fallback breaker is open behind a healthy primary', async () => {
    await start({ resetTimeoutMs: 60_000 });
    await setMode('primary', 'down');
    await setMode('fallback', 'down');
    for (let i = 0; i < 3; i++) await search();
    await setMode('primary', 'ok');
    await setMode('fallback', 'ok');
    // The primary's breaker is open for a minute too: force it closed as an operator would.
    await fetch(`${demo.url}/demo/switch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ position: 'closed', breaker: 'primary' }) });
    expect((await search()).body.servedBy).toBe('primary');
    const h = await health();
    expect(h.body.breakers.fallback.state).toBe('open');
    expect(h.body.status).toBe('degraded');
  });
});

describe('item 5: shadow mode with the serving store down', () => {
  it('the other store serves (degraded) and /health does not say healthy', async () => {
    await start({ mode: 'shadow', shadowServe: 'fallback' });
    await setMode('fallback', 'down');
    for (let i = 0; i < 5; i++) {
      const a = await search();
      expect(a.status).toBe(200);
      expect(a.body).toMatchObject({ servedBy: 'primary', degraded: true });
    }
    const h = await health();
    expect(h.body.breakers.fallback.state).toBe('open');
    expect(h.code).toBe(200);
    expect(h.body.status).toBe('degraded');
  });

  it('both stores down: 503 for searches and for /health', async () => {
    await start({ mode: 'shadow', shadowServe: 'fallback' });
    await setMode('fallback', 'down');
    await setMode('primary', 'down');
    for (let i = 0; i < 3; i++) expect((await search()).status).toBe(503);
    const h = await health();
    expect(h.code).toBe(503);
    expect(h.body.status).toBe('unhealthy');
  });
});
