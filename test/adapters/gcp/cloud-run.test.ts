import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import fs, { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleHandler } from '../../../lib/constructs/gcp/bundle';
import { FileStore } from '../../../lib/adapters/file/file-store';
import { Tracker } from '../../../lib/core/tracker/service';
import { trackerApi } from '../../../lib/core/tracker/api';
import { cloudRunEntry, type FunctionsFrameworkRequest } from '../../../lib/adapters/gcp/cloud-run';
import { setTraceProject } from '../../../lib/adapters/gcp/log-line-metrics';
import { freePort, waitForPort } from '../../support/ports';

/** The headers Cloud Scheduler sends with an HTTP target and an OIDC token (the token's signature is fake: Cloud Run verifies it, not the container). */
const schedulerHeaders = (scheduleTime: string) => ({
  'User-Agent': 'Google-Cloud-Scheduler',
  'X-CloudScheduler': 'true',
  'X-CloudScheduler-JobName': 'mm-prod-daily-report',
  'X-CloudScheduler-ScheduleTime': scheduleTime,
  'Content-Type': 'application/json',
  Authorization: `Bearer ${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ email: 'mm-prod-scheduler@acme.iam.gserviceaccount.com', aud: 'https://mm-prod-report' })).toString('base64url')}.SIGNATURE_REMOVED_BY_GOOGLE`,
});

const event = JSON.stringify({ migrationId: 'm1' });

