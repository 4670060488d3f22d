import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileReportSink } from '../../lib/adapters/file/file-report-sink';
import { FileStore } from '../../lib/adapters/file/file-store';
import { installTracing } from '../../lib/compose/tracing';
import { ManualClock } from '../../lib/core/clock';
import type { HttpRequest } from '../../lib/core/http';
import { runReports, trackerSource } from '../../lib/core/report/runner';
import { searchProxy } from '../../lib/core/search/proxy';
import type { SearchHit, VectorBackend } from '../../lib/core/search/query';
import { NOOP_TRACER, setTracer, tracer, withSpan } from '../../lib/core/tracing';
import { Tracker } from '../../lib/core/tracker/service';
import { validateConfig } from '../../lib/core/validation/config';
import { runValidation } from '../../lib/core/validation/engine';
import { MemoryConnector, toRows } from '../support/memory-connector';
import { plantedData } from '../support/planted';
import { byName, one, startOtlpReceiver, tree, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver';

let receiver: OtlpReceiver;
let tmp: string;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  installTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'jobs-under-test' }, 'local', 'jobs');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trace-trees-'));
});
afterAll(async () => {
  await tracer().shutdown();
  setTracer(NOOP_TRACER);
  await receiver.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Run `fn` under a root span named `root`, export, and return that trace's spans and its root. */
async function traced(root: string, fn: () => Promise<unknown>): Promise<{ spans: ReceivedSpan[]; root: ReceivedSpan }> {
  await withSpan(root, { root: true }, fn);
  await tracer().flush();
  await receiver.waitFor((s) => s.some((x) => x.name === root));
  const r = one(receiver.spans, root);
  return { spans: receiver.spans.filter((s) => s.traceId === r.traceId), root: r };
}

describe('span trees of the jobs and the proxy (decoded by a local OTLP/HTTP receiver)', () => {
  it('a report run: per migration load → build → render → each channel, a failed channel an error', async () => {
    const tracker = new Tracker({ store: FileStore.inMemory() });
    await tracker.initialize('orders', {});
    const broken = { channel: 'slack', send: async () => Promise.reject(new Error('webhook answered 500')) };
    const { spans, root } = await traced('report-job', () =>
      runReports({ source: trackerSource(tracker), now: Date.now(), archives: [new FileReportSink(tmp)], ledger: new FileReportSink(tmp), notifiers: [broken], maxAttempts: 1 }),
    );
    // a tracker update writes history only when it opens a new history bucket (wall-clock dependent): left out
    const lines = tree(spans.filter((s) => !s.name.startsWith('putHistory ')), root);
    expect(lines).toEqual([
      'report-job',
      '  listMigrations memory',
      '  migration.report',
      '    migration.report.load',
      '      load memory',
      // the trend charts: the history's three tiers (its live point from the state read above)
      '      readHistory memory',
      '      readHistory memory',
      '      readHistory memory',
      '      readActivity memory',
      '    migration.report.build',
      '    migration.report.render',
      '    migration.report.channel',
      '    migration.report.channel',
      // a store that is durable when commit returns (memory, DynamoDB, Redis) has no durable wait: no span for it
      '    migration.tracker.apply', // the delivery-failure alert
      '      load memory',
      '      commit memory',
      '    migration.tracker.apply', // record_report for the channel that took it
      '      getIdempotency memory',
      '      load memory',
      '      commit memory',
    ]);
    const channels = byName(spans, 'migration.report.channel');
    expect(channels.map((c) => c.attributes['migration.channel']).sort()).toEqual(['file', 'slack']);
    expect(channels.find((c) => c.attributes['migration.channel'] === 'slack')).toMatchObject({ status: 'error', attributes: expect.objectContaining({ 'migration.outcome': 'failed' }) });
    expect(channels.find((c) => c.attributes['migration.channel'] === 'file')).toMatchObject({ status: 'unset', attributes: expect.objectContaining({ 'migration.outcome': 'delivered' }) });
    expect(one(spans, 'migration.report')).toMatchObject({ status: 'error', attributes: expect.objectContaining({ 'migration.id': 'orders' }) });
    // the run's alert and record_report go through the tracker: their store calls are in the same trace
    expect(byName(spans, 'migration.tracker.apply').map((s) => s.attributes['migration.operation'])).toEqual(['create_alert', 'record_report']);
    expect(spans.every((s) => s.resource['service.name'] === 'jobs-under-test')).toBe(true);
  });

  it('a validation run: each check with its kind and verdict, each connector read and scanned batch', async () => {
    const { source, target } = plantedData();
    const conns = { src: new MemoryConnector(toRows(source), true, 'src'), dst: new MemoryConnector(toRows(target), true, 'dst') };
    const cfg = validateConfig({
      connectors: { src: { type: 'file', path: 'unused.jsonl', key: 'id' }, dst: { type: 'file', path: 'unused.jsonl', key: 'id' } },
      checks: [
        { name: 'rows', kind: 'count', source: 'src', target: 'dst' },
        { name: 'diff', kind: 'diff', source: 'src', target: 'dst', batchSize: 200, ignore: [] },
      ],
    });
    const { spans, root } = await traced('validate-job', () => runValidation(cfg, { createConnector: (n) => conns[n as keyof typeof conns], clock: new ManualClock() }));
    const run = one(spans, 'migration.validation.run');
    expect(run).toMatchObject({ parentSpanId: root.spanId, attributes: expect.objectContaining({ 'migration.outcome': 'fail', 'migration.validation.checks': 2 }) });
    const checks = byName(spans, 'migration.validation.check');
    expect(checks.map((c) => [c.attributes['migration.check.name'], c.attributes['migration.check.kind'], c.attributes['migration.outcome'], c.parentSpanId === run.spanId])).toEqual([
      ['rows', 'count', 'fail', true],
      ['diff', 'diff', 'fail', true],
    ]);
    const count = spans.filter((s) => s.name === 'migration.validation.connector.count');
    expect(count.map((c) => c.attributes['migration.connector.side']).sort()).toEqual(['source', 'target']);
    expect(count.every((c) => c.parentSpanId === checks[0]!.spanId && c.kind === 'client')).toBe(true);
    const batches = spans.filter((s) => s.name === 'migration.validation.connector.batch' && s.parentSpanId === checks[1]!.spanId);
    const rows = batches.reduce((n, b) => n + Number(b.attributes['migration.batch.size'] ?? 0), 0);
    expect(rows).toBe(source.length + target.length); // every row read is in some batch span
    expect(batches.some((b) => b.attributes['migration.connector'] === 'src') && batches.some((b) => b.attributes['migration.connector'] === 'dst')).toBe(true);
  });

  it('a proxy search that falls back: breaker decision, the failed primary call recorded, the state change as an event, the fallback call', async () => {
    const hits: SearchHit[] = [{ id: 'a', score: 1 }];
    const primary: VectorBackend = { description: 'primary', search: async () => Promise.reject(Object.assign(new Error('primary answered 503'), { status: 503 })) };
    const fallback: VectorBackend = { description: 'fallback', search: async () => hits };
    const proxy = searchProxy({ primary, fallback, settings: { consecutiveFailures: 1, deadlineMs: 1000, primaryTimeoutMs: 300 } });
    const req = (traceparent?: string): HttpRequest => ({ method: 'POST', path: '/search', query: {}, headers: { 'content-type': 'application/json', ...(traceparent ? { traceparent } : {}) }, body: JSON.stringify({ vector: [0.1, 0.2], topK: 1 }) });
    const callerTrace = '0af7651916cd43dd8448eb211c80319c';
    const res = await proxy.handler(req(`00-${callerTrace}-b7ad6b7169203331-01`));
    expect(res.status).toBe(200);
    const again = await proxy.handler(req()); // breaker now open: rejected without a call
    expect(again.headers['x-search-backend']).toBe('fallback');
    await tracer().flush();
    await receiver.waitFor((s) => s.filter((x) => x.name === 'POST /search').length >= 2);
    const server = receiver.spans.find((s) => s.name === 'POST /search' && s.traceId === callerTrace)!;
    expect(server).toMatchObject({ kind: 'server', parentSpanId: 'b7ad6b7169203331', attributes: expect.objectContaining({ 'http.response.status_code': 200, 'http.route': '/search' }) });
    const spans = receiver.spans.filter((s) => s.traceId === callerTrace);
    expect(tree(spans, server)).toEqual(['POST /search', '  migration.search', '    migration.search.backend', '    migration.search.fallback']);
    const first = one(spans, 'migration.search.backend');
    expect(first).toMatchObject({ kind: 'client', status: 'error', statusMessage: 'primary answered 503', attributes: expect.objectContaining({ 'migration.backend': 'primary', 'migration.breaker.state': 'closed', 'migration.outcome': 'failure' }) });
    expect(first.events.map((e) => e.name)).toEqual(['breaker.state_change', 'exception']);
    expect(first.events[0]!.attributes).toMatchObject({ 'migration.breaker.from': 'closed', 'migration.breaker.to': 'open' });
    expect(one(spans, 'migration.search.fallback')).toMatchObject({ status: 'unset', attributes: expect.objectContaining({ 'migration.backend': 'fallback', 'migration.outcome': 'success' }) });
    const search = one(spans, 'migration.search');
    expect(search.events.map((e) => e.name)).toEqual(['fallback']);
    expect(search.attributes).toMatchObject({ 'migration.backend': 'fallback', 'migration.search.degraded': 'true' });
    // the second search: a new trace; the primary's breaker decision (open) is visible as a rejected call
    const secondServer = receiver.spans.find((s) => s.name === 'POST /search' && s.traceId !== callerTrace)!;
    const second = receiver.spans.filter((s) => s.traceId === secondServer.traceId);
    expect(one(second, 'migration.search.backend').attributes).toMatchObject({ 'migration.breaker.state': 'open', 'migration.outcome': 'rejected' });
  });

  it('log ingest: a batch span with the line outcomes', async () => {
    const { ingestLines } = await import('../../lib/core/logwatch/ingest');
    const analyzer = { process: async (l: { text: string }) => (l.text ? ('applied' as const) : ('empty' as const)) };
    const { spans } = await traced('ingest-job', () => ingestLines(analyzer as never, [{ text: 'a' }, { text: '' }] as never));
    expect(one(spans, 'migration.logs.batch').attributes).toMatchObject({ 'migration.logs.lines': 2, 'migration.logs.applied': 1 });
  });
});
