/**
 * A process for the proxy benchmark: `backend <size> <dims> [ms]` serves one demo vector backend (each answer held `ms` first: a store with I/O time); `proxy <url>`
 * serves the search proxy (primary and fallback both that backend, Prometheus metrics on, as deployed
 * locally); `dualproxy <old> <new> [old-only]` serves it in dual-write (or old-only: one store, the hop alone) for the upsert bench; `forwarder <url> [<url2>]` is the floor: the least a Node HTTP hop can do (read, forward to the same
 * path on a keep-alive agent, to both URLs at once when two are given, parse and re-serialize the answer), no
 * validation, breaker or metrics; `nullstore` takes any write without work (a CPU-free store). Prints `READY <url>` when
 * listening; stops on SIGTERM.
 */
import http from 'node:http';
import { DemoBackend, DemoIndex } from '../../lib/adapters/demo/demo-backend';
import { serveHttp } from '../../lib/adapters/http/server';
import { httpVectorBackend } from '../../lib/adapters/http/vector-backend';
import { PrometheusSink } from '../../lib/adapters/prometheus/sink';
import { searchProxy } from '../../lib/core/search/proxy';

async function main(): Promise<void> {
  const [role, a, b, c] = process.argv.slice(2);
  let close: () => Promise<void>;
  let url: string;
  if (role === 'backend') {
    const backend = await DemoBackend.start({ name: 'bench', index: new DemoIndex({ size: Number(a), dimensions: Number(b) }) });
    // `backend <size> <dims> <ms>`: every answer held that long first (a store whose write takes I/O time, not CPU)
    if (c !== undefined) await backend.setMode({ mode: 'slow', slowMs: Number(c) });
    url = backend.url;
    close = () => backend.close();
  } else if (role === 'proxy') {
    const prom = new PrometheusSink();
    const proxy = searchProxy({
      primary: httpVectorBackend('primary', { kind: 'generic', url: a }),
      fallback: httpVectorBackend('fallback', { kind: 'generic', url: a }),
      settings: { deadlineMs: 10_000, primaryTimeoutMs: 5_000 },
      metrics: prom,
      metricsText: () => prom.text(),
    });
    const server = await serveHttp(proxy.handler);
    url = server.url;
    close = () => server.close();
  } else if (role === 'dualproxy') {
    // writes in dual-write: `a` (the old store) acknowledges, `b` (the new one) follows
    const prom = new PrometheusSink();
    const oldStore = httpVectorBackend('fallback', { kind: 'generic', url: a });
    const newStore = httpVectorBackend('primary', { kind: 'generic', url: b! });
    const proxy = searchProxy({
      primary: newStore,
      fallback: oldStore,
      writers: { primary: newStore, fallback: oldStore },
      settings: { stage: c === 'old-only' ? 'old-only' : 'dual-write', deadlineMs: 10_000, primaryTimeoutMs: 5_000, writeTimeoutMs: 5_000, followerBudgetMs: 1000 },
      metrics: prom,
      metricsText: () => prom.text(),
    });
    await proxy.startWrites();
    const server = await serveHttp(proxy.handler, { maxBodyBytes: 4 * 1024 * 1024 });
    url = server.url;
    close = async () => {
      await server.close();
      await proxy.close();
    };
  } else if (role === 'forwarder') {
    // to `a`, and to `b` at the same time when given (the floor of a dual-write hop); the answer is a's
    const agent = new http.Agent({ keepAlive: true });
    const send = (base: string, route: string, body: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const out = http.request(new URL(route, base), { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 502, text: Buffer.concat(chunks).toString('utf8') }));
        });
        out.on('error', reject);
        out.end(body);
      });
    const server = await serveHttp(
      async (req) => {
        const [first] = await Promise.all([send(a!, req.path, req.body ?? ''), ...(b ? [send(b, req.path, req.body ?? '')] : [])]);
        return { status: first!.status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(JSON.parse(first!.text)) };
      },
      { maxBodyBytes: 4 * 1024 * 1024 },
    );
    url = server.url;
    close = () => server.close();
  } else if (role === 'nullstore') {
    // a store that takes any write and does no work (CPU-free: what the proxy's own cost is measured against)
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"upserted":0}'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    close = () => new Promise((r) => server.close(() => r()));
  } else throw new Error(`usage: search-proxy-server.ts backend <size> <dims> [service-ms] | proxy <backend-url> | dualproxy <old-url> <new-url> [old-only] | forwarder <backend-url> [<second-url>] | nullstore (got ${role})`);
  process.stdout.write(`READY ${url}\n`);
  process.once('SIGTERM', () => void close().then(() => process.exit(0)));
}

void main();
