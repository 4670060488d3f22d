/**
 * The built-in profiles on real tool output, produced here: pg_dump / pg_restore between two real
 * PostgreSQL servers, pgloader (pgsql → pgsql), rsync and rclone between local folders, aws s3 sync into
 * s3rver. Each tool is tracked once through `run` and once through `watch --follow` on its log.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPostgres, type PostgresServer } from '../support/postgres';
import { startS3rver, type RunningS3 } from '../support/s3rver';
import { startTrackerServer, type TrackerServer } from '../support/tracker-server';

const BIN = path.join(__dirname, '../../bin/migration-monitor.js');
let dir: string;
let src: PostgresServer;
let dst: PostgresServer;
let trk: TrackerServer;
let s3: RunningS3;
let fileBytes = 0;

const env = () => ({ ...process.env, MIGRATION_MONITOR_URL: trk.url, MIGRATION_MONITOR_TOKEN: 'tok', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1', RCLONE_CONFIG: '/dev/null' });

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, env: env(), timeout: 120_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Run a tool with its output (stdout and stderr) into a log file, as a script would. */
function toLog(argv: string[], log: string): Promise<number> {
  return new Promise((resolve) => {
    const out = fs.openSync(log, 'a');
    const c = spawn(argv[0]!, argv.slice(1), { cwd: dir, env: env(), stdio: ['ignore', out, out] });
    c.once('close', (code) => {
      fs.closeSync(out);
      resolve(code ?? 1);
    });
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `watch --follow` on a log while `produce` writes it; stops (Ctrl-C) once `done` holds. */
async function watchFollow(migration: string, phase: string, produce: (log: string) => Promise<unknown>, done: () => Promise<boolean>): Promise<string> {
  const log = path.join(dir, `${migration}.log`);
  await produce(log);
  const w = spawn(process.execPath, [BIN, 'watch', '--log', log, '--follow', '--interval', '100', '--phase', phase, '--migration', migration, '--state', `${migration}.state`, '--status', `${migration}.status.json`], { cwd: dir, env: env() });
  let stderr = '';
  w.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const closed = new Promise((r) => w.once('close', r));
  try {
    await until(`watch of ${migration}`, done);
  } finally {
    w.kill('SIGINT');
    await closed;
  }
  return stderr;
}

const phase = async (m: string) => (await trk.tracker.get(m)).phases[0]!;
const progressSeries = async (m: string) =>
  (await trk.tracker.dashboard(m, 500)).recentActivity
    .filter((e: { action: string }) => e.action === 'phase.progress')
    .map((e: { details?: { progress?: number } }) => e.details?.progress ?? 0)
    .reverse();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-tools-'));
  [src, dst, trk, s3] = await Promise.all([startPostgres(), startPostgres(), startTrackerServer('tok'), startS3rver(['bkt'])]);
  await src.sql(`
    create table public.big(id int primary key, v text); insert into big select g, repeat('y', 200) from generate_series(1, 6000) g;
    create table public.mid(id int primary key, v text); insert into mid select g, repeat('z', 50) from generate_series(1, 800) g;
    create table public.small(id int, v text); insert into small select g, 'x' from generate_series(1, 10) g;`);
  fs.mkdirSync(path.join(dir, 'files/sub'), { recursive: true });
  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(dir, `files/f${i}.bin`), Buffer.alloc(150_000 + i * 1000, i));
  fs.writeFileSync(path.join(dir, 'files/sub/a.txt'), 'hello\n');
  fileBytes = 4 * 150_000 + 6000 + 6;
}, 120_000);
afterAll(async () => {
  await Promise.all([src?.stop(), dst?.stop(), trk?.stop(), s3?.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('pg_dump and pg_restore', () => {
  it('run: dump and restore tracked table by table, weighted by the source catalog, completed by the exit code', async () => {
    const d = await cli(['run', '--migration', 'pg', '--phase', 'dump', '--source-url', src.url(), '--', 'pg_dump', '--verbose', '-Fc', '-f', 'db.dump', src.url()]);
    expect(d.code).toBe(0);
    expect(d.stderr).toMatch(/pg_dump profile/);
    expect(d.stderr).toMatch(/weighting 3 tables/);
    expect(await phase('pg')).toMatchObject({ status: 'completed', progress: 100 });
    const dump = await progressSeries('pg');
    // "big" is done when "mid" starts: most of the weight, not a third of it
    expect(dump.some((p: number) => p > 60 && p < 100)).toBe(true);
    expect([...dump].sort((a, b) => a - b)).toEqual(dump);

    const target = await dst.createDatabase('restored');
    const r = await cli(['run', '--migration', 'pgr', '--phase', 'restore', '--source-url', src.url(), '--', 'pg_restore', '--verbose', '-d', target, 'db.dump']);
    expect(r.code).toBe(0);
    expect(await phase('pgr')).toMatchObject({ status: 'completed', progress: 100 });
    const restore = await progressSeries('pgr');
    expect([...restore].sort((a, b) => a - b)).toEqual(restore);
    expect(restore.filter((p: number) => p > 0 && p < 100).length).toBeGreaterThan(0);
    expect(restore).not.toContain(100);

    // restoring into a database that already has the schema fails: the phase fails with the tool's error
    const again = await cli(['run', '--migration', 'pgr2', '--phase', 'restore', '--', 'pg_restore', '--verbose', '-d', target, 'db.dump']);
    expect(again.code).toBe(1);
    const failed = await phase('pgr2');
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/pg_restore exited with code 1: .*already exists/);
    // ... and a later success is an explicit retry
    const fresh = await dst.createDatabase('restored2');
    expect((await cli(['run', '--migration', 'pgr2', '--phase', 'restore', '--', 'pg_restore', '--verbose', '-d', fresh, 'db.dump'])).code).toBe(0);
    expect(await phase('pgr2')).toMatchObject({ status: 'completed', attempts: 2 });
  });

  it('watch --follow: a pg_restore log is detected and moves the phase table by table (it prints no final line)', async () => {
    const target = await dst.createDatabase('watched');
    await watchFollow(
      'pgw',
      'restore',
      (log) => toLog(['pg_restore', '--verbose', '-d', target, 'db.dump'], log),
      async () => (await phase('pgw')).progress > 0,
    );
    const p = await phase('pgw');
    expect(p.status).toBe('in_progress');
    expect(p.progress).toBeGreaterThan(0);
    expect(p.progress).toBeLessThan(100);
  });
});

describe('pgloader', () => {
  it('run and watch --follow: per-table progress, the summary adds rows and bytes, run completes from the exit code', async () => {
    const t1 = await dst.createDatabase('loaded');
    const r = await cli(['run', '--migration', 'pgl', '--phase', 'load', '--', 'pgloader', '--verbose', src.url(), t1]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/pgloader profile/);
    const s = await trk.tracker.get('pgl');
    expect(s.phases[0]).toMatchObject({ status: 'completed', progress: 100 });
    expect(s.metrics.successfulOperations).toBe(6810);
    expect(s.metrics.totalDataMigrated).toBeGreaterThan(1_000_000);

    const t2 = await dst.createDatabase('loaded2');
    await watchFollow('pglw', 'load', (log) => toLog(['pgloader', src.url(), t2], log), async () => (await phase('pglw')).status === 'completed');
    expect((await trk.tracker.get('pglw')).metrics.successfulOperations).toBe(6810);
  });
});

describe('rsync, rclone and aws s3', () => {
  it('rsync --info=progress2: bytes exact through run; -v closes the phase under watch --follow', async () => {
    const r = await cli(['run', '--migration', 'rs', '--phase', 'copy', '--', 'rsync', '-a', '--info=progress2', 'files/', 'out-rsync/']);
    expect(r.code).toBe(0);
    const s = await trk.tracker.get('rs');
    expect(s.phases[0]).toMatchObject({ status: 'completed', progress: 100 });
    expect(s.metrics.totalDataMigrated).toBe(fileBytes);
    await watchFollow('rsw', 'copy', (log) => toLog(['rsync', '-av', '--info=progress2', 'files/', 'out-rsync2/'], log), async () => (await phase('rsw')).status === 'completed');
    expect((await trk.tracker.get('rsw')).metrics.totalDataMigrated).toBe(fileBytes);
  });

  it('rclone: --use-json-log bytes exact through run; text --stats through watch --follow', async () => {
    const r = await cli(['run', '--migration', 'rc', '--phase', 'copy', '--', 'rclone', 'copy', '--stats', '100ms', '--use-json-log', '-v', 'files', 'out-rclone']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/rclone profile/);
    const s = await trk.tracker.get('rc');
    expect(s.phases[0]).toMatchObject({ status: 'completed', progress: 100 });
    expect(s.metrics.totalDataMigrated).toBe(fileBytes);
    await watchFollow('rcw', 'copy', (log) => toLog(['rclone', 'copy', '--stats', '100ms', '-v', 'files', 'out-rclone2'], log), async () => (await phase('rcw')).progress === 100);
    const w = await trk.tracker.get('rcw');
    expect(Math.abs(w.metrics.totalDataMigrated - fileBytes) / fileBytes).toBeLessThan(0.01);
  });

  it('aws s3 sync into s3rver: progress and bytes through run, the profile detected from the output under watch --follow', async () => {
    const aws = ['aws', '--endpoint-url', s3.endpoint, 's3', 'sync', 'files', 's3://bkt/run'];
    const r = await cli(['run', '--migration', 's3', '--phase', 'upload', '--', ...aws]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/aws-s3 profile/);
    const s = await trk.tracker.get('s3');
    expect(s.phases[0]).toMatchObject({ status: 'completed', progress: 100 });
    // the CLI prints sizes rounded to 0.1 MiB
    expect(Math.abs(s.metrics.totalDataMigrated - fileBytes) / fileBytes).toBeLessThan(0.1);
    const watched = await watchFollow('s3w', 'upload', (log) => toLog(['aws', '--endpoint-url', s3.endpoint, 's3', 'sync', 'files', 's3://bkt/watch'], log), async () => (await phase('s3w')).progress > 90);
    expect(watched).toMatch(/aws-s3 profile/);
    // a failing upload ends the phase failed under run, with the tool's error
    const bad = await cli(['run', '--migration', 's3bad', '--phase', 'upload', '--', 'aws', '--endpoint-url', s3.endpoint, 's3', 'cp', 'files/f0.bin', 's3://nobucket/x']);
    expect(bad.code).toBe(1);
    expect((await phase('s3bad')).error).toMatch(/NoSuchBucket/);
  });
});
