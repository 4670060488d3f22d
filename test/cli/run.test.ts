/**
 * `migration-monitor run -- <tool>` end to end: the real CLI (child process) against the real tracker API on
 * a free port, over a file store that survives a tracker restart on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../lib/adapters/http/server';
import { trackerApi } from '../../lib/core/tracker/api';
import { Tracker } from '../../lib/core/tracker/service';
import { freePort } from '../support/ports';
import { until } from '../support/until';

const BIN = path.join(__dirname, '../../bin/migration-monitor.js');

/** The tracker API on a fixed port over a file store: stop() and start() again keep its state. */
class RestartableTracker {
  store!: FileStore;
  tracker!: Tracker;
  private server: RunningServer | undefined;
  constructor(
    readonly dir: string,
    readonly port: number,
  ) {}
  get url() {
    return `http://127.0.0.1:${this.port}`;
  }
  async start() {
    this.store = await FileStore.open(this.dir);
    this.tracker = new Tracker({ store: this.store });
    this.server = await serveHttp(trackerApi({ tracker: this.tracker, token: 'tok' }), { port: this.port });
  }
  async stop() {
    await this.server?.close();
    await this.store.close();
    this.server = undefined;
  }
  running() {
    return this.server !== undefined;
  }
}

let dir: string;
let trk: RestartableTracker;

interface Proc {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  stderr: () => string;
}

function runCli(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, MIGRATION_MONITOR_URL: trk.url, MIGRATION_MONITOR_TOKEN: 'tok', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done, stderr: () => stderr };
}


/** A shell script standing in for a tool: rsync --info=progress2 lines, with a pause on a file. */
function script(name: string, body: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return f;
}

