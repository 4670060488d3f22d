import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { remoteTrackerSink } from '../../../lib/adapters/http/tracker-sink';
import { FileStore } from '../../../lib/adapters/file/file-store';
import { serveHttp } from '../../../lib/adapters/http/server';
import { LogTailer, watchLogs } from '../../../lib/adapters/file/log-tailer';
import { ManualClock } from '../../../lib/core/clock';
import { LogAnalyzer, trackerSink, type TrackerSink } from '../../../lib/core/logwatch';
import { Tracker } from '../../../lib/core/tracker/service';
import { trackerApi } from '../../../lib/core/tracker/api';
import { fixture, readLines, summary } from '../../core/logwatch/helpers';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'watch-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const PLAIN_EXPECTED = (run: string) => ({
  phases: [
    { id: 'bulk-copy', status: 'completed', progress: 100, runId: run, attempts: 1 },
    { id: 'dual-write', status: 'completed', progress: 100, runId: run, attempts: 1 },
    { id: 'cutover', status: 'completed', progress: 100, runId: run, attempts: 1 },
  ],
  alerts: [expect.stringMatching(/^error:-:Validation failed: consistency/)],
  failedOperations: 2,
  validation: { verdict: 'fail', checks: ['consistency/checksum'] },
});

async function once(logFile: string, sink: TrackerSink, clock: ManualClock, extra: { statusFile?: string } = {}) {
  const tailer = await LogTailer.open({ paths: [logFile], stateFile: path.join(dir, 'watch-state.json') });
  const analyzer = new LogAnalyzer({ sink, clock });
  return { analyzer, result: await watchLogs({ tailer, analyzer, sink, ...extra }) };
}

