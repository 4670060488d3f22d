import { startDemoProxy, type DemoProxy } from '../../../lib/adapters/demo/demo-proxy';

let demo: DemoProxy;
afterEach(async () => {
  await demo.close();
});

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const VECTOR = [0.3, -0.1, 0.8, 0.2, -0.5, 0.4, 0.1, 0.9];

it('starts two demo backends and the proxy on 127.0.0.1, each answering /search', async () => {
  demo = await startDemoProxy({ log: () => undefined });
  for (const url of [demo.url, demo.primaryUrl, demo.fallbackUrl]) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const direct = (await (await post(`${demo.primaryUrl}/search`, { vector: VECTOR, topK: 3 })).json()) as { results: unknown[] };
  const proxied = (await (await post(`${demo.url}/search`, { vector: VECTOR, topK: 3 })).json()) as { results: unknown[]; servedBy: string };
  expect(proxied.servedBy).toBe('primary');
  expect(proxied.results).toEqual(direct.results);
  const health = (await (await fetch(`${demo.url}/health`)).json()) as { status: string };
  expect(health.status).toBe('healthy');
  expect(await (await fetch(`${demo.url}/metrics`)).text()).toContain('migration_search_proxy_requests_total{backend="primary",outcome="success"} 1');
});

it('a newcomer fails the primary and watches the fallback answer, then restores it', async () => {
  demo = await startDemoProxy({ log: () => undefined });
  const down = await post(`${demo.url}/demo/backends/primary`, { mode: 'error' });
  expect(await down.json()).toMatchObject({ name: 'primary', mode: 'error' });
  const r = await post(`${demo.url}/search`, { vector: VECTOR, topK: 3 });
  expect(r.headers.get('x-search-degraded')).toBe('true');
  expect(await r.json()).toMatchObject({ servedBy: 'fallback', degraded: true, degradedReason: 'error' });
  await post(`${demo.url}/demo/backends/primary`, { mode: 'ok' });
  expect(await (await post(`${demo.url}/search`, { vector: VECTOR, topK: 3 })).json()).toMatchObject({ servedBy: 'primary' });
});

it('the operator switch route forces the primary breaker open and back', async () => {
  demo = await startDemoProxy({ log: () => undefined });
  expect(await (await post(`${demo.url}/demo/switch`, { position: 'open' })).json()).toEqual({ breaker: 'search-primary', position: 'open', state: 'open' });
  expect(await (await post(`${demo.url}/search`, { vector: VECTOR, topK: 3 })).json()).toMatchObject({ servedBy: 'fallback', degradedReason: 'operator_switch' });
  expect(await (await post(`${demo.url}/demo/switch`, { position: 'auto' })).json()).toMatchObject({ state: 'half_open' });
  expect(await (await post(`${demo.url}/search`, { vector: VECTOR, topK: 3 })).json()).toMatchObject({ servedBy: 'primary' });
});

it('shadow mode compares the two demo backends (the old one ranks a little differently)', async () => {
  demo = await startDemoProxy({ settings: { mode: 'shadow' }, log: () => undefined });
  for (let i = 0; i < 5; i++) await post(`${demo.url}/search`, { vector: VECTOR.map((v) => v + i / 10), topK: 10 });
  await demo.proxy.drain();
  const s = demo.proxy.shadowStats();
  expect(s.compared).toBe(5);
  expect(s.meanOverlap).toBeGreaterThan(0.5);
  expect(s.meanOverlap).toBeLessThan(1);
});

it('validates control requests', async () => {
  demo = await startDemoProxy({ log: () => undefined });
  const bad = await post(`${demo.url}/demo/backends/primary`, { mode: 'on-fire' });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/mode/);
  expect((await post(`${demo.url}/demo/backends/tertiary`, { mode: 'ok' })).status).toBe(404);
  const dims = await post(`${demo.url}/search`, { vector: [1, 2], topK: 3 });
  expect(dims.status).toBe(400);
  expect(((await dims.json()) as { error: { message: string } }).error.message).toMatch(/vector has 2 dimensions; this index has 8/);
});

it('takes its mode from SEARCH_PROXY_MODE and refuses a bad one before starting anything', async () => {
  const saved = process.env['SEARCH_PROXY_MODE'];
  try {
    process.env['SEARCH_PROXY_MODE'] = 'sideways';
    await expect(startDemoProxy({ log: () => undefined })).rejects.toThrow(/invalid search proxy settings \(SEARCH_PROXY_MODE\): mode/);
    process.env['SEARCH_PROXY_MODE'] = 'shadow';
    demo = await startDemoProxy({ log: () => undefined });
    expect(demo.proxy.settings.mode).toBe('shadow');
  } finally {
    if (saved === undefined) delete process.env['SEARCH_PROXY_MODE'];
    else process.env['SEARCH_PROXY_MODE'] = saved;
  }
});

it('stops its backends when the proxy port is taken', async () => {
  demo = await startDemoProxy({ log: () => undefined });
  const port = Number(new URL(demo.url).port);
  await expect(startDemoProxy({ port, log: () => undefined })).rejects.toThrow(/EADDRINUSE/);
});
