import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../lib/adapters/http/server';
import { installTracing } from '../../lib/compose/tracing';
import { NOOP_TRACER, setTracer, tracer } from '../../lib/core/tracing';
import { Tracker } from '../../lib/core/tracker/service';
import { trackerApi } from '../../lib/core/tracker/api';
import { one, startOtlpReceiver, tree, type OtlpReceiver } from '../support/otlp-receiver';

const BIN = path.join(__dirname, '../../bin/migration-monitor.js');
let srv: RunningServer;
let tracker: Tracker;
let receiver: OtlpReceiver;
let dataDir: string;
let store: FileStore;

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, MIGRATION_MONITOR_URL: srv.url, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (((err as NodeJS.ErrnoException).code as unknown as number) ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  // The tracker API process: tracing from the standard variable, as `npm start` with OTEL_EXPORTER_OTLP_ENDPOINT.
  installTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '0' }, 'local', 'local');
  // the embedded store on disk, as local mode runs it: its group fsync is the durable step
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-tracker-'));
  store = await FileStore.open(dataDir);
  tracker = new Tracker({ store });
  const plan = [
    { id: 'bulk-copy', name: 'Bulk copy', estimatedDuration: 60 },
    { id: 'cutover', name: 'Cutover', estimatedDuration: 10, dependencies: ['bulk-copy'] },
  ];
  await tracker.initialize('default', { plan });
  await tracker.apply('default', { action: 'start_phase', phaseId: 'bulk-copy' });
  srv = await serveHttp(trackerApi({ tracker }));
});
afterAll(async () => {
  await srv.close();
  await store.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  await tracer().shutdown();
  setTracer(NOOP_TRACER);
  await receiver.close();
});

describe('one trace from the migration script to the store', () => {
  it('`migration-monitor phase progress` with --otlp-endpoint: CLI → client → API → parse/apply → store → durable, one trace id', async () => {
    const before = receiver.spans.length;
    const r = await cli(['phase', 'progress', 'bulk-copy', '40', '--otlp-endpoint', receiver.url]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    await tracer().flush();
    const spans = await receiver.waitFor((s) => s.some((x) => x.name === 'migration-monitor phase progress') && s.some((x) => x.name === 'migration.tracker.durable'));
    expect(receiver.rejected).toEqual([]);
    const root = one(spans, 'migration-monitor phase progress');
    expect(root.parentSpanId).toBeUndefined();
    expect(root.resource['service.name']).toBe('migration-monitor-cli');
    const fresh = spans.slice(before).filter((s) => s.traceId === root.traceId);
    // History is written when an update opens a new history bucket (lib/core/tracker/service.ts recordHistory),
    // so whether this update carries a `putHistory` span depends on the wall clock: the tree leaves it out.
    const lines = tree(fresh.filter((s) => !s.name.startsWith('putHistory ')), root);
    expect(lines).toEqual([
      'migration-monitor phase progress',
      '  POST',
      '    POST /api/migration/progress',
      '      migration.tracker.parse',
      '      migration.tracker.apply',
      '        getIdempotency file',
      '        load file',
      '        commit file',
      '        migration.tracker.durable',
    ]);
    // The client span sent the traceparent: the server span is its child, in another process (another resource).
    const client = fresh.find((s) => s.name === 'POST' && s.kind === 'client')!;
    const server = one(fresh, 'POST /api/migration/progress');
    expect(server).toMatchObject({ parentSpanId: client.spanId, kind: 'server', attributes: expect.objectContaining({ 'http.route': '/api/migration/progress', 'http.response.status_code': 200 }) });
    expect(server.resource['service.name']).toBe('migration-monitor-local');
    expect(client.attributes).toMatchObject({ 'http.response.status_code': 200, 'migration.operation': 'update_phase' });
    expect(one(fresh, 'migration.tracker.apply').attributes).toMatchObject({ 'migration.id': 'default', 'migration.operation': 'update_phase', 'migration.phase': 'bulk-copy' });
    expect(one(fresh, 'commit file')).toMatchObject({ kind: 'client', attributes: expect.objectContaining({ 'db.operation.name': 'commit', 'migration.id': 'default' }) });
    // children lie inside their parents in time
    for (const s of fresh.filter((x) => x.parentSpanId)) {
      const p = fresh.find((x) => x.spanId === s.parentSpanId)!;
      if (p.resource['service.name'] === s.resource['service.name']) expect(s.startNs >= p.startNs && s.endNs <= p.endNs).toBe(true);
    }
  });

  it('a refused update is an error on the CLI span and a 409 on the server span, and the trace still arrives', async () => {
    const r = await cli(['phase', 'start', 'cutover', '--otlp-endpoint', receiver.url]);
    expect(r.code).toBe(1);
    await tracer().flush();
    const spans = await receiver.waitFor((s) => s.some((x) => x.name === 'migration-monitor phase start'));
    const root = one(spans, 'migration-monitor phase start');
    expect(root.status).toBe('error');
    const server = spans.find((s) => s.traceId === root.traceId && s.kind === 'server')!;
    expect(server.attributes['http.response.status_code']).toBe(409);
    expect(server.status).toBe('unset'); // a 4xx is the client's problem, not the server's (HTTP conventions)
    const apply = spans.find((s) => s.traceId === root.traceId && s.name === 'migration.tracker.apply')!;
    expect(apply.events.map((e) => e.name)).toContain('exception');
  });

  it('without an endpoint the CLI sends no traceparent and exports nothing', async () => {
    const requests = receiver.requests;
    const seen: string[] = [];
    const spy = await serveHttp(async (req) => (seen.push(req.headers['traceparent'] ?? 'none'), { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' }));
    try {
      const r = await cli(['phase', 'progress', 'bulk-copy', '50'], { MIGRATION_MONITOR_URL: spy.url });
      expect(r.code).toBe(0);
    } finally {
      await spy.close();
    }
    expect(seen).toEqual(['none']);
    expect(receiver.requests).toBe(requests);
  });

  it('a malformed endpoint is a usage error naming the setting', async () => {
    const r = await cli(['status', '--otlp-endpoint', 'not a url']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});