describe('Cloud Run entry, bundled, as a real HTTP server on the embedded store', () => {
  let child: ChildProcess;
  let base: string;
  let storeDir: string;
  let stdout = '';

  beforeAll(async () => {
    const bundle = bundleHandler({ entry: path.join(__dirname, 'fixtures/scheduled-tracker-handler.ts'), exportName: 'handler', adapter: 'http', name: 'report' });
    storeDir = mkdtempSync(path.join(tmpdir(), 'mm-cloudrun-store-'));
    const port = await freePort();
    // Container mode: `node index.js` listens on $PORT, as on a Cloud Run service.
    child = spawn(process.execPath, [path.join(bundle, 'index.js')], { env: { PATH: process.env['PATH'], PORT: String(port), MM_STORE_DIR: storeDir, MM_FAIL_STARTS: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    await waitForPort(port);
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  const post = (headers: Record<string, string>, body = event) => fetch(`${base}/`, { method: 'POST', headers, body });

  it('answers 500 naming the problem when the handler cannot start, and starts it again on the next request', async () => {
    const failed = await post(schedulerHeaders('2026-03-01T07:00:00Z'));
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ error: { code: 'misconfigured', message: 'report could not start: start 1 failed on purpose' } });
  });

  it('answers a Cloud Scheduler request, and a retry of the same run changes nothing', async () => {
    const first = await post(schedulerHeaders('2026-03-02T07:00:00Z'));
    expect(first.status).toBe(200);
    const a = (await first.json()) as any;
    expect(a).toMatchObject({ replayed: false, scheduledTime: '2026-03-02T07:00:00Z' });
    const retry = await post(schedulerHeaders('2026-03-02T07:00:00Z'));
    expect(((await retry.json()) as any).replayed).toBe(true);
    const next = await post(schedulerHeaders('2026-03-03T07:00:00Z'));
    expect(((await next.json()) as any).replayed).toBe(false);
  });

  it('refuses a request without a bearer token (401) and a non-POST (405)', async () => {
    const { Authorization: _a, ...noAuth } = schedulerHeaders('2026-03-04T07:00:00Z');
    const r = await post(noAuth);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
    const g = await fetch(`${base}/`, { headers: schedulerHeaders('2026-03-04T07:00:00Z') });
    expect(g.status).toBe(405);
    expect(await r.text()).toMatch(/missing Authorization: Bearer/);
  });

  it('answers 400 for a body that is not JSON and 500 (so the scheduler retries) when the handler fails', async () => {
    expect((await post(schedulerHeaders('2026-03-05T07:00:00Z'), '{nope')).status).toBe(400);
    const r = await post(schedulerHeaders('2026-03-05T07:00:00Z'), '{}');
    expect(r.status).toBe(500);
    expect(await r.json()).toEqual({ error: { code: 'internal', message: 'internal server error' } });
    expect((await fetch(`${base}/`, { method: 'PUT', headers: schedulerHeaders('2026-03-05T07:00:00Z'), body: '{}' })).status).toBe(405);
  });

  it('logs one structured line per request, with the scheduler job, the caller and HandlerErrors on a 5xx', async () => {
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    const ok = lines.find((l) => l.httpRequest?.status === 200)!;
    expect(ok).toMatchObject({ severity: 'INFO', handler: 'report', schedulerJob: 'mm-prod-daily-report', scheduleTime: '2026-03-02T07:00:00Z', caller: 'mm-prod-scheduler@acme.iam.gserviceaccount.com' });
    expect(ok.HandlerErrors).toBeUndefined();
    const failed = lines.find((l) => l.httpRequest?.status === 500)!;
    expect(failed).toMatchObject({ severity: 'ERROR', handler: 'report' });
    // the spec metric as its own line, in the shape the log-based metric reads (jsonPayload.HandlerErrors > 0)
    const errorLines = lines.filter((l) => l.HandlerErrors !== undefined);
    expect(errorLines.length).toBe(lines.filter((l) => l.httpRequest?.status >= 500).length);
    for (const l of errorLines) expect(l).toMatchObject({ Handler: 'report', HandlerErrors: 1 });
    expect(lines.some((l) => l.severity === 'ERROR' && /event.migrationId is required/.test(l.message))).toBe(true);
  });

  it('left the runs durable in the embedded store', async () => {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    const store = await FileStore.open(storeDir);
    try {
      const alerts = (await store.readActivity('m1')).filter((e) => JSON.stringify(e).includes('daily report for'));
      expect(alerts).toHaveLength(2);
      expect(fs.readFileSync(path.join(storeDir, 'starts'), 'utf8')).toBe('2'); // one failed start, one good one, no more
    } finally {
      await store.close();
    }
  });
});

describe('Cloud Run function (Functions Framework) adapter over the tracker API', () => {
  it('serves an HttpHandler factory through the Functions Framework signature (body already read into rawBody)', async () => {
    const tracker = new Tracker({ store: FileStore.inMemory() });
    const entry = cloudRunEntry({ handler: () => trackerApi({ tracker }) }, { name: 'tracker', adapter: 'http', log: () => undefined });
    // What the Functions Framework does before calling the function: read the body, keep the raw bytes.
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = req as FunctionsFrameworkRequest;
        r.rawBody = Buffer.concat(chunks);
        r.body = r.rawBody.length ? JSON.parse(r.rawBody.toString()) : {};
        void entry.functionsFramework(r, res);
      });
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const headers = { ...schedulerHeaders('2026-03-02T07:00:00Z'), 'X-Migration-Id': 'm2' };
      const init = await fetch(`http://127.0.0.1:${port}/api/migration/progress`, { method: 'POST', headers, body: JSON.stringify({ action: 'initialize', name: 'FF' }) });
      expect(init.status).toBe(200);
      const get = await fetch(`http://127.0.0.1:${port}/api/migration/progress?migration=m2`, { headers });
      expect(get.status).toBe(200);
      expect(await get.json()).toMatchObject({ migrationId: 'm2', name: 'FF' });
      const noAuth = await fetch(`http://127.0.0.1:${port}/api/migration/progress`, { method: 'GET' });
      expect(noAuth.status).toBe(401);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('names a missing export in the 500 it answers and in the log', async () => {
    const logged: Array<Record<string, unknown>> = [];
    const entry = cloudRunEntry({ other: () => undefined }, { name: 'x', log: (l) => void logged.push(l) });
    const res = await (await entry.handler())({ method: 'POST', path: '/', query: {}, headers: { authorization: 'Bearer t' }, body: '{}' });
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body!).error.message).toMatch(/no function export "handler" \(exports: other\)/);
    expect(logged.some((l) => /x could not start: .*no function export/.test(String(l['message'])))).toBe(true);
  });

  it('puts the request\'s Cloud Trace fields on every line it writes for it (error, HandlerErrors, access), tracing off', async () => {
    setTraceProject('acme-migration');
    try {
      const logged: Array<Record<string, unknown>> = [];
      const boom = () => async () => Promise.reject(new Error('boom'));
      const entry = cloudRunEntry({ handler: boom }, { name: 'x', adapter: 'http', log: (l) => void logged.push(l) });
      const headers = { authorization: 'Bearer t', 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/1;o=1' };
      const res = await (await entry.handler())({ method: 'POST', path: '/', query: {}, headers, body: '{}' });
      expect(res.status).toBe(500);
      expect(logged.map((l) => l['message'])).toEqual([expect.stringMatching(/^x: Error: boom/), 'POST / 500', 'metric HandlerErrors']);
      for (const l of logged) expect(l).toMatchObject({ 'logging.googleapis.com/trace': 'projects/acme-migration/traces/105445aa7843bc8bf206b12000100000', 'logging.googleapis.com/spanId': '0000000000000001', 'logging.googleapis.com/trace_sampled': true });
    } finally {
      setTraceProject(undefined);
    }
  });
});
