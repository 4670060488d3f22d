import { ManualTimers } from '../../../lib/core/search/breaker/timers';
import { StaticOperatorSwitch } from '../../../lib/core/search/breaker/ports';
import type { HttpRequest, HttpResponse } from '../../../lib/core/http';
import type { Observation } from '../../../lib/core/metrics/observation';
import { overlapAtK, searchProxy, type SearchProxyOptions } from '../../../lib/core/search/proxy';
import type { SearchHit, SearchQuery, VectorBackend } from '../../../lib/core/search/query';
import { PrometheusSink } from '../../../lib/adapters/prometheus/sink';

const hits = (...ids: string[]): SearchHit[] => ids.map((id, i) => ({ id, score: 1 - i / 10 }));
const flush = () => new Promise<void>((r) => setImmediate(r));

type Impl = (q: SearchQuery, signal: AbortSignal) => Promise<SearchHit[]>;
class FakeBackend implements VectorBackend {
  calls = 0;
  aborted = 0;
  constructor(
    readonly description: string,
    public impl: Impl,
  ) {}
  search(q: SearchQuery, signal: AbortSignal): Promise<SearchHit[]> {
    this.calls++;
    signal.addEventListener('abort', () => this.aborted++);
    return this.impl(q, signal);
  }
}
const answers = (...ids: string[]): Impl => async () => hits(...ids);
const fails = (status?: number): Impl => async () => {
  throw Object.assign(new Error(`backend error ${status ?? 'no status'}`), status ? { status } : {});
};
const hangs: Impl = () => new Promise(() => undefined);

function make(over: Partial<SearchProxyOptions> = {}, settings: SearchProxyOptions['settings'] = {}) {
  const timers = new ManualTimers();
  const primary = new FakeBackend('primary', answers('a', 'b', 'c'));
  const fallback = new FakeBackend('fallback', answers('a', 'x', 'c'));
  const observed: Observation[] = [];
  const proxy = searchProxy({
    primary,
    fallback,
    settings: { deadlineMs: 1000, primaryTimeoutMs: 300, consecutiveFailures: 2, resetTimeoutMs: 10_000, successThreshold: 1, ...settings },
    breaker: { clock: timers },
    now: () => timers.now(),
    metrics: { record: (o) => observed.push(o) },
    ...over,
  });
  const post = (body: unknown): Promise<HttpResponse> =>
    proxy.handler({ method: 'POST', path: '/search', query: {}, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } as HttpRequest);
  const get = (path: string) => proxy.handler({ method: 'GET', path, query: {}, headers: {} });
  const q = { vector: [0.1, 0.2, 0.3], topK: 3 };
  const sum = (metric: string, labels: Record<string, string> = {}) =>
    observed.filter((o) => o.metric === metric && Object.entries(labels).every(([k, v]) => (o.labels as Record<string, string>)[k] === v)).reduce((s, o) => s + o.value, 0);
  return { timers, primary, fallback, proxy, post, get, q, observed, sum };
}
const body = (r: HttpResponse) => JSON.parse(r.body) as Record<string, unknown>;

