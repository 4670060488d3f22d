import fs from 'node:fs';
import { detectProfile, LogAnalyzer, parseLogWatchConfig, parseSize, profileForCommand, PROFILE_NAMES, trackerSink, type ExplainEntry } from '../../../lib/core/logwatch';
import { FileStore } from '../../../lib/adapters/file/file-store';
import { Tracker } from '../../../lib/core/tracker/service';
import { feed, fixture, readLines } from './helpers';

function setupProfile(profile: string, phase = 'load', extra: { explain?: (e: ExplainEntry) => void } = {}) {
  const tracker = new Tracker({ store: FileStore.inMemory() });
  const config = parseLogWatchConfig({ profile, phase, defaultMigrationId: 'm', plan: [{ id: phase, name: phase, estimatedDuration: 10 }] });
  return { tracker, analyzer: new LogAnalyzer({ sink: trackerSink(tracker), config, ...extra }) };
}

describe('built-in profiles', () => {
  it('are detected from the first lines of each tool and from the command', () => {
    expect(detectProfile(['pg_dump: last built-in OID is 16383'])).toBe('pg_dump');
    expect(detectProfile(['pg_restore: connecting to database for restore'])).toBe('pg_restore');
    expect(detectProfile(['2026-12-02T05:38:34.040000Z LOG pgloader version "3.6.7~devel"'])).toBe('pgloader');
    expect(detectProfile(['', '         32,768   2%    0.00kB/s    0:00:00  '])).toBe('rsync');
    expect(detectProfile(['2026/12/02 05:38:42 NOTICE: Config file "/root/.config/rclone/rclone.conf" not found - using defaults'])).toBe('rclone');
    expect(detectProfile(['{"level":"info","msg":"Copied (new)","object":"f1.bin","source":"operations/operations.go:566"}'])).toBe('rclone');
    expect(detectProfile(['Completed 256.0 KiB/1.4 MiB (9.0 MiB/s) with 6 file(s) remaining'])).toBe('aws-s3');
    expect(detectProfile(readLines(fixture('dms-task.log')))).toBe('aws-dms');
    expect(detectProfile(['-- Connecting to localhost...'])).toBe('mysqldump');
    expect(detectProfile(['Migration started migration_id=x'])).toBeUndefined();
    expect(profileForCommand(['/usr/bin/pg_restore', '-d', 'x'])).toBe('pg_restore');
    expect(profileForCommand(['aws', 's3', 'sync', 'a', 's3://b'])).toBe('aws-s3');
    expect(profileForCommand(['aws', 'dms', 'describe-table-statistics'])).toBeUndefined();
    // the AWS CLI's global options come before the service
    expect(profileForCommand(['aws', '--endpoint-url', 'http://127.0.0.1:4568', 's3', 'sync', 'a', 's3://b'])).toBe('aws-s3');
    expect(profileForCommand(['/usr/local/bin/aws', '--profile', 'prod', '--region=eu-west-1', '--no-verify-ssl', 's3', 'cp', 'a', 's3://b'])).toBe('aws-s3');
    expect(profileForCommand(['aws', '--profile', 's3', 'dms', 'describe-table-statistics'])).toBeUndefined();
    expect(PROFILE_NAMES).toEqual(expect.arrayContaining(['pg_dump', 'pg_restore', 'pgloader', 'rsync', 'rclone', 'aws-s3', 'aws-dms', 'mysqldump']));
  });

  it('reads sizes the way the tools print them', () => {
    expect(parseSize('1,501,000')).toBe(1_501_000);
    expect(parseSize('1.431 MiB')).toBe(Math.round(1.431 * 1024 ** 2));
    expect(parseSize('19.4 kB')).toBe(19_400);
    expect(parseSize('0 B')).toBe(0);
    expect(parseSize(42)).toBe(42);
    expect(parseSize('lots')).toBeNull();
    expect(parseSize(-1)).toBeNull();
  });

  it('AWS DMS task log (as CloudWatch delivers it): tables as units, rows and bytes from "Load finished", errors alerted, "All tables are loaded" completes the full load', async () => {
    const { tracker, analyzer } = setupProfile('aws-dms');
    await feed(analyzer, readLines(fixture('dms-task.log')), 'dms-task-ORDERS');
    const s = await tracker.get('m');
    expect(s.phases[0]).toMatchObject({ status: 'completed', progress: 100 });
    expect(s.metrics.totalDataMigrated).toBe(196_608 + 6_356_992);
    expect(s.metrics.successfulOperations).toBe(50_000);
    expect(s.metrics.failedOperations).toBe(1);
    expect(s.alerts.map((a) => a.message)).toContainEqual(expect.stringMatching(/^DMS: Failed to load data from csv file/));
    const progress = (await tracker.dashboard('m', 100)).recentActivity.filter((e) => e.action === 'phase.progress').map((e) => e.details?.['progress']);
    expect(progress).toContain(50); // one of two tables loaded
  });

  it('AWS DMS describe-table-statistics (one JSON object per line): tables counted as they complete, errors alerted', async () => {
    const { tracker, analyzer } = setupProfile('aws-dms', 'full-load');
    const stats = JSON.parse(fs.readFileSync(fixture('dms-table-statistics.json'), 'utf8')) as { TableStatistics: unknown[] };
    // polled: the first answer (task starting) lists every table before load, the second is the recorded one
    const before = stats.TableStatistics.map((t) => JSON.stringify({ ...(t as object), TableState: 'Before load', FullLoadRows: 0 }));
    await feed(analyzer, [...before, ...stats.TableStatistics.map((t) => JSON.stringify(t))], 'describe-table-statistics');
    const s = await tracker.get('m');
    expect(s.phases[0]!.status).toBe('in_progress');
    expect(s.phases[0]!.progress).toBeCloseTo(100 / 3, 1);
    expect(s.alerts.map((a) => a.message)).toContainEqual('DMS table public.audit: Table error (12 error rows)');
  });

  it('aws s3: progress is the bytes line; an object line (units only ever seen as they finish) never claims the phase is done', async () => {
    const { tracker, analyzer } = setupProfile('aws-s3', 'upload');
    await feed(analyzer, ['Completed 2.0 MiB/4.0 MiB (2.0 MiB/s) with 2 file(s) remaining', 'upload: files/f0.bin to s3://bkt/f0.bin']);
    let p = (await tracker.get('m')).phases[0]!;
    expect(p).toMatchObject({ status: 'in_progress', progress: 50 });
    // --no-progress: object lines only
    const quiet = setupProfile('aws-s3', 'upload');
    await feed(quiet.analyzer, ['upload: files/f0.bin to s3://bkt/f0.bin', 'upload: files/f1.bin to s3://bkt/f1.bin']);
    p = (await quiet.tracker.get('m')).phases[0]!;
    expect(p.status).toBe('in_progress');
    expect(p.progress).toBeLessThan(100);
  });

  it('mysqldump --verbose: each table is a unit, done when the next starts', async () => {
    const { tracker, analyzer } = setupProfile('mysqldump', 'dump');
    await feed(analyzer, ['-- Connecting to localhost...', '-- Retrieving table structure for table a...', '-- Sending SELECT query...', '-- Retrieving rows...', '-- Retrieving table structure for table b...', '-- Disconnecting from localhost...']);
    const p = (await tracker.get('m')).phases[0]!;
    expect(p.status).toBe('in_progress');
    expect(p.progress).toBe(50);
  });

  it('a phase ends when the next starts (completeRunning), progress can be a constant, and --explain says what each rule did', async () => {
    const tracker = new Tracker({ store: FileStore.inMemory() });
    const explained: ExplainEntry[] = [];
    const config = parseLogWatchConfig({
      defaultMigrationId: 'm',
      useDefaultPatterns: false,
      plan: [{ id: 'dump', name: 'Dump', estimatedDuration: 10 }, { id: 'restore', name: 'Restore', estimatedDuration: 10, dependencies: ['dump'] }],
      patterns: [
        { name: 'dump begins', regex: '^== dump', actions: [{ do: 'start_phase', phase: 'dump' }] },
        { name: 'schema done', regex: '^schema written', actions: [{ do: 'progress', phase: 'dump', value: 10 }] },
        { name: 'restore begins', regex: '^== restore', actions: [{ do: 'start_phase', phase: 'restore', completeRunning: true }] },
      ],
    });
    const analyzer = new LogAnalyzer({ sink: trackerSink(tracker), config, explain: (e) => explained.push(e) });
    await feed(analyzer, ['== dump', 'schema written', 'noise', '== restore']);
    const s = await tracker.get('m');
    expect(s.phases.map((p) => [p.id, p.status, p.progress])).toEqual([['dump', 'completed', 100], ['restore', 'in_progress', 0]]);
    expect(explained.map((e) => `${e.pattern ?? e.outcome}: ${e.did.join('; ')}`)).toEqual([
      'dump begins: start_phase dump',
      'schema done: progress dump 10% (schema done)',
      'ignored: ',
      'restore begins: complete_phase dump; start_phase restore',
    ]);
  });
});

describe('config errors', () => {
  it('name the path and suggest the nearest valid key or action', () => {
    expect(() => parseLogWatchConfig({ patern: [] })).toThrow(/unknown key "patern": did you mean "patterns"\?/);
    expect(() => parseLogWatchConfig({ patterns: [{ name: 'x', regex: 'a', actons: [] }] })).toThrow(/patterns\[0\]: unknown key "actons": did you mean "actions"\?/);
    expect(() => parseLogWatchConfig({ patterns: [{ name: 'x', regex: 'a', actions: [{ do: 'progress', phse: 'db' }] }] })).toThrow(/patterns\[0\]\.actions\[0\]: unknown key "phse": did you mean "phase"\?/);
    expect(() => parseLogWatchConfig({ patterns: [{ name: 'x', regex: 'a', actions: [{ do: 'complete' }] }] })).toThrow(/unknown action "do: complete": did you mean "complete_phase"\?/);
    expect(() => parseLogWatchConfig({ fields: { migrationid: 'x' } })).toThrow(/fields: unknown key "migrationid": did you mean "migrationId"\?/);
    expect(() => parseLogWatchConfig({ profile: 'rsynk' })).toThrow(/profile/);
  });
});
