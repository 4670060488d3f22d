import { serveHttp, type RunningServer } from '../../../lib/adapters/http/server';
import { json, text } from '../../../lib/core/http';
import { validateConfig, type ValidationConfigInput } from '../../../lib/core/validation/config';
import { runValidation } from '../../../lib/core/validation/engine';
import { freePort } from '../../support/ports';

/**
 * Latency is measured with an injected timer that the server moves forward by a planted latency per
 * request: percentiles are exact and the test never depends on the machine's speed.
 */
let now = 0;
let planted: number[] = [];
let served = 0;
let server: RunningServer;

beforeAll(async () => {
  server = await serveHttp(async (req) => {
    if (req.path === '/search') {
      now += planted[served++ % planted.length]!;
      return json(200, { hits: [] });
    }
    if (req.path === '/flaky') {
      served += 1;
      now += 1;
      return served % 10 === 0 ? json(500, { error: 'boom' }) : json(200, {});
    }
    if (req.path === '/health') return text(200, 'status: ok');
    if (req.path === '/down') return json(503, { status: 'unhealthy' });
    return json(404, {});
  });
});
afterAll(() => server?.close());
beforeEach(() => {
  now = 0;
  served = 0;
});

const run = (checks: ValidationConfigInput['checks']) =>
  runValidation(validateConfig({ checks }), { createConnector: () => { throw new Error('none'); }, timer: { now: () => now } });

describe('latency probe', () => {
  // 100 requests: 90 at 5 ms, 10 at 40 ms → p50 5, p95 40, p99 40
  beforeEach(() => {
    planted = [...Array(9).fill(5), 40];
  });

  it('percentiles against thresholds; vector-search defaults to 30 ms, api to 100 ms', async () => {
    const url = `${server.url}/search`;
    const r = await run([
      { name: 'vec-p95', kind: 'latency', url, requests: 100, profile: 'vector-search' },
      { name: 'vec-p50', kind: 'latency', url, requests: 100, profile: 'vector-search', percentile: 'p50' },
      { name: 'api-p99', kind: 'latency', url, requests: 100, percentile: 'p99' },
    ]);
    const [p95, p50, api] = r.checks;
    expect(p95).toMatchObject({ passed: false, summary: 'p95 40 ms > 30 ms, 100 requests' });
    expect(p95!.evidence).toMatchObject({ thresholdMs: 30, latencyMs: { count: 100, p50: 5, p95: 40, p99: 40, min: 5, max: 40, mean: 8.5 }, failedRequests: 0 });
    expect(p50).toMatchObject({ passed: true, summary: 'p50 5 ms <= 30 ms, 100 requests' });
    expect(api).toMatchObject({ passed: true, summary: 'p99 40 ms <= 100 ms, 100 requests' });
    expect(r.verdict).toBe('fail');
  });

  it('warm-up requests are not measured', async () => {
    planted = [1000, 1000, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5];
    const r = await run([{ name: 'w', kind: 'latency', url: `${server.url}/search`, requests: 10, warmup: 2, thresholdMs: 10 }]);
    expect(r.checks[0]).toMatchObject({ passed: true, evidence: { latencyMs: { max: 5 } } });
  });

  it('failed requests are counted apart and fail the check beyond maxErrors', async () => {
    const url = `${server.url}/flaky`;
    const strict = await run([{ name: 'f', kind: 'latency', url, requests: 50 }]);
    expect(strict.checks[0]).toMatchObject({ passed: false, evidence: { failedRequests: 5, errors: { 'HTTP 500': 5 }, latencyMs: { count: 45 } } });
    expect(strict.checks[0]!.summary).toContain('5 failed (HTTP 500: 5), over the 0 allowed');
    served = 0;
    const lenient = await run([{ name: 'f', kind: 'latency', url, requests: 50, maxErrors: 5 }]);
    expect(lenient.checks[0]!.passed).toBe(true);
  });

  it('concurrency sends every request once', async () => {
    planted = [1];
    const r = await run([{ name: 'c', kind: 'latency', url: `${server.url}/search`, requests: 37, concurrency: 8 }]);
    expect(served).toBe(37);
    expect(r.checks[0]!.evidence).toMatchObject({ latencyMs: { count: 37 } });
  });
});

describe('reachability', () => {
  it('HTTP: status, body text, unreachable', async () => {
    const closed = await freePort();
    const r = await run([
      { name: 'ok', kind: 'http', url: `${server.url}/health`, bodyContains: 'status: ok' },
      { name: 'down', kind: 'http', url: `${server.url}/down` },
      { name: 'accept-503', kind: 'http', url: `${server.url}/down`, expectStatus: [503] },
      { name: 'body', kind: 'http', url: `${server.url}/health`, bodyContains: 'green' },
      { name: 'gone', kind: 'http', url: `http://127.0.0.1:${closed}/` },
    ]);
    expect(r.checks.map((c) => [c.name, c.passed])).toEqual([
      ['ok', true],
      ['down', false],
      ['accept-503', true],
      ['body', false],
      ['gone', false],
    ]);
    expect(r.checks[1]!.summary).toMatch(/HTTP 503, expected 2xx or 3xx/);
    expect(r.checks[3]!.summary).toMatch(/body does not contain "green"/);
    expect(r.checks[4]!.summary).toMatch(/unreachable: ECONNREFUSED/);
  });

  it('TCP: open and closed ports', async () => {
    const closed = await freePort();
    const r = await run([
      { name: 'open', kind: 'tcp', host: '127.0.0.1', port: server.port },
      { name: 'closed', kind: 'tcp', host: '127.0.0.1', port: closed },
    ]);
    expect(r.checks.map((c) => [c.name, c.passed])).toEqual([
      ['open', true],
      ['closed', false],
    ]);
    expect(r.checks[1]!.summary).toBe(`127.0.0.1:${closed} unreachable: ECONNREFUSED`);
  });
});