describe('search proxy: primary-only mode', () => {
  it('answers from the primary, not degraded', async () => {
    const { post, q, fallback, sum } = make();
    const r = await post(q);
    expect(r.status).toBe(200);
    expect(r.headers).toMatchObject({ 'x-search-backend': 'primary', 'x-search-degraded': 'false' });
    expect(body(r)).toMatchObject({ results: hits('a', 'b', 'c'), servedBy: 'primary', degraded: false, mode: 'primary-only' });
    expect(body(r)).not.toHaveProperty('degradedReason');
    expect(fallback.calls).toBe(0);
    expect(sum('ProxyRequests', { Backend: 'primary', Outcome: 'success' })).toBe(1);
  });

  it('answers from the fallback, degraded, when the primary fails', async () => {
    const { post, q, primary, sum } = make();
    primary.impl = fails(503);
    const r = await post(q);
    expect(r.status).toBe(200);
    expect(r.headers).toMatchObject({ 'x-search-backend': 'fallback', 'x-search-degraded': 'true', 'x-search-degraded-reason': 'error' });
    expect(body(r)).toMatchObject({ results: hits('a', 'x', 'c'), servedBy: 'fallback', degraded: true, degradedReason: 'error' });
    expect(sum('ProxyFallbacks')).toBe(1);
    expect(sum('ProxyRequests', { Backend: 'primary', Outcome: 'failure' })).toBe(1);
  });

  it('gives the primary its timeout, the fallback the rest of the budget, and answers 503 at the deadline', async () => {
    const { post, q, primary, fallback, timers } = make();
    primary.impl = hangs;
    fallback.impl = hangs;
    let res: HttpResponse | undefined;
    void post(q).then((r) => (res = r));
    await flush();
    timers.advance(299);
    await flush();
    expect(fallback.calls).toBe(0);
    timers.advance(1);
    await flush();
    expect(primary.aborted).toBe(1); // the primary call was cancelled, not left running
    expect(fallback.calls).toBe(1);
    timers.advance(699);
    await flush();
    expect(res).toBeUndefined();
    timers.advance(1);
    await flush();
    expect(res!.status).toBe(503);
    expect(body(res!)).toMatchObject({
      error: { code: 'backends_unavailable', details: { primary: { outcome: 'timeout' }, fallback: { outcome: 'timeout' } } },
    });
    expect((body(res!)['error'] as { message: string }).message).toMatch(/primary: .*timed out after 300 ms; fallback: .*timed out after 700 ms/);
  });

  it('a primary timeout is served by the fallback and marked', async () => {
    const { post, q, primary, timers } = make();
    primary.impl = hangs;
    const p = post(q);
    await flush();
    timers.advance(300);
    const r = await p;
    expect(body(r)).toMatchObject({ servedBy: 'fallback', degraded: true, degradedReason: 'timeout' });
  });

  it('once the breaker opens, the primary is not called until the recovery timeout, then probed', async () => {
    const { post, q, primary, timers, sum } = make();
    primary.impl = fails(500);
    await post(q);
    await post(q);
    expect(primary.calls).toBe(2);
    const r = await post(q);
    expect(primary.calls).toBe(2);
    expect(body(r)).toMatchObject({ servedBy: 'fallback', degradedReason: 'breaker_open' });
    expect(sum('ProxyRequests', { Backend: 'primary', Outcome: 'rejected' })).toBe(1);
    expect(sum('BreakerRejections', { Breaker: 'search-primary' })).toBe(1);
    expect(sum('BreakerTransitions', { Breaker: 'search-primary', ToState: 'open' })).toBe(1);
    primary.impl = answers('a');
    timers.advance(10_000);
    const probe = await post(q);
    expect(body(probe)).toMatchObject({ servedBy: 'primary', degraded: false });
    expect(sum('BreakerTransitions', { Breaker: 'search-primary', ToState: 'closed' })).toBe(1);
  });

  it('both backends down: a 503 naming both reasons, with Retry-After once the breakers are open', async () => {
    const { post, q, primary, fallback } = make();
    primary.impl = fails(500);
    fallback.impl = async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:9');
    };
    const first = await post(q);
    expect(first.status).toBe(503);
    expect((body(first)['error'] as { message: string }).message).toBe('no vector backend could answer: primary: backend error 500; fallback: connect ECONNREFUSED 127.0.0.1:9');
    await post(q);
    const later = await post(q);
    expect(later.status).toBe(503);
    expect(later.headers['retry-after']).toBe('10');
    expect(body(later)).toMatchObject({ error: { details: { primary: { outcome: 'rejected' }, fallback: { outcome: 'rejected' } } } });
  });

  it('passes a request the backend rejects (4xx) back as 400, without fallback and without opening', async () => {
    const { post, q, primary, fallback, proxy } = make();
    primary.impl = fails(400);
    for (let i = 0; i < 3; i++) {
      const r = await post(q);
      expect(r.status).toBe(400);
      expect(body(r)).toMatchObject({ error: { code: 'backend_rejected_request', details: { backend: 'primary', status: 400 } } });
    }
    expect(fallback.calls).toBe(0);
    expect(proxy.breakers.primary.state).toBe('closed');
  });

  it('counts auth failures from the backend (401/403) as failures: the fallback answers', async () => {
    const { post, q, primary } = make();
    primary.impl = fails(403);
    expect(body(await post(q))).toMatchObject({ servedBy: 'fallback', degraded: true });
  });

  it('follows the operator switch', async () => {
    const sw = new StaticOperatorSwitch({ 'search-primary': 'open' });
    const { post, q, primary, proxy } = make({ operatorSwitch: sw, awaitSync: true });
    const r = await post(q);
    expect(primary.calls).toBe(0);
    expect(body(r)).toMatchObject({ servedBy: 'fallback', degradedReason: 'operator_switch' });
    expect(proxy.breakers.primary.stats().forced).toBe('open');
  });
});

