import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../lib/adapters/http/server';
import { ManualClock } from '../../lib/core/clock';
import { trackerSource } from '../../lib/core/report/runner';
import { Tracker } from '../../lib/core/tracker/service';
import { trackerApi } from '../../lib/core/tracker/api';
import { handler } from '../../lambda/report';
import { createReportHttpHandler, createReportRun, reportDepsFromEnv as depsFromEnv, type ReportHandlerDeps } from '../../lib/compose/report';
import { startCapture, type CaptureServer } from '../support/http-capture';
import { startSmtp, type RunningSmtp } from '../support/smtp';

const NOW = Date.UTC(2026, 2, 2, 8, 0);
let dir: string;
let smtp: RunningSmtp;
let hook: CaptureServer;
let tracker: Tracker;

/** EventBridge Scheduler's event for a schedule whose target input is left to the default. */
const schedulerEvent = { version: '0', id: 'e1', 'detail-type': 'Scheduled Event', source: 'aws.scheduler', account: '123456789012', time: '2026-03-02T08:00:00Z', region: 'eu-west-1', resources: ['arn:aws:scheduler:eu-west-1:123456789012:schedule/default/daily-report'], detail: '{}' };

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-report-'));
  smtp = await startSmtp();
  hook = await startCapture();
  const clock = new ManualClock(NOW - 3600_000);
  tracker = new Tracker({ store: FileStore.inMemory(), clock });
  for (const id of ['orders-db', 'search-index']) {
    await tracker.initialize(id, {});
    await tracker.apply(id, { action: 'start_subtask', phaseId: 'initialization', subTaskId: 'preflight' });
  }
  clock.set(NOW);
});
afterEach(async () => {
  await smtp.stop();
  await hook.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function deps(): ReportHandlerDeps {
  return {
    source: trackerSource(tracker),
    settings: {
      outputs: ['file', 'email', 'slack'],
      path: dir,
      recipients: ['oncall@example.com'],
      emailFrom: 'reports@example.com',
      emailVia: 'smtp',
      smtp: { host: '127.0.0.1', port: smtp.port },
      slackWebhookUrl: `${hook.url}/services/T/B/X`,
    },
    format: 'html',
    includeMetrics: true,
    thresholds: { stallMinutes: 30, errorRatePercent: 10 },
    now: () => NOW,
  };
}

describe('report handler (scheduled)', () => {
  it('an EventBridge Scheduler event reports every migration to every channel; a retried event sends nothing twice', async () => {
    const run = createReportRun(deps());
    const first = await run(schedulerEvent);
    expect(first.ok).toBe(true);
    expect(first.reports.map((r) => r.reportId)).toEqual(['orders-db/2026-03-02', 'search-index/2026-03-02']);
    expect(fs.existsSync(path.join(dir, 'orders-db', '2026-03-02.html'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'search-index', '2026-03-02.html'))).toBe(true);
    expect(smtp.messages).toHaveLength(2);
    expect(hook.requests).toHaveLength(2);
    const again = await run(schedulerEvent);
    expect(again.ok).toBe(true);
    expect(again.reports.flatMap((r) => r.results.map((x) => x.outcome))).toEqual(Array(6).fill('already-delivered'));
    expect(smtp.messages).toHaveLength(2);
    expect(hook.requests).toHaveLength(2);
  });

  it('reports only the migrations named in the schedule input, as of a given time', async () => {
    const r = await createReportRun(deps())({ migrationIds: ['search-index'], asOf: '2026-03-01T08:00:00Z' });
    expect(r.reports.map((x) => x.reportId)).toEqual(['search-index/2026-03-01']);
  });

  it('a failing channel: the others still deliver, an error alert is raised on the tracker', async () => {
    hook.respond(403, 'invalid_token');
    const r = await createReportRun(deps())({ migrationIds: ['orders-db'] });
    expect(r.ok).toBe(false);
    expect(r.reports[0]!.results.map((x) => `${x.channel}:${x.outcome}`)).toEqual(['file:delivered', 'email:delivered', 'slack:failed']);
    const alerts = (await tracker.get('orders-db')).alerts;
    expect(alerts.at(-1)).toMatchObject({ severity: 'error', message: expect.stringContaining('could not be delivered to slack (slack webhook: HTTP 403 invalid_token)') });
  });

  it('the Cloud Run HTTP handler answers Cloud Scheduler\'s POST: 200 when delivered, 500 when a channel failed, 405/400 for bad requests', async () => {
    const h = createReportHttpHandler(deps());
    const post = (body?: string) => h({ method: 'POST', path: '/', query: {}, headers: { 'content-type': 'application/json', 'x-cloudscheduler': 'true' }, body });
    const ok = await post();
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).reports).toHaveLength(2);
    expect((await h({ method: 'GET', path: '/', query: {}, headers: {} })).status).toBe(405);
    const bad = await post('{"migrationIds": "orders-db"}');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.message).toContain('migrationIds');
    hook.respond(500, 'down');
    const h2 = createReportHttpHandler({ ...deps(), now: () => NOW + 86_400_000 });
    const failed = await h2({ method: 'POST', path: '/', query: {}, headers: {}, body: '{"migrationIds":["orders-db"]}' });
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body).ok).toBe(false);
  });

  it('the Lambda entry reads the tracker API from MIGRATION_MONITOR_URL, emits EMF metrics and throws when a channel failed', async () => {
    const srv: RunningServer = await serveHttp(trackerApi({ tracker, token: 'tok' }));
    const saved = { ...process.env };
    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
    try {
      Object.assign(process.env, {
        MIGRATION_MONITOR_URL: srv.url,
        MIGRATION_MONITOR_TOKEN: 'tok',
        REPORT_OUTPUTS: 'file,slack',
        REPORT_STATE_DIR: dir,
        SLACK_WEBHOOK_URL: `${hook.url}/services/T/B/SECRET`,
        POWERTOOLS_METRICS_NAMESPACE: 'MigrationMonitor',
        POWERTOOLS_SERVICE_NAME: 'report',
      });
      delete process.env['TABLE_NAME'];
      hook.respond(500, 'down');
      // REPORT_OUTPUTS=file without a path writes under ./reports: point it at the temp dir
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        await expect(handler(schedulerEvent)).rejects.toThrow(/report delivery failed: orders-db: slack \(slack webhook: HTTP 500 down\)/);
      } finally {
        process.chdir(cwd);
      }
      expect(fs.existsSync(path.join(dir, 'reports', 'orders-db'))).toBe(true);
      const emf = out.map((l) => l.trim()).filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
      expect(emf.some((m) => m.ReportDeliveryFailures === 1 && m.Channel === 'slack')).toBe(true);
      expect(emf.some((m) => m.ReportsProduced === 1 && m.Channel === 'file')).toBe(true);
      expect(out.join('')).not.toContain('SECRET');
    } finally {
      write.mockRestore();
      process.env = saved;
      await srv.close();
    }
  });

  it('a bad environment is refused with the variable named', async () => {
    await expect(depsFromEnv({ REPORT_OUTPUTS: 'fax' })).rejects.toThrow(/REPORT_OUTPUTS/);
    await expect(depsFromEnv({ REPORT_OUTPUTS: 'file' })).rejects.toThrow(/set TABLE_NAME .* or MIGRATION_MONITOR_URL/);
  });
});
