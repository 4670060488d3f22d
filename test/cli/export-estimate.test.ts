import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { FileStore } from '../../lib/adapters/file/file-store';
import { serveHttp } from '../../lib/adapters/http/server';
import { ALARMS } from '../../lib/core/metrics/spec';
import { Tracker } from '../../lib/core/tracker/service';
import { trackerApi } from '../../lib/core/tracker/api';

const BIN = path.join(__dirname, '../../bin/migration-monitor.js');
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'export-cli-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('migration-monitor export', () => {
  it('prometheus-rules prints a rule file with every spec alarm; --env and --overrides change thresholds', async () => {
    const r = await cli(['export', 'prometheus-rules', '--label', 'team=data']);
    expect(r.code).toBe(0);
    const rules = YAML.parse(r.stdout).groups[0].rules as Array<{ expr: string; labels: Record<string, string> }>;
    expect(ALARMS.every((a) => rules.some((x) => x.labels['alarm_id'] === a.id && x.labels['team'] === 'data'))).toBe(true);
    fs.writeFileSync(path.join(dir, 'o.yaml'), "error-rate-high: { threshold: 33 }\nreport-missing: { enabled: false }\n");
    const o = await cli(['export', 'prometheus-rules', '--env', 'prod', '--overrides', 'o.yaml', '--out', 'out/rules.yml']);
    expect(o.code).toBe(0);
    const file = YAML.parse(fs.readFileSync(path.join(dir, 'out/rules.yml'), 'utf8'));
    const er = file.groups[0].rules.find((x: { labels: Record<string, string> }) => x.labels['alarm_id'] === 'error-rate-high');
    // overrides are in the spec's unit (percent, as CloudWatch); the rule compares the 0-1 ratio
    expect(er.expr).toMatch(/migration_error_ratio\[5m\]\)\) > 0\.33$/);
    // prod evaluates the error rate over 2 periods, both breaching: one more period of `for`.
    expect(er.for).toBe('5m');
    expect(file.groups[0].rules.some((x: { labels: Record<string, string> }) => x.labels['alarm_id'] === 'report-missing')).toBe(false);
  });

  it('grafana-dashboard writes the dashboard JSON', async () => {
    const r = await cli(['export', 'grafana-dashboard', '--title', 'Prod migration', '--uid', 'prod-mig', '--out', 'dash.json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(fs.readFileSync(path.join(dir, 'dash.json'), 'utf8'));
    expect(d).toMatchObject({ title: 'Prod migration', uid: 'prod-mig' });
  });

  it('exits 2 naming the problem', async () => {
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'no-such-alarm: { threshold: 1 }\n');
    expect((await cli(['export', 'prometheus-rules', '--overrides', 'bad.yaml'])).stderr).toMatch(/unknown alarm id in overrides: "no-such-alarm"/);
    fs.writeFileSync(path.join(dir, 'bad2.yaml'), 'phase-failed: { threshold: "high" }\n');
    const b2 = await cli(['export', 'prometheus-rules', '--overrides', 'bad2.yaml']);
    expect(b2.code).toBe(2);
    expect(b2.stderr).toMatch(/phase-failed\.threshold/);
    expect((await cli(['export', 'prometheus-rules', '--env', 'qa'])).stderr).toMatch(/--env must be one of dev, staging, prod/);
    expect((await cli(['export', 'prometheus-rules', '--min-range', '1s'])).code).toBe(2);
  });
});

describe('migration-monitor estimate', () => {
  it('plans bulk copy, catch-up, cutover and total with the buffer', async () => {
    const r = await cli(['estimate', '--events', '5M', '--rate', '10000']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Bulk copy\s+8 min 20 s/);
    expect(r.stdout).toMatch(/Total \(× 1\.5 buffer\)\s+12 min 38 s/);
    const j = JSON.parse((await cli(['estimate', '--events', '1000000', '--rate', '1000', '--write-rate', '100', '--catch-up-rate', '600', '--lag', '0', '--buffer', '1', '--cutover-pause', '2', '--format', 'json'])).stdout);
    expect(j).toMatchObject({ catchUpSeconds: 200, totalSeconds: 1202 });
  });

  it('exits 2 on bad numbers and a catch-up that never finishes', async () => {
    const a = await cli(['estimate', '--events', 'lots', '--rate', '1']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--events must be a number/);
    const b = await cli(['estimate', '--events', '10', '--rate', '10', '--write-rate', '20']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/catch-up never finishes/);
    expect((await cli(['estimate'])).stderr).toMatch(/give --events and --rate/);
  });

  it('--measured uses the copy rate the tracker measured from the logs', async () => {
    const tracker = new Tracker({ store: FileStore.inMemory() });
    await tracker.initialize('m', { plan: [{ id: 'bulk-copy', name: 'Bulk copy', estimatedDuration: 10 }] });
    await tracker.apply('m', { action: 'start_phase', phaseId: 'bulk-copy' });
    await tracker.apply('m', { action: 'update_phase', phaseId: 'bulk-copy', progress: 25, metadata: { eventsCopied: 250, eventsTotal: 1000 } });
    const srv = await serveHttp(trackerApi({ tracker }));
    try {
      const r = await cli(['estimate', '--measured', '--migration', 'm', '--format', 'json'], { MIGRATION_MONITOR_URL: srv.url });
      expect(r.stderr).toBe('');
      const j = JSON.parse(r.stdout);
      expect(j).toMatchObject({ phaseId: 'bulk-copy', eventsCopied: 250, eventsTotal: 1000 });
      expect(j.measuredRatePerSecond).toBeGreaterThan(0);
      expect(j.remaining.bulkCopySeconds).toBeCloseTo(750 / j.measuredRatePerSecond, 0);
    } finally {
      await srv.close();
    }
  });
});
