import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../lib/adapters/http/server';
import { ManualClock } from '../../lib/core/clock';
import { TrackerPrometheus } from '../../lib/adapters/prometheus/metrics';
import { Tracker } from '../../lib/core/tracker/service';
import { trackerApi } from '../../lib/core/tracker/api';
import { startCapture, type CaptureServer } from '../support/http-capture';
import { startS3rver, type RunningS3 } from '../support/s3rver';
import { decodeHeader, parseMime, startSmtp, type RunningSmtp } from '../support/smtp';

const BIN = path.join(__dirname, '../../bin/migration-monitor.js');
const NOW = Date.UTC(2026, 2, 2, 8, 0);
const NOW_ISO = new Date(NOW).toISOString();
let srv: RunningServer;
let tracker: Tracker;
let clock: ManualClock;
let dir: string;

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: dir, env: { ...process.env, MIGRATION_MONITOR_URL: srv.url, MIGRATION_MONITOR_TOKEN: 'tok', MIGRATION_MONITOR_MIGRATION: 'orders-db', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (((err as { code?: unknown }).code as number) ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  clock = new ManualClock(NOW - 3 * 3600_000);
  tracker = new Tracker({ store: FileStore.inMemory(), clock });
  await tracker.initialize('orders-db', { name: 'Orders DB' });
  await tracker.apply('orders-db', { action: 'start_subtask', phaseId: 'initialization', subTaskId: 'preflight' });
  clock.advance(20 * 60_000);
  await tracker.apply('orders-db', { action: 'complete_subtask', phaseId: 'initialization', subTaskId: 'preflight' });
  await tracker.apply('orders-db', { action: 'update_metrics', metrics: { totalDataMigrated: 3 * 1024 ** 3 }, increment: { successfulOperations: 95, failedOperations: 5 } });
  await tracker.apply('orders-db', { action: 'create_alert', severity: 'warning', message: 'replica lag 40s' });
  clock.set(NOW);
  srv = await serveHttp(trackerApi({ tracker, token: 'tok' }));
});
afterAll(() => srv.close());
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-report-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('migration-monitor report', () => {
  it('--output=file --path=reports/ --metrics writes the Markdown report once; a re-run says it is already there', async () => {
    const r = await cli(['report', '--output=file', '--path=reports/', '--metrics', `--now=${NOW_ISO}`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const file = path.join(dir, 'reports', 'orders-db', '2026-03-02.md');
    expect(r.stdout).toContain(`file       delivered  ${fs.realpathSync(dir)}`);
    const md = fs.readFileSync(file, 'utf8');
    expect(md).toContain('# Migration status: Orders DB');
    expect(md).toContain('## Metrics');
    expect(md).toContain('3.0 GB');
    expect(md).toContain('replica lag 40s');
    const again = await cli(['report', '--output=file', '--path=reports/', '--metrics', `--now=${NOW_ISO}`]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already-delivered');
    // the tracker counted the report once (the re-run delivered nothing new), so ReportMissing can read it
    expect((await tracker.get('orders-db')).reports).toMatchObject({ produced: { file: 1 }, lastReportId: 'orders-db/2026-03-02' });
    const prom = await new TrackerPrometheus(tracker).text();
    expect(prom).toMatch(/^reports_produced_total\{channel="file"\} 1$/m);
  });

  it('--dry-run --format=json prints the report and delivers nothing', async () => {
    const r = await cli(['report', '--dry-run', '--format=json', '--output=file', '--path=reports/', `--now=${NOW_ISO}`]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ schemaVersion: 1, reportId: 'orders-db/2026-03-02', migrationId: 'orders-db', summary: { status: 'in_progress' } });
    expect(j.metrics).toBeUndefined();
    expect(j.activity.total).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(dir, 'reports'))).toBe(false);
  });

  it('--output=email --recipients=... sends one email through SMTP, once per day', async () => {
    const smtp: RunningSmtp = await startSmtp();
    try {
      const env = { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), REPORT_EMAIL_FROM: 'reports@example.com' };
      const args = ['report', '--output=email', '--recipients=a@x.test,b@y.test', '--report-format=html', `--now=${NOW_ISO}`];
      const r = await cli(args, env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/email\s+delivered\s+a@x\.test, b@y\.test/);
      expect(smtp.messages).toHaveLength(1);
      expect(smtp.messages[0]!.to).toEqual(['a@x.test', 'b@y.test']);
      const { headers, parts } = parseMime(smtp.messages[0]!.raw);
      expect(decodeHeader(headers['subject']!)).toMatch(/^\[Migration\] Orders DB: .* \(2026-03-02\)$/);
      expect(parts.map((p) => p.headers['content-type']!.split(';')[0])).toEqual(['text/plain', 'text/html']);
      // markers live in --state-dir (default .data/reports) when there is no file/s3/gcs output
      expect(fs.existsSync(path.join(dir, '.data', 'reports', 'orders-db', '2026-03-02.deliveries', 'email', 'sent.json'))).toBe(true);
      const again = await cli(args, env);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/email\s+already-delivered/);
      expect(smtp.messages).toHaveLength(1);
    } finally {
      await smtp.stop();
    }
  });

  it('--output=s3 --bucket=NAME stores the report in S3 (s3rver through AWS_ENDPOINT_URL_S3)', async () => {
    const s3: RunningS3 = await startS3rver(['migration-reports']);
    try {
      const env = { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_S3_FORCE_PATH_STYLE: 'true' };
      const r = await cli(['report', '--output=s3', '--bucket=migration-reports', '--prefix=daily', '--report-format=html', `--now=${NOW_ISO}`], env);
      expect(r.stderr).not.toContain('migration-monitor:'); // (the AWS SDK may warn about the Node version)
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('s3://migration-reports/daily/orders-db/2026-03-02.html');
      const stored = fs.readdirSync(path.join(s3.dir, 'migration-reports'), { recursive: true }).map(String);
      expect(stored.some((f) => f.includes('2026-03-02.html'))).toBe(true);
    } finally {
      await s3.stop();
    }
  });

  it('exits 1 when a channel fails, still delivers to the others, and raises an error alert on the tracker', async () => {
    const hook: CaptureServer = await startCapture();
    hook.respond(500, 'rollup_error');
    try {
      const r = await cli(['report', '--output=file,slack', '--path=reports/', `--now=${NOW_ISO}`, '--json'], { SLACK_WEBHOOK_URL: `${hook.url}/services/T/B/SECRET` });
      expect(r.code).toBe(1);
      const out = JSON.parse(r.stdout);
      expect(out.results.map((x: { channel: string; outcome: string }) => `${x.channel}:${x.outcome}`)).toEqual(['file:delivered', 'slack:failed']);
      expect(out.metrics).toEqual({ 'ReportsProduced{Channel=file}': 1, 'ReportDeliveryFailures{Channel=slack}': 1 });
      expect(r.stdout + r.stderr).not.toContain('SECRET');
      const s = await tracker.get('orders-db');
      const alert = s.alerts.find((a) => a.message.startsWith('Status report orders-db/2026-03-02 could not be delivered'))!;
      expect(alert).toMatchObject({ severity: 'error', acknowledged: false });
      expect(alert.message).toContain('slack (slack webhook: HTTP 500 rollup_error)');
      expect(alert.message).not.toContain('SECRET');
    } finally {
      await hook.stop();
    }
  });

  it('exits 2 naming the problem on bad arguments', async () => {
    const bad = await cli(['report', '--output=ftp']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--output must be one of file, s3, gcs, email, slack (got "ftp")');
    const noRcpt = await cli(['report', '--output=email'], { SMTP_HOST: '127.0.0.1', REPORT_EMAIL_FROM: 'r@example.com' });
    expect(noRcpt.code).toBe(2);
    expect(noRcpt.stderr).toContain('--output=email needs --recipients=a@x,b@y');
    const noBucket = await cli(['report', '--output=gcs']);
    expect(noBucket.stderr).toContain('--output=s3/gcs needs --bucket=NAME');
    expect((await cli(['report', '--report-format=pdf'])).stderr).toContain('--report-format must be one of markdown, html, json');
    expect((await cli(['report', '--format=pdf'])).stderr).toContain("argument 'pdf' is invalid. must be one of table, json, yaml, markdown");
    expect((await cli(['report', '--stall-minutes=abc'])).code).toBe(2);
  });
});

