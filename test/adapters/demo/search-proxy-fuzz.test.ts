/**
 * A hostile, bounded fuzz of the search proxy's own HTTP endpoints (/search, /health, /metrics and paths
 * near them) over real sockets on 127.0.0.1: a seeded grammar of methods, paths, headers, encodings, sizes,
 * depths, unicode and prototype keys. Every answer must be < 500, and the breakers must end as they began:
 * closed, no failure counted, no transition. A failing case prints its seed index and request.
 *
 * The demo control routes (/demo/*) are left out on purpose: they change backend modes by design.
 */
import http from 'node:http';
import net from 'node:net';
import { startDemoProxy, type DemoProxy } from '../../../lib/adapters/demo/demo-proxy';
import { prng } from '../../../lib/core/random';

const CASES = 400;
const SEED = 20261202;

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

let demo: DemoProxy;
let port: number;

beforeAll(async () => {
  // Generous timeouts: a slow moment on a loaded machine must not count as a backend failure here.
  demo = await startDemoProxy({ settings: { deadlineMs: 20_000, primaryTimeoutMs: 10_000 }, log: () => undefined });
  port = Number(new URL(demo.url).port);
});

afterAll(async () => {
  await demo.close();
});

function send(r: FuzzRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers: { ...r.headers, ...(r.body ? { 'content-length': String(r.body.length) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

/** Raw bytes on a fresh socket (request lines node's client would refuse to send); returns the status. */
function sendRaw(bytes: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(bytes));
    let data = '';
    s.on('data', (c) => (data += c.toString('latin1')));
    s.on('close', () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0)));
    s.on('error', reject);
  });
}

const rnd = prng(SEED);
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
const vector = (n: number) => Array.from({ length: n }, () => Math.round((rnd() * 2 - 1) * 1000) / 1000);

const nest = (depth: number, leaf: string, key: string) => `{"${key}":`.repeat(depth) + leaf + '}'.repeat(depth);
const nestArr = (depth: number) => '['.repeat(depth) + '1' + ']'.repeat(depth);
const UNICODE = ['emoji 🧭', 'ünïcødé', '\u0000nul', '\\ud800 lone', '\u202eRTL', 'x'.repeat(5000), '中文检索', '\uFEFFbom'];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__'];

function jsonBody(): string {
  const v = JSON.stringify(vector(8));
  switch (int(0, 17)) {
    case 0:
      return JSON.stringify({ vector: vector(8), topK: int(1, 20) });
    case 1:
      return JSON.stringify({ vector: vector(int(0, 12)), topK: pick([0, -1, 1.5, 1001, 1e9, 5]) });
    case 2:
      return `{"vector":${v},"topK":5,"filter":${nest(pick([10, 33, 64, 65, 1000, 5000, 20000]), '{}', 'a')}}`;
    case 3:
      return `{"vector":${v},"topK":5,"filter":{"bool":${nestArr(pick([10, 40, 100, 5000]))}}}`;
    case 4:
      return nest(pick([50, 70, 5000]), `{"vector":${v}}`, 'x');
    case 5:
      return `{"vector":${nestArr(pick([2, 70, 5000]))},"topK":5}`;
    case 6:
      return `{"vector":${v},"topK":5,"${pick(PROTO_KEYS)}":{"polluted":true}}`;
    case 7:
      return `{"vector":${v},"topK":5,"filter":{"${pick(PROTO_KEYS)}":{"polluted":true},"constructor":{"prototype":{"x":1}}}}`;
    case 8:
      return JSON.stringify({ vector: vector(8), topK: 3, filter: pick(UNICODE) });
    case 9:
      return `{"vector":${v},"topK":5,"filter":"\\ud800\\udfff\\ud800"}`;
    case 10:
      return pick(['', ' ', 'null', '[]', '"str"', '123', 'true', '{}', '{', '{"vector":', '{"vector":[1,2,],"topK":1}', '{"vector":[NaN],"topK":1}', '{"vector":[1e309],"topK":1}', '{"vector":[-0],"topK":1}']);
    case 11:
      return JSON.stringify({ vector: vector(pick([8192, 8193, 20000])), topK: 5 });
    case 12:
      return JSON.stringify({ vector: vector(8), topK: 5, filter: Object.fromEntries(Array.from({ length: int(1, 3000) }, (_, i) => [`k${i}`, i])) });
    case 13:
      return JSON.stringify({ vector: vector(8), topK: 5, filter: 'x'.repeat(pick([4096, 4097, 300_000])) });
    case 14:
      return JSON.stringify({ vector: vector(8).map(String), topK: '5' });
    case 15:
      return JSON.stringify({ vector: vector(8), topK: 5, filter: [1, 2, 3] });
    case 16:
      return `{"vector":${v},"topK":5,"topK":6,"vector":[1]}`;
    default:
      return JSON.stringify({ vector: vector(8), topK: 5, extra: pick(UNICODE) });
  }
}

function encode(text: string): { body: Buffer; headers: Record<string, string> } {
  switch (int(0, 7)) {
    case 0:
      return { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), headers: {} };
    case 1:
      return { body: Buffer.from(text, 'utf16le'), headers: { 'content-type': 'application/json; charset=utf-16' } };
    case 2:
      return { body: Buffer.concat([Buffer.from(text.slice(0, 20)), Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0x80]), Buffer.from(text.slice(20))]), headers: {} };
    case 3:
      return { body: Buffer.from(text), headers: { 'content-encoding': pick(['gzip', 'br', 'deflate', 'identity']) } };
    default:
      return { body: Buffer.from(text), headers: {} };
  }
}

