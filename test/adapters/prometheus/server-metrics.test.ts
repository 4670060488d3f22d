/**
 * The servers' own metrics on a real local server (what `npm start` runs: tracker API + search-proxy demo):
 * build info, the standard process metrics, and HTTP requests by route template, all clean under
 * `promtool check metrics` on a real scrape.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FileStore } from '../../../lib/adapters/file/file-store';
import { buildInfo } from '../../../lib/compose/build-info';
import type { LocalServer } from '../../../lib/cli/commands/serve';
import { expectPromtoolClean, parseExposition } from '../../support/prometheus';

const VERSION = (JSON.parse(fs.readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as { version: string }).version;

let srv: LocalServer;
beforeAll(async () => {
  const { startLocalServer } = await import('../../../lib/cli/commands/serve');
  srv = await startLocalServer({ port: 0, store: FileStore.inMemory(), proxy: true, proxyPort: 0 });
});
afterAll(async () => srv?.close());

const scrape = async (url: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  expectPromtoolClean(text);
  return { text, p: parseExposition(text) };
};

describe('server metrics on /metrics', () => {
  it('the tracker counts requests by route template (never the raw path) and status, with a duration histogram', async () => {
    for (const id of ['default', 'another-id', 'a-third']) await fetch(`${srv.url}/api/migrations/${id}/dashboard`);
    await fetch(`${srv.url}/no/such/path/${'x'.repeat(50)}`);
    await fetch(`${srv.url}/api/migrations/default/progress`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"action":"nope"}' });
    await fetch(`${srv.url}/api/migration/progress`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{}' });
    const { text, p } = await scrape(srv.url);
    const dash = { method: 'GET', route: '/api/migrations/:id/dashboard' };
    // 'default' exists (200); the other two do not (404): one series per code, under the template
    expect(p.get('migration_http_requests_total', { ...dash, code: '200' })).toBe(1);
    expect(p.get('migration_http_requests_total', { ...dash, code: '404' })).toBe(2);
    expect(p.get('migration_http_request_duration_seconds_count', dash)).toBe(3);
    expect(p.types.get('migration_http_request_duration_seconds')).toBe('histogram');
    expect(p.get('migration_http_requests_total', { method: 'GET', route: 'unmatched', code: '404' })).toBe(1);
    expect(p.get('migration_http_requests_total', { method: 'POST', route: '/api/migrations/:id/progress', code: '400' })).toBe(1);
    expect(p.get('migration_http_requests_total', { method: 'PATCH', route: 'unmatched', code: '405' })).toBe(1);
    // no raw path, no migration id ever becomes a label value
    const http = text.split('\n').filter((l) => l.startsWith('migration_http_'));
    expect(http.filter((l) => /another-id|a-third|no\/such/.test(l))).toEqual([]);
  });

  it('the tracker says its build and process: migration_build_info, process_* and nodejs_* metrics', async () => {
    const { p } = await scrape(srv.url);
    const build = buildInfo();
    expect(build.version).toBe(VERSION);
    expect(p.get('migration_build_info', { version: VERSION, revision: build.revision, runtime: `node ${process.version}` })).toBe(1);
    expect(p.types.get('process_cpu_seconds_total')).toBe('counter');
    expect(p.get('process_resident_memory_bytes')).toBeGreaterThan(1e6);
    expect(p.get('process_start_time_seconds')).toBeLessThanOrEqual(Date.now() / 1000);
    expect(p.get('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('the search proxy serves the same: its requests by route, build info, process metrics, and its breaker state as a label set', async () => {
    await fetch(`${srv.proxyUrl}/health`);
    await fetch(`${srv.proxyUrl}/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vector: [0.1, 0.2, 0.3], topK: 1 }) });
    const { p } = await scrape(srv.proxyUrl!);
    expect(p.get('migration_http_requests_total', { method: 'GET', route: '/health', code: '200' })).toBeGreaterThanOrEqual(1);
    expect([...p.samples.keys()].some((k) => k.startsWith('migration_http_requests_total{') && k.includes('route="/search"'))).toBe(true);
    expect([...p.samples.keys()].some((k) => k.startsWith('migration_build_info{'))).toBe(true);
    expect(p.types.get('process_cpu_seconds_total')).toBe('counter');
    const states = ['closed', 'half_open', 'open'].map((state) => p.get('migration_circuit_breaker_state', { breaker: 'search-primary', state }));
    expect(states).toEqual([1, 0, 0]);
  });
});

describe('buildInfo', () => {
  it('takes the revision an image build sets, else the checkout, else says unknown', () => {
    expect(buildInfo({ MIGRATION_MONITOR_REVISION: 'abc1234' }).revision).toBe('abc1234');
    // a checkout (a clone, or a git worktree whose .git is a file) says its commit, read without running git
    const root = path.join(__dirname, '../../..');
    const expected = fs.existsSync(path.join(root, '.git')) ? execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim() : 'unknown';
    expect(buildInfo({}).revision).toBe(expected);
    expect(buildInfo({}).runtime).toBe(`node ${process.version}`);
  });
});