describe('migration-monitor schedule', () => {
  it('prints a crontab line for --time=08:00 that runs the report with the given arguments', async () => {
    const r = await cli(['schedule', '--time=08:00', '--', '--output=file', '--path=reports/', '--metrics']);
    expect(r.code).toBe(0);
    const line = r.stdout.trim();
    expect(line).toMatch(/^0 8 \* \* \* cd \S+ && \S+node\S* \S+bin\/migration-monitor\.js report --output=file --path=reports\/ --metrics >> \.data\/reports\/cron\.log 2>&1 # migration-monitor:daily-report$/);
  });

  it('installs the line idempotently, with secrets kept in an env file, and removes it', async () => {
    const tab = path.join(dir, 'crontab');
    fs.writeFileSync(tab, 'MAILTO=ops@example.com\n15 3 * * * /usr/local/bin/backup\n');
    fs.writeFileSync(path.join(dir, 'report.env'), '# secrets for the daily report\nexport SMTP_HOST=smtp.example.com\nREPORT_EMAIL_FROM="reports@example.com"\nSMTP_PASSWORD=x\n', { mode: 0o600 });
    const args = ['schedule', '--install', `--crontab-file=${tab}`, '--time=7:30', '--days=1-5', '--env-from=report.env', '--', '--output=email', '--recipients=a@x.test'];
    expect((await cli(args)).code).toBe(0);
    expect((await cli(args)).code).toBe(0);
    const lines = fs.readFileSync(tab, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('MAILTO=ops@example.com');
    expect(lines[2]).toMatch(/^30 7 \* \* 1-5 cd \S+ && set -a && \. \S+\/report\.env && set \+a && .* report --output=email --recipients=a@x\.test >> /);
    const rm = await cli(['schedule', '--remove', `--crontab-file=${tab}`]);
    expect(rm.code).toBe(0);
    expect(fs.readFileSync(tab, 'utf8')).toBe('MAILTO=ops@example.com\n15 3 * * * /usr/local/bin/backup\n');
  });

  it('refuses to install with an --env-from file that does not exist (the job would die every morning), and leaves the crontab alone', async () => {
    const tab = path.join(dir, 'crontab');
    fs.writeFileSync(tab, '15 3 * * * /usr/local/bin/backup\n');
    const r = await cli(['schedule', '--install', `--crontab-file=${tab}`, '--env-from=missing.env', '--', '--output=file']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--env-from .*missing\.env: no such file/);
    expect(fs.readFileSync(tab, 'utf8')).toBe('15 3 * * * /usr/local/bin/backup\n');
  });

  it('refuses to install report arguments that can never run (checked with the --env-from settings), and leaves the crontab alone', async () => {
    const tab = path.join(dir, 'crontab');
    fs.writeFileSync(tab, '15 3 * * * /usr/local/bin/backup\n');
    const install = (...args: string[]) => cli(['schedule', '--install', `--crontab-file=${tab}`, ...args], { SMTP_HOST: '', REPORT_EMAIL_FROM: '' });
    const noRcpt = await install('--', '--output=email');
    expect(noRcpt.code).toBe(2);
    expect(noRcpt.stderr).toContain('--output=email needs --recipients');
    const noSmtp = await install('--', '--output=email', '--email-via=smtp', '--recipients=a@x.test', '--from=r@x.test'); // without SMTP_HOST the default would be SES
    expect(noSmtp.code).toBe(2);
    expect(noSmtp.stderr).toContain('needs SMTP_HOST');
    expect((await install('--', '--report-format=pdf')).stderr).toContain('--report-format must be one of');
    expect((await install('--', '--format=pdf')).stderr).toContain("argument 'pdf' is invalid");
    expect((await install('--', '--output')).code).toBe(2);
    const fixedDay = await install('--', '--now=2026-01-01T08:00:00Z');
    expect(fixedDay.code).toBe(2);
    expect(fixedDay.stderr).toMatch(/--now .*same/);
    expect(fs.readFileSync(tab, 'utf8')).toBe('15 3 * * * /usr/local/bin/backup\n');
  });

  it('refuses a bad time, unknown report flags and a token on the command line', async () => {
    expect((await cli(['schedule', '--time=25:00'])).stderr).toContain('--time must be HH:MM');
    const unknown = await cli(['schedule', '--', '--ouput=file']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown report option --ouput');
    expect((await cli(['schedule', '--', '--token=abc'])).stderr).toContain('MIGRATION_MONITOR_TOKEN in the --env-from');
  });
});