const progress = (bytes: number, pct: number) => `printf '%s\\r' '${String(bytes).padStart(15)} ${String(pct).padStart(3)}%   10.00MB/s    0:00:01 (xfr#1, to-chk=1/2)'`;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-cli-'));
  trk = new RestartableTracker(path.join(dir, 'store'), await freePort());
  await trk.start();
});
afterEach(async () => {
  if (trk.running()) await trk.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('migration-monitor run', () => {
  it('starts the phase, follows the tool, keeps progress monotonic and below 100 % until the exit code completes it, with the bytes the tool moved', async () => {
    const tool = script('copy.sh', [progress(1000, 10), 'sleep 0.3', progress(5000, 50), 'sleep 0.3', progress(4000, 40), 'sleep 0.3', progress(10000, 100), 'echo'].join('\n'));
    const seen: number[] = [];
    const p = runCli(['run', '--migration', 'm1', '--phase', 'copy', '--profile', 'rsync', '--', tool]);
    const poll = setInterval(() => {
      void trk.tracker
        .get('m1')
        .then((s) => seen.push(s.phases[0]!.progress))
        .catch(() => undefined);
    }, 50);
    const r = await p.done;
    clearInterval(poll);
    expect(r.stderr).toMatch(/rsync profile/);
    expect(r.code).toBe(0);
    const s = await trk.tracker.get('m1');
    expect(s.phases[0]!.status).toBe('completed');
    expect(s.phases[0]!.progress).toBe(100);
    expect(s.metrics.totalDataMigrated).toBe(10000);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
    // 100 % only once the tool succeeded: the progress line that said 100 % was held at 99.9
    const entries = (await trk.store.readActivity('m1')).map((e) => e.message);
    expect(entries.some((m) => /at 99\.9%/.test(m))).toBe(true);
    expect(entries.filter((m) => /at 100%/.test(m))).toEqual([]);
  });

  it("fails the phase with the tool's last error lines and exits with its code; a later success shows as an explicit retry", async () => {
    const bad = script('bad.sh', 'echo "restoring..."; echo "pg_restore: error: could not execute query: ERROR:  relation \\"big\\" already exists" >&2; exit 3');
    const r1 = await runCli(['run', '--migration', 'm2', '--phase', 'restore', '--', bad]).done;
    expect(r1.code).toBe(3);
    let s = await trk.tracker.get('m2');
    expect(s.phases[0]!.status).toBe('failed');
    expect(s.phases[0]!.error).toMatch(/exited with code 3: pg_restore: error: could not execute query: ERROR: {2}relation "big" already exists/);
    expect(s.alerts.some((a) => a.severity === 'critical' && /already exists/.test(a.message))).toBe(true);
    const good = script('good.sh', 'echo done');
    const r2 = await runCli(['run', '--migration', 'm2', '--phase', 'restore', '--', good]).done;
    expect(r2.code).toBe(0);
    s = await trk.tracker.get('m2');
    expect(s.phases[0]!.status).toBe('completed');
    expect(s.phases[0]!.attempts).toBe(2);
    expect((await trk.store.readActivity('m2')).map((e) => e.message)).toContainEqual(expect.stringMatching(/started \(attempt 2\): an explicit retry after it failed: .*exited with code 3/));
  });

  it('keeps the tool running while the tracker is down, buffers, and replays exactly once when it is back', async () => {
    const go = path.join(dir, 'go');
    const ended = path.join(dir, 'ended');
    const tool = script(
      'slow.sh',
      [progress(2000, 20), `while [ ! -f ${go} ]; do sleep 0.05; done`, progress(6000, 60), progress(9000, 90), progress(10000, 100), `touch ${ended}`].join('\n'),
    );
    const p = runCli(['run', '--migration', 'm3', '--phase', 'copy', '--profile', 'rsync', '--flush-timeout', '120', '--', tool]);
    await until('first progress', async () => (await trk.tracker.get('m3')).phases[0]!.progress >= 20);
    await trk.stop();
    fs.writeFileSync(go, '');
    // the tool finishes while the tracker is down: nothing held it up
    await until('the tool to end', async () => fs.existsSync(ended));
    await until('the wrapper to notice', async () => /tracker not reachable, buffering/.test(p.stderr()));
    expect(p.child.exitCode).toBeNull();
    await trk.start();
    const r = await p.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/tracker reachable again/);
    const s = await trk.tracker.get('m3');
    expect(s.phases[0]!.status).toBe('completed');
    expect(s.metrics.totalDataMigrated).toBe(10000);
  });

  it('forwards Ctrl-C to the tool: the tool stops, the phase fails naming the signal, the wrapper exits 130', async () => {
    const marker = path.join(dir, 'tool-got-int');
    const tool = script('long.sh', `trap 'touch ${marker}; exit 130' INT\necho started\nwhile :; do sleep 0.05; done`);
    const p = runCli(['run', '--migration', 'm4', '--phase', 'copy', '--', tool]);
    await until('the phase to start', async () => (await trk.tracker.get('m4')).phases[0]!.status === 'in_progress');
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(fs.existsSync(marker)).toBe(true);
    expect(r.code).toBe(130);
    const s = await trk.tracker.get('m4');
    expect(s.phases[0]!.status).toBe('failed');
    expect(s.phases[0]!.error).toMatch(/exited with code 130/);
  });

  it('forwards SIGTERM; a tool killed by it exits the wrapper with 143', async () => {
    const p = runCli(['run', '--migration', 'm5', '--phase', 'copy', '--', 'sleep', '30']);
    await until('the phase to start', async () => (await trk.tracker.get('m5')).phases[0]!.status === 'in_progress');
    p.child.kill('SIGTERM');
    const r = await p.done;
    expect(r.code).toBe(143);
    expect((await trk.tracker.get('m5')).phases[0]!.error).toMatch(/sleep was killed by SIGTERM/);
  });

  it('renews the staleness promise while the tool lives, with one heartbeat entry per minute in the activity log', async () => {
    const p = runCli(['run', '--migration', 'm6', '--phase', 'copy', '--heartbeat', '0.2', '--expect-update', '60', '--', 'sleep', '2']);
    await until('the phase to start', async () => (await trk.tracker.get('m6')).phases[0]!.status === 'in_progress');
    const first = (await trk.tracker.get('m6')).phases[0]!.nextUpdateDueAt!;
    expect((await p.done).code).toBe(0);
    const s = await trk.tracker.get('m6');
    expect(s.phases[0]!.updatedAt!).toBeGreaterThan(first - 60_000 + 500);
    const beats = (await trk.store.readActivity('m6')).filter((e) => e.action === 'phase.progress');
    expect(beats.length).toBe(1);
  });

  it('--explain names the rule each line matched and what it did; a bad --profile names the nearest one', async () => {
    const tool = script('t.sh', [progress(500, 50), 'echo', 'echo unrelated'].join('\n'));
    const r = await runCli(['run', '--migration', 'm7', '--phase', 'copy', '--profile', 'rsync', '--explain', '--', tool]).done;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/explain: ".*500 +50%.*" -> \[rsync progress\] metrics \+totalDataMigrated 500; progress copy 50% \(rsync progress\)/);
    expect(r.stderr).toMatch(/explain: "unrelated" -> \(ignored\)/);
    const bad = await runCli(['run', '--phase', 'x', '--profile', 'pg_restor', '--', 'true']).done;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--profile pg_restor: no such profile; did you mean "pg_restore"\?/);
  });
});