const PATHS = ['/search', '/search', '/search', '/health', '/metrics', '/search/', '//search', '/search?x=1&__proto__[a]=1', '/SEARCH', '/search%00', '/%zz', '/%E2%82%AC', '/__proto__', '/constructor', '/search/../health', `/${'a'.repeat(4000)}`, '/search?' + 'q=1&'.repeat(500), '/health?constructor=1'];
const METHODS = ['POST', 'POST', 'POST', 'GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'FOO', 'M-SEARCH', 'PROPFIND'];
const CONTENT_TYPES = ['application/json', 'application/json', 'application/json; charset=utf-8', 'application/merge-patch+json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '', 'application/json; charset=utf-16', 'APPLICATION/JSON'];

function request(): FuzzRequest {
  // Most cases keep a well-formed envelope so the body grammar reaches the proxy's own code; the rest vary it.
  if (rnd() < 0.6) return { method: 'POST', path: '/search', headers: { 'content-type': 'application/json' }, body: Buffer.from(jsonBody()) };
  const method = pick(METHODS);
  const path = pick(PATHS);
  const { body, headers } = encode(jsonBody());
  const ct = pick(CONTENT_TYPES);
  const extra: Record<string, string> = {};
  if (rnd() < 0.3) extra[pick(['x-forwarded-for', 'x-search-backend', 'authorization', 'accept', 'x-amzn-trace-id', 'idempotency-key'])] = pick(['%00', 'Bearer ' + 'a'.repeat(2000), '*/*', '__proto__', '../../etc/passwd']);
  return { method, path, headers: { ...(ct ? { 'content-type': ct } : {}), ...extra, ...headers }, body: method === 'GET' || method === 'HEAD' ? (rnd() < 0.2 ? body : undefined) : body };
}

const RAW = [
  'GET /search HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\ntransfer-encoding: chunked\r\ncontent-type: application/json\r\n\r\n5\r\n{"vec\r\n0\r\n\r\n',
  'POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-length: 100\r\n\r\n{"vector":[1]}',
  'POST /s\u00ffearch HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-length: -1\r\n\r\n',
  'POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n{}',
  'GET /health HTTP/1.0\r\n\r\n',
  'GARBAGE\r\n\r\n',
];

it(`${CASES} hostile requests: no 5xx, every 4xx says what is wrong, breakers untouched`, async () => {
  const before = demo.proxy.registry.snapshot();
  const fivexx: string[] = [];
  const silent: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const r = request();
    const a = await send(r);
    const label = `#${i} ${r.method} ${r.path.slice(0, 60)} ${JSON.stringify(r.headers).slice(0, 120)} ${r.body?.toString('utf8').slice(0, 80) ?? ''}`;
    if (a.status >= 500) fivexx.push(`${label} → ${a.status} ${a.body.slice(0, 200)}`);
    else if (!http.METHODS.includes(r.method)) {
      // Node's HTTP parser refuses a method it does not know before any of our code runs: a bare 400.
      if (a.status !== 400) fivexx.push(`${label} → ${a.status} (expected the parser's 400)`);
    } else if (a.status >= 400 && r.method !== 'HEAD') {
      const msg = (() => {
        try {
          return (JSON.parse(a.body) as { error?: { message?: unknown } }).error?.message;
        } catch {
          return undefined;
        }
      })();
      if (typeof msg !== 'string' || msg.length < 10) silent.push(`${label} → ${a.status} ${a.body.slice(0, 120)}`);
    }
  }
  for (const raw of RAW) {
    const status = await sendRaw(Buffer.from(raw, 'latin1'));
    if (status >= 500) fivexx.push(`raw ${JSON.stringify(raw)} → ${status}`);
  }
  expect(fivexx).toEqual([]);
  expect(silent).toEqual([]);
  const after = demo.proxy.registry.snapshot();
  for (const [b, a] of before.map((s, i) => [s, after[i]!] as const)) {
    expect({ name: a.name, state: a.state, failures: a.counts.failures, timeouts: a.counts.timeouts, transitions: a.counts.transitions }).toEqual({
      name: b.name,
      state: 'closed',
      failures: 0,
      timeouts: 0,
      transitions: 0,
    });
  }
  const h = await send({ method: 'GET', path: '/health', headers: {} });
  expect(h.status).toBe(200);
  expect(JSON.parse(h.body)).toMatchObject({ status: 'healthy' });
});

/**
 * Found by this fuzz: an absolute-form request target with an invalid host made `new URL(req.url)` in
 * lib/adapters/http/server.ts throw outside the router, and the server answered 500. Now a 400 naming it.
 */
it('an absolute-form request target with an invalid host gets a 4xx, not a 500', async () => {
  const status = await sendRaw(Buffer.from('POST http://[bad/search HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-length: 2\r\n\r\n{}', 'latin1'));
  expect(status).toBeGreaterThanOrEqual(400);
  expect(status).toBeLessThan(500);
});
