import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { S3ReportSink } from '../../../lib/adapters/aws/s3-report-sink';
import { FileReportSink } from '../../../lib/adapters/file/file-report-sink';
import { SlackNotifier } from '../../../lib/adapters/slack/slack-notifier';
import { SmtpNotifier } from '../../../lib/adapters/smtp/smtp-notifier';
import { loadPrevious, produceReport, type DeliveryOptions } from '../../../lib/core/report/deliver';
import type { ReportMetrics } from '../../../lib/core/report/ports';
import { startCapture, type CaptureServer } from '../../support/http-capture';
import { startS3rver, type RunningS3 } from '../../support/s3rver';
import { parseMime, startSmtp, type RunningSmtp } from '../../support/smtp';
import { busySim, HOUR, MIN, Sim } from './fixture';

/** Delivery end to end against real servers: files on disk, s3rver, smtp-server, a local webhook receiver. */
let s3: RunningS3;
let smtp: RunningSmtp;
let hook: CaptureServer;
let dir: string;
let bucketN = 0;

beforeAll(async () => {
  s3 = await startS3rver(Array.from({ length: 12 }, (_x, i) => `reports-${i}`));
});
afterAll(async () => s3?.stop());
beforeEach(async () => {
  smtp = await startSmtp();
  hook = await startCapture();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deliver-'));
});
afterEach(async () => {
  await smtp.stop();
  await hook.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

class CountingMetrics implements ReportMetrics {
  counts: Record<string, number> = {};
  count(metric: string, channel: string, value = 1) {
    const k = `${metric}:${channel}`;
    this.counts[k] = (this.counts[k] ?? 0) + value;
  }
}

function channels(now: number, extra: Partial<DeliveryOptions> = {}) {
  const file = new FileReportSink(dir);
  const s3sink = new S3ReportSink({ bucket: `reports-${bucketN}`, client: s3.client() });
  const metrics = new CountingMetrics();
  const alerts: string[] = [];
  const opts: DeliveryOptions = {
    now,
    format: 'html',
    archives: [file, s3sink],
    notifiers: [
      new SmtpNotifier({ host: '127.0.0.1', port: smtp.port, from: 'reports@example.com', to: ['oncall@example.com', 'cto@example.com'] }),
      new SlackNotifier({ webhookUrl: `${hook.url}/services/T/B/X` }),
    ],
    ledger: file,
    metrics,
    alerter: { deliveryFailed: async (_m, msg) => void alerts.push(msg) },
    ...extra,
  };
  return { opts, metrics, alerts, file, s3sink };
}

const outcomes = (r: { results: Array<{ channel: string; outcome: string }> }) => Object.fromEntries(r.results.map((x) => [x.channel, x.outcome]));

describe('produceReport + deliverReport', () => {
  beforeEach(() => (bucketN += 1));

  it('delivers to every channel: files, S3, email, Slack; records the summary; counts ReportsProduced', async () => {
    const s = busySim();
    const { opts, metrics, alerts, s3sink } = channels(s.now());
    const { report, delivery } = await produceReport({ ...opts, input: { state: s.state, activity: s.activity } });
    expect(delivery.ok).toBe(true);
    expect(outcomes(delivery)).toEqual({ file: 'delivered', s3: 'delivered', email: 'delivered', slack: 'delivered' });
    const html = fs.readFileSync(path.join(dir, 'orders-db', '2026-03-02.html'), 'utf8');
    expect(html).toContain('Migration status: Orders DB to Cloud SQL');
    expect(await s3sink.get('orders-db/2026-03-02.html')).toBe(html);
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]!.to).toEqual(['oncall@example.com', 'cto@example.com']);
    const text = parseMime(smtp.messages[0]!.raw).parts.find((p) => p.headers['content-type']!.startsWith('text/plain'))!;
    expect(text.body).toContain('Migration status: Orders DB to Cloud SQL');
    expect(JSON.parse(hook.requests[0]!.body).blocks[0].text.text).toContain(`Full report: s3://reports-${bucketN}/orders-db/2026-03-02.html`);
    expect(hook.requests).toHaveLength(1);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'orders-db', 'latest.json'), 'utf8'))).toMatchObject({ reportId: report.reportId, previous: null });
    expect(fs.existsSync(path.join(dir, 'orders-db', '2026-03-02.summary.json'))).toBe(true);
    expect(metrics.counts).toEqual({ 'ReportsProduced:file': 1, 'ReportsProduced:s3': 1, 'ReportsProduced:email': 1, 'ReportsProduced:slack': 1 });
    expect(alerts).toEqual([]);
  });

  it('a retried run the same day writes nothing twice and sends nothing twice', async () => {
    const s = busySim();
    const first = channels(s.now());
    await produceReport({ ...first.opts, input: { state: s.state, activity: s.activity } });
    s.after(20 * MIN);
    const second = channels(s.now());
    const { delivery } = await produceReport({ ...second.opts, input: { state: s.state, activity: s.activity } });
    expect(delivery.ok).toBe(true);
    expect(outcomes(delivery)).toEqual({ file: 'already-delivered', s3: 'already-delivered', email: 'already-delivered', slack: 'already-delivered' });
    expect(smtp.messages).toHaveLength(1);
    expect(hook.requests).toHaveLength(1);
    expect(second.metrics.counts).toEqual({});
  });

  it('two runs at the same moment (a doubled schedule) send the email once and post to Slack once', async () => {
    const s = busySim();
    const a = channels(s.now());
    const b = channels(s.now());
    const [ra, rb] = await Promise.all([
      produceReport({ ...a.opts, input: { state: s.state, activity: s.activity } }),
      produceReport({ ...b.opts, input: { state: s.state, activity: s.activity } }),
    ]);
    expect(smtp.messages).toHaveLength(1);
    expect(hook.requests).toHaveLength(1);
    const emailOutcomes = [outcomes(ra.delivery)['email'], outcomes(rb.delivery)['email']].sort();
    expect(emailOutcomes[0]).toBe('delivered');
    expect(['already-delivered', 'in-flight']).toContain(emailOutcomes[1]);
    expect([outcomes(ra.delivery)['file'], outcomes(rb.delivery)['file']].sort()).toEqual(['already-delivered', 'delivered']);
    expect(ra.delivery.ok && rb.delivery.ok).toBe(true);
  });

  it('a channel that fails does not stop the others; the failure is counted and alerted, and a later run retries only it', async () => {
    const s = busySim();
    hook.respond(500, 'internal_error');
    const first = channels(s.now());
    const r1 = await produceReport({ ...first.opts, input: { state: s.state, activity: s.activity } });
    expect(r1.delivery.ok).toBe(false);
    expect(outcomes(r1.delivery)).toEqual({ file: 'delivered', s3: 'delivered', email: 'delivered', slack: 'failed' });
    expect(r1.delivery.results.find((x) => x.channel === 'slack')!.error).toBe('slack webhook: HTTP 500 internal_error');
    expect(first.metrics.counts['ReportDeliveryFailures:slack']).toBe(1);
    expect(first.alerts).toHaveLength(1);
    expect(first.alerts[0]).toMatch(/^Status report orders-db\/2026-03-02 could not be delivered to slack \(slack webhook: HTTP 500/);
    expect(first.alerts[0]).not.toContain(hook.url);

    hook.respond(200, 'ok');
    s.after(10 * MIN);
    const second = channels(s.now());
    const r2 = await produceReport({ ...second.opts, input: { state: s.state, activity: s.activity } });
    expect(r2.delivery.ok).toBe(true);
    expect(outcomes(r2.delivery)).toEqual({ file: 'already-delivered', s3: 'already-delivered', email: 'already-delivered', slack: 'delivered' });
    expect(smtp.messages).toHaveLength(1);
    expect(hook.requests).toHaveLength(2);
    expect(fs.existsSync(path.join(dir, 'orders-db', '2026-03-02.deliveries', 'slack', 'attempt-2.json'))).toBe(true);
  });

  it('a run that crashed mid-send (claim without result) is taken over after the lease, not before', async () => {
    const s = busySim();
    const { opts, file } = channels(s.now(), { notifiers: [new SlackNotifier({ webhookUrl: `${hook.url}/x` })] });
    await file.put('orders-db/2026-03-02.deliveries/slack/attempt-1.json', JSON.stringify({ at: s.now() - 5 * MIN, runner: 'crashed' }), 'application/json');
    const early = await produceReport({ ...opts, input: { state: s.state, activity: s.activity } });
    expect(outcomes(early.delivery)['slack']).toBe('in-flight');
    expect(hook.requests).toHaveLength(0);
    const later = channels(s.now() + 20 * MIN, { notifiers: [new SlackNotifier({ webhookUrl: `${hook.url}/x` })] });
    const r = await produceReport({ ...later.opts, input: { state: s.state, activity: s.activity } });
    expect(outcomes(r.delivery)['slack']).toBe('delivered');
    expect(hook.requests).toHaveLength(1);
  });

  it('the next day compares itself with the previous report (also when that day is re-run)', async () => {
    const s = new Sim();
    s.op({ action: 'start_phase', phaseId: 'prep' }).after(30 * MIN);
    s.op({ action: 'update_phase', phaseId: 'prep', progress: 50 });
    const d1 = channels(s.now(), { notifiers: [] });
    const r1 = await produceReport({ ...d1.opts, input: { state: s.state, activity: s.activity } });
    s.after(24 * HOUR);
    s.op({ action: 'update_phase', phaseId: 'prep', progress: 100 });
    s.op({ action: 'complete_phase', phaseId: 'prep' });
    const d2 = channels(s.now(), { notifiers: [] });
    const r2 = await produceReport({ ...d2.opts, input: { state: s.state, activity: s.activity } });
    expect(r2.report.summary.change).toMatchObject({ previousReportId: r1.report.reportId, phasesCompleted: ['prep'] });
    // a re-run of day 2 still compares with day 1, not with itself
    expect(await loadPrevious(d2.file, 'orders-db', r2.report.reportId)).toMatchObject({ reportId: r1.report.reportId });
    const md = fs.readFileSync(path.join(dir, 'orders-db', '2026-03-03.html'), 'utf8');
    expect(md).toContain('Since the last report');
  });

  it('when the ledger is unusable, email and Slack still go out and the ledger failure is reported', async () => {
    const s = busySim();
    const broken = new S3ReportSink({ bucket: 'no-such-bucket', client: s3.client() });
    const { opts, alerts } = channels(s.now(), { ledger: broken, archives: [new FileReportSink(dir)] });
    const { delivery } = await produceReport({ ...opts, input: { state: s.state, activity: s.activity } });
    expect(delivery.ok).toBe(false);
    const o = outcomes(delivery);
    expect(o).toMatchObject({ file: 'delivered', email: 'delivered', slack: 'delivered', 'ledger:s3': 'failed' });
    expect(smtp.messages).toHaveLength(1);
    expect(alerts[0]).toContain('ledger:s3');
  });

  it('a corrupt latest.json is reported and the report is still delivered (without a comparison)', async () => {
    const s = busySim();
    const { opts, file } = channels(s.now(), { notifiers: [] });
    await file.replace('orders-db/latest.json', '{oops', 'application/json');
    const { report, delivery } = await produceReport({ ...opts, input: { state: s.state, activity: s.activity } });
    expect(report.summary.change).toBeNull();
    expect(outcomes(delivery)).toMatchObject({ file: 'delivered', s3: 'delivered', 'ledger:file': 'failed' });
    expect(delivery.results.find((x) => x.channel === 'ledger:file')!.error).toMatch(/could not read the previous summary: .*latest\.json is not JSON/);
  });
});
