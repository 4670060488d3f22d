import http from 'node:http';
import type { Browser } from 'playwright-core';
import { FileStore } from '../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../lib/adapters/http/server';
import { text } from '../../lib/core/http';
import { startLocalServer, type LocalServer } from '../../lib/cli/commands/serve';
import { launchChromium } from '../support/chromium';

/**
 * Local mode binds to 127.0.0.1 without a token, so any web page the user opens can aim requests at it.
 * These tests play that page (a second local server on another port, so another origin) in headless Chromium,
 * and a DNS-rebinding page (a foreign Host header), and check that nothing changed.
 */

/** Counts finished responses per server, so the test waits for the attack's requests to arrive, not for time. */
function answered(server: http.Server) {
  const seen: string[] = [];
  let waiters: Array<() => void> = [];
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.on('finish', () => {
      seen.push(`${req.method} ${req.url} ${req.headers['content-type'] ?? '-'} -> ${res.statusCode}`);
      for (const w of waiters) w();
    });
  });
  return {
    seen,
    async atLeast(n: number) {
      while (seen.length < n) await new Promise<void>((r) => waiters.push(r));
      waiters = [];
    },
  };
}

const attackPage = (tracker: string, proxy: string) => `<!doctype html><html><body><script>
const T = ${JSON.stringify(tracker)}, P = ${JSON.stringify(proxy)};
const pause = JSON.stringify({ action: 'pause', reason: 'csrf' });
const alert = JSON.stringify({ action: 'create_alert', severity: 'critical', message: 'pwned' });
const open = JSON.stringify({ position: 'open' });
const down = JSON.stringify({ mode: 'down' });
let sent = 0;
const fired = [];
function f(url, init) {
  sent++;
  fired.push(fetch(url, Object.assign({ mode: 'no-cors', method: 'POST', credentials: 'include' }, init)).catch(() => undefined));
}
// fetch(..., {mode: 'no-cors'}): Blob and bytes bodies carry no Content-Type; a JSON content-type header is dropped
f(T + '/api/migration/dashboard', { body: new Blob([pause]) });
f(T + '/api/migration/dashboard', { body: new TextEncoder().encode(pause) });
f(T + '/api/migration/progress', { body: new Blob([alert]) });
f(T + '/api/migration/progress', { body: alert, headers: { 'content-type': 'application/json' } });
f(P + '/demo/switch', { body: new Blob([open]) });
f(P + '/demo/backends/primary', { body: new Blob([down]) });
// navigator.sendBeacon: text/plain strings and untyped blobs
function beacon(url, data) { try { if (navigator.sendBeacon(url, data)) sent++; } catch (e) { /* refused by the browser itself */ } }
beacon(T + '/api/migration/progress', alert);
beacon(T + '/api/migration/dashboard', new Blob([pause]));
beacon(P + '/demo/switch', new Blob([open]));
// form POSTs into hidden frames (the text/plain enctype trick makes the body valid JSON)
function form(url, name, value) {
  sent++;
  const frame = document.createElement('iframe');
  frame.name = 'f' + sent;
  document.body.appendChild(frame);
  const fm = document.createElement('form');
  fm.method = 'POST'; fm.action = url; fm.enctype = 'text/plain'; fm.target = frame.name;
  const i = document.createElement('input');
  i.name = name; i.value = value;
  fm.appendChild(i);
  document.body.appendChild(fm);
  fm.submit();
}
form(T + '/api/migration/dashboard', '{"action":"pause","reason":"', '"}');
form(T + '/api/migration/progress', '{"action":"create_alert","severity":"critical","message":"', 'pwned"}');
Promise.all(fired).then(() => { document.title = 'sent ' + sent; });
</script></body></html>`;