describe('search proxy: other modes', () => {
  it('fallback-only never calls the primary and is not degraded', async () => {
    const { post, q, primary } = make({}, { mode: 'fallback-only' });
    const r = await post(q);
    expect(body(r)).toMatchObject({ servedBy: 'fallback', degraded: false, mode: 'fallback-only' });
    expect(primary.calls).toBe(0);
  });

  it('shadow serves the fallback, copies to the primary in the background and records overlap@k', async () => {
    const { post, q, primary, proxy, sum } = make({}, { mode: 'shadow' });
    const gate: Array<() => void> = [];
    primary.impl = () => new Promise((res) => gate.push(() => res(hits('a', 'b', 'c'))));
    const r = await post(q);
    expect(body(r)).toMatchObject({ servedBy: 'fallback', degraded: false, results: hits('a', 'x', 'c') });
    expect(primary.calls).toBe(1); // sent, still running
    gate[0]!();
    await proxy.drain();
    expect(proxy.shadowStats()).toEqual({ compared: 1, failed: 0, skipped: 0, busy: 0, meanOverlap: 2 / 3, lastOverlap: 2 / 3 });
    expect(sum('ShadowOverlap')).toBeCloseTo(66.667, 2);
    expect(sum('ProxyLatency', { Backend: 'primary' })).toBe(0); // manual clock: no time passed
    expect(proxy.health().body).toContain('"shadow"');
  });

  it('shadow serving the primary copies to the fallback; a failed primary falls back without a shadow copy', async () => {
    const { post, q, primary, fallback, proxy } = make({}, { mode: 'shadow', shadowServe: 'primary' });
    await post(q);
    await proxy.drain();
    expect(fallback.calls).toBe(1);
    primary.impl = fails(500);
    const r = await post(q);
    expect(body(r)).toMatchObject({ servedBy: 'fallback', degraded: true });
    await proxy.drain();
    expect(fallback.calls).toBe(2);
    expect(proxy.shadowStats()).toMatchObject({ compared: 1 });
  });

  it('samples shadow copies at the configured rate, evenly', async () => {
    const { post, q, primary, proxy } = make({}, { mode: 'shadow', shadowSampleRate: 0.5 });
    for (let i = 0; i < 6; i++) await post(q);
    await proxy.drain();
    expect(primary.calls).toBe(3);
    expect(proxy.shadowStats()).toMatchObject({ compared: 3, skipped: 3 });
  });

  it('a slow shadow store holds at most shadowMaxInFlight copies; the rest are not sent, and counted as busy', async () => {
    const { post, q, primary, proxy, get } = make({}, { mode: 'shadow', shadowMaxInFlight: 4 });
    const gate: Array<() => void> = [];
    primary.impl = () => new Promise((res) => gate.push(() => res(hits('a', 'b', 'c'))));
    for (let i = 0; i < 10; i++) expect(body(await post(q))).toMatchObject({ servedBy: 'fallback', degraded: false });
    expect(primary.calls).toBe(4);
    expect(proxy.shadowStats()).toMatchObject({ compared: 0, busy: 6, skipped: 0 });
    for (const open of gate) open();
    await proxy.drain();
    await post(q); // room again: copied
    for (const open of gate) open();
    await proxy.drain();
    expect(primary.calls).toBe(5);
    expect(proxy.shadowStats()).toMatchObject({ compared: 5, busy: 6 });
    expect(JSON.parse((await get('/health')).body)).toMatchObject({ shadow: { compared: 5, busy: 6 } });
  });

  it('a failing shadow backend does not touch the answer', async () => {
    const { post, q, primary, proxy } = make({}, { mode: 'shadow' });
    primary.impl = fails(500);
    const r = await post(q);
    expect(body(r)).toMatchObject({ servedBy: 'fallback', degraded: false });
    await proxy.drain();
    expect(proxy.shadowStats()).toMatchObject({ compared: 0, failed: 1 });
  });
});

