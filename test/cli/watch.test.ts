import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../lib/adapters/http/server';
import { Tracker } from '../../lib/core/tracker/service';
import { trackerApi } from '../../lib/core/tracker/api';

const BIN = path.join(__dirname, '../../bin/migration-monitor.js');
const FIXTURES = path.join(__dirname, '../core/logwatch/fixtures');
let dir: string;
let srv: RunningServer;
let tracker: Tracker;

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, MIGRATION_MONITOR_URL: srv.url, MIGRATION_MONITOR_TOKEN: 'tok', ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'watch-cli-'));
  tracker = new Tracker({ store: FileStore.inMemory() });
  srv = await serveHttp(trackerApi({ tracker, token: 'tok' }));
});
afterEach(async () => {
  await srv.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('migration-monitor watch', () => {
  it('reads a JSON log into the tracker API, writes migration_status.json, and a second run reads nothing again', async () => {
    const log = path.join(dir, 'migration.log');
    fs.copyFileSync(path.join(FIXTURES, 'json.log'), log);
    const r = await cli(['watch', '--log', log]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/read 12 lines: 8 matched, 2 ignored, 2 malformed, \d+ updates applied, 0 refused, 0 conflicts/);
    const s = await tracker.get('mig-2');
    expect(s.phases.map((p) => p.status)).toEqual(['completed', 'completed', 'failed']);
    const status = JSON.parse(fs.readFileSync(path.join(dir, 'migration_status.json'), 'utf8'));
    expect(status.migrations['mig-2'].status).toBe('failed');
    expect(fs.existsSync(path.join(dir, '.data/log-watch/state.json'))).toBe(true);
    const again = await cli(['watch', '--log', log]);
    expect(again.stdout).toMatch(/^read 0 lines/);
  });

  it('applies updates in-process to an embedded store with --data-dir, using a custom config', async () => {
    const log = path.join(dir, 'app.log');
    fs.writeFileSync(log, 'deploy step=infra state=done\nMigration started migration_id=other\n');
    fs.writeFileSync(
      path.join(dir, 'watch.yaml'),
      [
        'defaultMigrationId: prod',
        'useDefaultPatterns: false',
        'plan:',
        '  - { id: infra, name: Infrastructure, estimatedDuration: 10 }',
        'patterns:',
        '  - name: infra done',
        '    fields: { step: infra, state: done }',
        '    actions: [{ do: complete_phase, phase: infra }]',
      ].join('\n'),
    );
    const r = await cli(['watch', '--log', log, '--config', 'watch.yaml', '--data-dir', 'store', '--status', 'out/status.json']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/read 2 lines: 1 matched, 1 ignored/);
    const store = await FileStore.open(path.join(dir, 'store'));
    try {
      const t = new Tracker({ store });
      expect((await t.get('prod')).phases[0]!.status).toBe('completed');
      expect(await t.exists('other')).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('one-shot: exits 2 naming a --log file that does not exist (there is nothing to wait for without --follow)', async () => {
    const r = await cli(['watch', '--log', 'missing.log']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--log missing\.log: no such file/);
    expect(await tracker.list()).toEqual([]);
  });

  it('exits 2 naming the problem in a bad config, 1 when the tracker cannot be reached', async () => {
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'patterns:\n  - name: x\n    regex: "(["\n    actions: [{ do: start_phase }]\n');
    const bad = await cli(['watch', '--log', 'x.log', '--config', 'bad.yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--config bad\.yaml: invalid log-watch config: patterns\[0\]\.regex: is not a valid regular expression/);
    const missing = await cli(['watch']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--log/);
    fs.writeFileSync(path.join(dir, 'a.log'), 'Migration started\n');
    const down = await cli(['watch', '--log', 'a.log'], { MIGRATION_MONITOR_URL: 'http://127.0.0.1:9' });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the tracker API/);
  });

  it('--follow --phase started before the tool writes its log: the profile is picked from the first lines once they come', async () => {
    const log = path.join(dir, 'upload.log');
    const child = spawn(process.execPath, [BIN, 'watch', '--log', log, '--follow', '--interval', '50', '--phase', 'upload', '--migration', 's3f'], {
      cwd: dir,
      env: { ...process.env, MIGRATION_MONITOR_URL: srv.url, MIGRATION_MONITOR_TOKEN: 'tok' },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const until = async (what: string, cond: () => Promise<boolean> | boolean) => {
      for (let i = 0; i < 600; i++) {
        if (await cond()) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${what} did not happen:\n${stderr}\n${JSON.stringify((await tracker.exists('s3f')) && (await tracker.get('s3f')).phases)}`);
    };
    await until('watch waiting for the log', () => /waiting for/.test(stderr));
    // what `aws s3 sync` prints when its output is a file: \r-redrawn progress, then one line per object
    fs.writeFileSync(log, 'Completed 1.0 MiB/4.0 MiB (2.0 MiB/s) with 3 file(s) remaining\rCompleted 2.0 MiB/4.0 MiB (2.0 MiB/s) with 2 file(s) remaining\rupload: files/f0.bin to s3://bkt/f0.bin\n');
    await until('progress from the aws-s3 profile', async () => (await tracker.exists('s3f')) && (await tracker.get('s3f')).phases[0]!.progress === 50);
    expect(stderr).toMatch(/reading the lines with the aws-s3 profile/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('--follow keeps reading appended lines and stops cleanly on SIGTERM, keeping its offsets', async () => {
    const log = path.join(dir, 'app.log');
    fs.writeFileSync(log, 'Migration started migration_id=f\n');
    const child = spawn(process.execPath, [BIN, 'watch', '--log', log, '--follow', '--interval', '50', '--metrics-port', '0'], {
      cwd: dir,
      env: { ...process.env, MIGRATION_MONITOR_URL: srv.url, MIGRATION_MONITOR_TOKEN: 'tok' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const until = async (cond: () => Promise<boolean>) => {
      for (let i = 0; i < 600 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 50));
    };
    await until(async () => (await tracker.exists('f')) && (await tracker.get('f')).phases[0]!.status === 'in_progress');
    fs.appendFileSync(log, 'Bulk copy complete migration_id=f tenant_id=t events_count=1200\n');
    await until(async () => (await tracker.get('f')).phases[1]!.status === 'in_progress');
    // --metrics-port: what the logs showed, for Prometheus.
    const metricsUrl = /Prometheus metrics on (\S+)/.exec(stderr)?.[1];
    expect(metricsUrl).toBeDefined();
    expect(await (await fetch(metricsUrl!)).text()).toMatch(/^migration_events_copied_total\{migration_id="f",tenant_id="t"\} 1200$/m);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/read 2 lines/);
    const state = JSON.parse(fs.readFileSync(path.join(dir, '.data/log-watch/state.json'), 'utf8'));
    expect(Object.values(state.files as Record<string, { offset: number }>)[0]!.offset).toBe(fs.statSync(log).size);
  });
});