describe('watch: files → analyzer → tracker', () => {
  it('replays a log written across a rename rotation and a copytruncate to exactly the expected state', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10));
    const tracker = new Tracker({ store: FileStore.inMemory(), clock });
    const sink = trackerSink(tracker);
    const lines = readLines(fixture('plain.log'));
    const log = path.join(dir, 'migration.log');
    const statusFile = path.join(dir, 'migration_status.json');

    fs.writeFileSync(log, lines.slice(0, 3).join('\n') + '\n');
    await once(log, sink, clock, { statusFile });
    // logrotate (rename + create): two more lines land in the old file before the rename.
    fs.appendFileSync(log, lines.slice(3, 5).join('\n') + '\n');
    fs.renameSync(log, `${log}.1`);
    fs.writeFileSync(log, lines.slice(5, 7).join('\n') + '\n');
    await once(log, sink, clock, { statusFile });
    // copytruncate: the watcher had read everything; the file is emptied and written again.
    fs.copyFileSync(log, `${log}.2`);
    fs.truncateSync(log, 0);
    fs.writeFileSync(log, lines.slice(7).join('\n') + '\n');
    const { result } = await once(log, sink, clock, { statusFile });

    expect(await summary(tracker, 'mig-1')).toEqual(PLAIN_EXPECTED(log));
    expect(result.lines).toBe(3);

    // A restart with nothing new changes nothing: no line is read twice.
    const activityBefore = (await tracker.store.readActivity('mig-1')).length;
    const again = await once(log, sink, clock, { statusFile });
    expect(again.result.lines).toBe(0);
    expect((await tracker.store.readActivity('mig-1')).length).toBe(activityBefore);

    const status = JSON.parse(fs.readFileSync(statusFile, 'utf8'));
    expect(status.files).toEqual([{ path: log, offset: fs.statSync(log).size, inode: fs.statSync(log).ino }]);
    expect(typeof status.generatedAt).toBe('string');
  });

  it('writes migration_status.json with the migration state, counters, conflicts and malformed lines', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10));
    const tracker = new Tracker({ store: FileStore.inMemory(), clock });
    const log = path.join(dir, 'app.log');
    fs.writeFileSync(
      log,
      ['Migration started migration_id=m run_id=a', '{"broken": ', 'Bulk copy progress migration_id=m run_id=a progress=40', 'Migration started migration_id=m run_id=b'].join('\n') + '\n',
    );
    const statusFile = path.join(dir, 'out', 'migration_status.json');
    await once(log, trackerSink(tracker), clock, { statusFile });
    const status = JSON.parse(fs.readFileSync(statusFile, 'utf8'));
    expect(status.stats).toMatchObject({ lines: 4, malformed: 1, matched: 3, conflicts: 1 });
    expect(status.migrations.m).toMatchObject({ status: 'in_progress', currentPhases: ['bulk-copy'], phases: [{ id: 'bulk-copy', status: 'in_progress', progress: 40 }, { id: 'dual-write' }, { id: 'cutover' }] });
    expect(status.conflicts).toEqual([expect.objectContaining({ kind: 'concurrent_runs', runId: 'b', otherRunId: 'a' })]);
    expect(status.recentMalformed).toEqual([expect.objectContaining({ excerpt: '{"broken": ', reason: expect.stringMatching(/invalid JSON/) })]);
  });

  it('works the same against the tracker HTTP API (remote sink), with a bearer token', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10));
    const tracker = new Tracker({ store: FileStore.inMemory(), clock });
    const server = await serveHttp(trackerApi({ tracker, token: 's3cret' }));
    try {
      const log = path.join(dir, 'plain.log');
      fs.copyFileSync(fixture('plain.log'), log);
      await once(log, remoteTrackerSink({ url: server.url, token: 's3cret' }), clock);
      expect(await summary(tracker, 'mig-1')).toEqual(PLAIN_EXPECTED(log));
      // recorded under the authenticated caller (the single --token is "token"); the watcher's name is "on behalf of"
      const actors = new Set((await tracker.store.readActivity('mig-1')).map((a) => `${a.actor}/${a.onBehalfOf ?? ''}`));
      expect([...actors]).toEqual(['token/log-watcher']);
    } finally {
      await server.close();
    }
  });

  it('keeps the line when the tracker is unreachable (one-shot fails, nothing skipped), then delivers it', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10));
    const tracker = new Tracker({ store: FileStore.inMemory(), clock });
    const log = path.join(dir, 'app.log');
    fs.writeFileSync(log, 'Migration started migration_id=m\n');
    const statusFile = path.join(dir, 'migration_status.json');
    const down = remoteTrackerSink({ url: 'http://127.0.0.1:9', retries: 0, timeoutMs: 2000 });
    await expect(once(log, down, clock, { statusFile })).rejects.toThrow(/cannot reach the tracker API/);
    expect(JSON.parse(fs.readFileSync(statusFile, 'utf8')).trackerError).toMatch(/cannot reach/);
    const server = await serveHttp(trackerApi({ tracker }));
    try {
      const { result } = await once(log, remoteTrackerSink({ url: server.url }), clock);
      expect(result.lines).toBe(1);
      expect((await tracker.get('m')).phases[0]!.status).toBe('in_progress');
    } finally {
      await server.close();
    }
  });

  it('follow mode picks up appended lines until stopped', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10));
    const tracker = new Tracker({ store: FileStore.inMemory(), clock });
    const sink = trackerSink(tracker);
    const log = path.join(dir, 'app.log');
    fs.writeFileSync(log, 'Migration started migration_id=m\n');
    const tailer = await LogTailer.open({ paths: [log] });
    const analyzer = new LogAnalyzer({ sink, clock });
    const stop = new AbortController();
    const running = watchLogs({ tailer, analyzer, sink, follow: true, intervalMs: 20, signal: stop.signal });
    const until = async (cond: () => Promise<boolean>) => {
      for (let i = 0; i < 500 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 10));
    };
    await until(async () => (await tracker.exists('m')) && (await tracker.get('m')).phases[0]!.status === 'in_progress');
    fs.appendFileSync(log, 'Bulk copy complete migration_id=m\n');
    await until(async () => (await tracker.get('m')).phases[1]!.status === 'in_progress');
    stop.abort();
    const r = await running;
    expect(r.lines).toBe(2);
    expect((await tracker.get('m')).phases.map((p) => p.status)).toEqual(['completed', 'in_progress', 'pending']);
  });
});