describe('search proxy: requests, health and metrics', () => {
  it('validates the body and names the problem', async () => {
    const { post, primary } = make();
    const r = await post({ vector: [1, 'x'], topK: 0, extra: true });
    expect(r.status).toBe(400);
    const msg = (body(r)['error'] as { message: string }).message;
    expect(msg).toMatch(/vector\[1\]/);
    expect(msg).toMatch(/topK/);
    expect(msg).toMatch(/extra/);
    expect(primary.calls).toBe(0);
    const d = await post({ vector: [1] });
    expect(d.status).toBe(200);
  });

  it('a direct search() with a filter nested past the limit answers 400 and calls no backend', async () => {
    const { proxy, primary, fallback } = make();
    let filter: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) filter = { a: filter };
    const r = await proxy.search({ vector: [0.1, 0.2, 0.3], topK: 3, filter });
    expect(r.status).toBe(400);
    expect(body(r)['error']).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/filter is nested more than 32 levels/) });
    expect(primary.calls + fallback.calls).toBe(0);
    expect(proxy.breakers.primary.stats().counts.calls).toBe(0);
  });

  it('the backup breaker is probed in the background once its recovery time has passed, and closes', async () => {
    const { post, q, primary, fallback, proxy, timers } = make({}, { successThreshold: 1 });
    primary.impl = fails(500);
    fallback.impl = fails(500);
    await post(q);
    await post(q);
    expect([proxy.breakers.primary.state, proxy.breakers.fallback.state]).toEqual(['open', 'open']);
    primary.impl = answers('a');
    fallback.impl = answers('x');
    timers.advance(10_000);
    const calls = fallback.calls;
    expect(body(await post(q))).toMatchObject({ servedBy: 'primary', degraded: false });
    await proxy.drain();
    expect(fallback.calls).toBe(calls + 1); // the probe
    expect(proxy.breakers.fallback.state).toBe('closed');
    await post(q);
    await proxy.drain();
    expect(fallback.calls).toBe(calls + 1); // closed: no more copies
  });

  it('with awaitShadow (Lambda: the sandbox freezes after the answer) the backup probe finishes before the answer', async () => {
    const { post, q, primary, fallback, proxy, timers } = make({ awaitShadow: true }, { successThreshold: 1 });
    primary.impl = fails(500);
    fallback.impl = fails(500);
    await post(q);
    await post(q);
    primary.impl = answers('a');
    fallback.impl = answers('x');
    timers.advance(10_000);
    expect(body(await post(q))).toMatchObject({ servedBy: 'primary' });
    expect(proxy.breakers.fallback.state).toBe('closed');
  });

  it('health: ok, degraded while the primary breaker is open, 503 when nothing can serve', async () => {
    const { post, q, primary, fallback, get } = make();
    expect(body(await get('/health'))).toMatchObject({ status: 'healthy', breakers: { primary: { state: 'closed', name: 'search-primary' } } });
    primary.impl = fails(500);
    await post(q);
    await post(q);
    const degraded = await get('/health');
    expect(degraded.status).toBe(200);
    expect(body(degraded)).toMatchObject({ status: 'degraded', breakers: { primary: { state: 'open' }, fallback: { state: 'closed' } } });
    fallback.impl = fails(500);
    await post(q);
    await post(q);
    const down = await get('/health');
    expect(down.status).toBe(503);
    expect(body(down)).toMatchObject({ status: 'unhealthy' });
  });

  it('serves Prometheus text at /metrics with spec names, or 404 when not configured', async () => {
    const prom = new PrometheusSink();
    const { post, q, get, primary } = make({ metrics: prom, metricsText: () => prom.text() });
    await post(q);
    primary.impl = fails(500);
    await post(q);
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0.0.4/);
    expect(r.body).toContain('migration_search_proxy_requests_total{backend="primary",outcome="success"} 1');
    expect(r.body).toContain('migration_search_proxy_fallbacks_total 1');
    expect(r.body).toContain('migration_circuit_breaker_state{breaker="search-primary",state="closed"} 1');
    expect(r.body).toContain('migration_circuit_breaker_state{breaker="search-primary",state="open"} 0');
    expect(r.body).toContain('migration_search_proxy_latency_seconds_count{backend="primary"} 2');
    expect((await make().get('/metrics')).status).toBe(404);
  });

  it('refuses settings that cannot work', () => {
    expect(() => make({}, { primaryTimeoutMs: 2000, deadlineMs: 1000 })).toThrow(/must not exceed deadlineMs/);
    expect(() => make({}, { mode: 'both' as never })).toThrow(/mode/);
  });
});

describe('overlap@k', () => {
  it('counts shared ids in the top k', () => {
    expect(overlapAtK(hits('a', 'b', 'c', 'd'), hits('d', 'c', 'x', 'a'), 3)).toBeCloseTo(1 / 3);
    expect(overlapAtK(hits('a', 'b'), hits('b', 'a'), 10)).toBe(1);
    expect(overlapAtK(hits('a'), hits('a', 'b'), 10)).toBe(0.5);
    expect(overlapAtK([], [], 5)).toBe(1);
    expect(overlapAtK(hits('a'), [], 5)).toBe(0);
  });
});
