import { execFile } from 'node:child_process';
import path from 'node:path';
import { FileStore } from '../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../lib/adapters/http/server';
import { Tracker } from '../../lib/core/tracker/service';
import { trackerApi } from '../../lib/core/tracker/api';

const BIN = path.join(__dirname, '../../bin/migration-monitor.js');
let srv: RunningServer;
let tracker: Tracker;

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, MIGRATION_MONITOR_URL: srv.url, MIGRATION_MONITOR_TOKEN: 'tok', ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as NodeJS.ErrnoException & { code?: number }).code as unknown as number) ?? 1 : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  tracker = new Tracker({ store: FileStore.inMemory() });
  await tracker.initialize('default', {});
  srv = await serveHttp(trackerApi({ tracker, token: 'tok' }));
});
afterAll(() => srv.close());

describe('migration-monitor CLI against a real tracker API', () => {
  it('reports phases, sub-tasks, alerts and metrics the way a shell script would', async () => {
    expect((await cli(['phase', 'start', 'initialization', '--next-update', '120', '--actor', 'deploy.sh'])).code).toBe(0);
    expect((await cli(['subtask', 'start', 'initialization', 'preflight'])).code).toBe(0);
    const p = await cli(['subtask', 'progress', 'initialization', 'preflight', '50']);
    expect(p.stdout).toMatch(/initialization: in_progress 25%/);
    expect((await cli(['alert', 'warning', 'replica lag 30s', '--phase', 'initialization'])).code).toBe(0);
    expect((await cli(['metrics', '--add-ok', '90', '--add-failed', '10', '--speed', '2048'])).code).toBe(0);
    const s = await tracker.get('default');
    expect(s.phases[0]!.progress).toBe(25);
    expect(s.alerts[0]).toMatchObject({ severity: 'warning', message: 'replica lag 30s', phaseId: 'initialization' });
    expect(s.metrics).toMatchObject({ successfulOperations: 90, failedOperations: 10, errorRate: 10, migrationSpeed: 2048 });
    const acts = await tracker.store.readActivity('default');
    // --actor is what the script says it is; the author is the token it authenticated with
    expect(acts.find((a) => a.action === 'phase.start')).toMatchObject({ actor: 'token', onBehalfOf: 'deploy.sh' });
  });

  it('exits 1 with the tracker\'s reason when an operation is refused, 2 on bad arguments', async () => {
    const blocked = await cli(['phase', 'start', 'database']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/HTTP 409.*waiting for "infrastructure"/);
    const bad = await cli(['phase', 'progress', 'initialization', '150']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/between 0 and 100/);
    const noToken = await cli(['status'], { MIGRATION_MONITOR_TOKEN: '' });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/401|Authorization/);
  });

  it('prints status as table, json, yaml and markdown', async () => {
    const t = await cli(['status']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/Initialization\s+in_progress/);
    const j = JSON.parse((await cli(['status', '--format', 'json'])).stdout);
    expect(j.phases).toHaveLength(7);
    expect((await cli(['status', '--format', 'yaml'])).stdout).toMatch(/^migrationId: default$/m);
    expect((await cli(['status', '--format', 'markdown'])).stdout).toMatch(/^\| Initialization \| in_progress \| 25% \|/m);
    const wrong = await cli(['status', '--format', 'xml']);
    expect(wrong.code).toBe(2);
  });

  it('monitor --count N exits 1 when the tracker cannot be reached', async () => {
    const m = await cli(['monitor', '--interval', '0.1', '--count', '2'], { MIGRATION_MONITOR_URL: 'http://127.0.0.1:9' });
    expect(m.code).toBe(1);
    expect(m.stdout + m.stderr).toMatch(/cannot read status/);
  });

  it('monitor redraws a bounded number of times', async () => {
    const m = await cli(['monitor', '--interval', '0.2', '--count', '2']);
    expect(m.code).toBe(0);
    expect(m.stdout.match(/Initialization/g)).toHaveLength(2);
  });

  it('pauses and resumes, and a paused migration refuses phase starts', async () => {
    expect((await cli(['pause', '--reason', 'change freeze'])).code).toBe(0);
    const r = await cli(['phase', 'start', 'infrastructure']);
    expect(r.stderr).toMatch(/paused/);
    expect((await cli(['resume'])).code).toBe(0);
    expect((await tracker.get('default')).controlEvents.map((e) => e.type)).toEqual(['pause', 'resume']);
  });
});