describe('local mode against a malicious page in headless Chromium', () => {
  let browser: Browser;
  let srv: LocalServer;
  let attacker: RunningServer;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    srv = await startLocalServer({ port: 0, store: FileStore.inMemory(), proxy: true, proxyPort: 0 });
    attacker = await serveHttp(async () => text(200, attackPage(srv.url, srv.proxyUrl!), 'text/html; charset=utf-8'));
  });
  afterEach(async () => {
    await attacker.close();
    await srv.close();
  });

  it('a page from another origin cannot pause, alert or flip the proxy demo with no-cors fetch, sendBeacon or a form', async () => {
    const before = await srv.tracker.store.load('default');
    const onTracker = answered(srv.server.server);
    const onProxy = answered(srv.proxyServer!.server);
    const page = await browser.newPage();
    await page.goto(`${attacker.url}/`);
    await page.waitForFunction(() => document.title.startsWith('sent '));
    const sent = Number((await page.title()).slice('sent '.length));
    // every request the page got out has been answered by one of the two servers
    while (onTracker.seen.length + onProxy.seen.length < sent) {
      await Promise.race([onTracker.atLeast(onTracker.seen.length + 1), onProxy.atLeast(onProxy.seen.length + 1)]);
    }
    await page.close();
    const attempts = [...onTracker.seen, ...onProxy.seen];
    expect(attempts.filter((a) => a.startsWith('POST')).length).toBeGreaterThanOrEqual(8);
    for (const a of attempts) expect(a).not.toMatch(/-> 2\d\d$/);

    const after = await srv.tracker.store.load('default');
    expect(after!.version).toBe(before!.version);
    expect(after!.state.paused).toBe(false);
    expect(after!.state.alerts).toEqual([]);
    const backends = await (await fetch(`${srv.proxyUrl}/demo/backends`)).json();
    expect([backends.primary.mode, backends.fallback.mode]).toEqual(['ok', 'ok']);
    const h = await (await fetch(`${srv.proxyUrl}/health`)).json();
    expect(JSON.stringify(h)).not.toMatch(/"open"/);
  });
});

/** A raw request, so the Host header is exactly what a DNS-rebinding page's browser would send. */
function rawRequest(url: string, method: string, path: string, headers: Record<string, string>, body?: string) {
  const u = new URL(url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers, setHost: false }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('local mode: DNS rebinding, content type, and the proxy demo behind the token', () => {
  let srv: LocalServer;
  afterEach(async () => {
    await srv?.close();
  });

  it('refuses a foreign Host header (421) on the tracker and the proxy demo, and accepts the loopback names', async () => {
    srv = await startLocalServer({ port: 0, store: FileStore.inMemory(), proxy: true, proxyPort: 0 });
    for (const base of [srv.url, srv.proxyUrl!]) {
      const port = new URL(base).port;
      const evil = await rawRequest(base, 'GET', base === srv.url ? '/api/migration/progress' : '/demo/backends', { host: `attacker.example:${port}` });
      expect(evil.status).toBe(421);
      expect(JSON.parse(evil.body).error.message).toMatch(/Host "attacker\.example:\d+" is not this server/);
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
        expect((await rawRequest(base, 'GET', '/health', { host })).status).toBe(200);
      }
    }
    expect((await srv.tracker.get('default')).paused).toBe(false);
  });

  it('refuses a state-changing request without Content-Type: application/json with 415, and changes nothing', async () => {
    srv = await startLocalServer({ port: 0, store: FileStore.inMemory(), proxy: true, proxyPort: 0 });
    const host = new URL(srv.url).host;
    const before = await srv.tracker.store.load('default');
    const r = await rawRequest(srv.url, 'POST', '/api/migration/dashboard', { host }, JSON.stringify({ action: 'pause' }));
    expect(r.status).toBe(415);
    expect(JSON.parse(r.body).error.message).toMatch(/Content-Type: application\/json/);
    const p = await rawRequest(srv.proxyUrl!, 'POST', '/demo/switch', { host: new URL(srv.proxyUrl!).host }, JSON.stringify({ position: 'open' }));
    expect(p.status).toBe(415);
    expect((await srv.tracker.store.load('default'))!.version).toBe(before!.version);
  });

  it('with --token, the proxy demo controls need the token too', async () => {
    srv = await startLocalServer({ port: 0, store: FileStore.inMemory(), proxy: true, proxyPort: 0, token: 'tok-123' });
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${srv.proxyUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    expect((await post('/demo/switch', { position: 'open' })).status).toBe(401);
    expect((await post('/demo/backends/primary', { mode: 'down' })).status).toBe(401);
    const backends = await (await fetch(`${srv.proxyUrl}/demo/backends`, { headers: { authorization: 'Bearer tok-123' } })).json();
    expect(backends.primary.mode).toBe('ok');
    const ok = await post('/demo/backends/primary', { mode: 'slow' }, { authorization: 'Bearer tok-123' });
    expect(ok.status).toBe(200);
  });
});
