import { FileStore } from '../../../lib/adapters/file/file-store';
import { ManualClock } from '../../../lib/core/clock';
import { LogAnalyzer, parseLogWatchConfig, trackerSink, type TrackerSink } from '../../../lib/core/logwatch';
import { DEFAULT_PLAN } from '../../../lib/core/plan';
import { Tracker } from '../../../lib/core/tracker/service';
import { feed, fixture, readLines, setup, summary } from './helpers';

describe('log analyzer: replaying sample logs gives the exact tracker state', () => {
  it('plain-text log: bulk copy → dual-write → cutover completed, failures counted, verification recorded', async () => {
    const { tracker, analyzer, clock } = setup();
    const outcomes = await feed(analyzer, readLines(fixture('plain.log')), 'host-a:/var/log/migration.log', clock);
    expect(outcomes).toEqual(['applied', 'applied', 'ignored', 'applied', 'applied', 'applied', 'applied', 'applied', 'applied', 'applied']);
    const run = 'host-a:/var/log/migration.log';
    expect(await summary(tracker, 'mig-1')).toEqual({
      phases: [
        { id: 'bulk-copy', status: 'completed', progress: 100, runId: run, attempts: 1 },
        { id: 'dual-write', status: 'completed', progress: 100, runId: run, attempts: 1 },
        { id: 'cutover', status: 'completed', progress: 100, runId: run, attempts: 1 },
      ],
      alerts: ['error:-:Validation failed: consistency (2026-01-01T10:01:01.000Z ERROR eventsource.migration Consistency check failed migration_id=mig-1 tenant_id=t-1 operation=checksum events_count=3)'],
      failedOperations: 2,
      validation: { verdict: 'fail', checks: ['consistency/checksum'] },
    });
    const s = await tracker.get('mig-1');
    expect(s.phases[0]!.metadata).toMatchObject({ source: 'log', tenantId: 't-1', eventsCopied: 10000, durationMs: 20000 });
    expect(s.completedAt).toBeDefined();
    expect(analyzer.stats()).toMatchObject({ lines: 10, matched: 9, ignored: 1, malformed: 0, rejected: 0, conflicts: 0 });
    expect(analyzer.stats().byPattern).toEqual({
      'Migration started': 1,
      'Bulk copy progress': 2,
      'Bulk copy complete': 1,
      'Target write failed': 2,
      'Cutover initiated': 1,
      'Consistency check failed': 1,
      'Migration completed': 1,
    });
  });

  it('JSON log: progress from events_count/events_total, cutover timeout alert, failure of the running phase; malformed lines counted and skipped', async () => {
    const { tracker, analyzer, observed } = setup();
    const outcomes = await feed(analyzer, readLines(fixture('json.log')), 'json.log');
    expect(outcomes).toEqual(['applied', 'applied', 'malformed', 'ignored', 'malformed', 'ignored', 'applied', 'applied', 'applied', 'applied', 'applied', 'applied']);
    expect(await summary(tracker, 'mig-2')).toEqual({
      phases: [
        { id: 'bulk-copy', status: 'completed', progress: 100, runId: 'json.log', attempts: 1 },
        { id: 'dual-write', status: 'completed', progress: 100, runId: 'json.log', attempts: 1 },
        { id: 'cutover', status: 'failed', progress: 0, runId: 'json.log', attempts: 1 },
      ],
      alerts: ['critical:cutover:Cutover timeout: Cutover timeout', 'critical:cutover:Phase "Cutover" failed: cutover aborted: writers still blocked'],
      failedOperations: 1,
      validation: undefined,
    });
    const stats = analyzer.stats();
    expect(stats).toMatchObject({ lines: 12, malformed: 2, ignored: 2, rejected: 0 });
    expect(analyzer.recentMalformed().map((m) => [m.key, m.reason.replace(/:.*/, '')])).toEqual([
      ['json.log:2', 'invalid JSON'],
      ['json.log:4', 'events_count "lots" is not a non-negative number'],
    ]);
    // Progress went 50% then 75% before completion; the second update carried the counts.
    const activity = await tracker.store.readActivity('mig-2');
    expect(activity.filter((a) => a.action === 'phase.progress').map((a) => a.details?.['progress'])).toEqual([50, 75]);
    expect(observed).toContainEqual({ metric: 'EventsCopied', labels: { MigrationId: 'mig-2', TenantId: 't-2' }, value: 6000, mode: 'set' });
    expect(observed).toContainEqual({ metric: 'EventsTotal', labels: { MigrationId: 'mig-2', TenantId: 't-2' }, value: 8000, mode: 'set' });
    expect(observed).toContainEqual({ metric: 'DualWriteFailures', labels: { TenantId: 't-2' }, value: 1, mode: 'add' });
    expect(observed).toContainEqual({ metric: 'CutoverPause', labels: { MigrationId: 'mig-2' }, value: 30, mode: 'observe' });
  });

  it('never throws on hostile input: binary, huge, invalid ids, bad numbers', async () => {
    const { analyzer } = setup({ maxLineBytes: 1024 });
    const lines = [
      '\u0000\u0001\u0002 Migration started',
      `Migration started migration_id=${'x'.repeat(2000)}`,
      'Migration started migration_id=../../etc/passwd',
      'Bulk copy progress migration_id=m events_count=-5',
      'Bulk copy progress migration_id=m progress=140',
      '{"message": "Migration started", "migration_id": {"nested": true}}',
      '{}',
      '   ',
      '{"message": 42}',
    ];
    const outcomes = await feed(analyzer, lines);
    expect(outcomes).toEqual(['malformed', 'malformed', 'malformed', 'malformed', 'malformed', 'malformed', 'ignored', 'empty', 'ignored']);
    expect(analyzer.stats().malformed).toBe(6);
  });
});

describe('log analyzer: conflicts', () => {
  it('two runs active in the same phase raise one alert; the second run does not move the phase', async () => {
    const { tracker, analyzer } = setup();
    await feed(analyzer, ['Migration started migration_id=m run_id=run-a', 'Bulk copy progress migration_id=m run_id=run-a events_count=10 events_total=100']);
    const outcomes = await feed(analyzer, [
      'Migration started migration_id=m run_id=run-b',
      'Bulk copy progress migration_id=m run_id=run-b events_count=90 events_total=100',
      'Bulk copy progress migration_id=m run_id=run-b events_count=95 events_total=100',
    ]);
    expect(outcomes).toEqual(['applied', 'applied', 'applied']);
    const s = await summary(tracker, 'm');
    expect(s.phases[0]).toMatchObject({ status: 'in_progress', progress: 10, runId: 'run-a' });
    expect(s.alerts).toEqual(['error:bulk-copy:Conflict: two runs active in phase "bulk-copy": "run-a" and "run-b"']);
    expect(analyzer.conflicts()).toEqual([
      expect.objectContaining({ kind: 'concurrent_runs', migrationId: 'm', phaseId: 'bulk-copy', runId: 'run-b', otherRunId: 'run-a' }),
    ]);
  });

  it('a phase started before its dependency completed raises an alert and is not started', async () => {
    const { tracker, analyzer } = setup();
    await feed(analyzer, ['Migration started migration_id=m', 'Cutover initiated migration_id=m']);
    const s = await summary(tracker, 'm');
    expect(s.phases.map((p) => p.status)).toEqual(['in_progress', 'pending', 'pending']);
    // "Cutover initiated" completes dual-write and starts cutover: both are out of order.
    expect(s.alerts).toEqual([
      'error:dual-write:Conflict: phase "dual-write" started by run "app.log" before its dependencies completed: "bulk-copy" (in_progress)',
      'error:cutover:Conflict: phase "cutover" started by run "app.log" before its dependencies completed: "dual-write" (pending)',
    ]);
    expect(analyzer.conflicts()[0]).toMatchObject({ kind: 'dependency_not_completed', blockedBy: ['bulk-copy'] });
  });

  it('a completed phase started again by another run is a conflict; the same run repeating itself is a duplicate', async () => {
    const { tracker, analyzer } = setup();
    await feed(analyzer, ['Migration started migration_id=m run_id=r1', 'Bulk copy complete migration_id=m run_id=r1', 'Migration started migration_id=m run_id=r1']);
    expect(analyzer.stats().duplicates).toBe(1);
    expect((await summary(tracker, 'm')).alerts).toEqual([]);
    await feed(analyzer, ['Migration started migration_id=m run_id=r2', 'Migration started migration_id=m run_id=r2']);
    expect((await summary(tracker, 'm')).alerts).toEqual(['error:bulk-copy:Conflict: phase "bulk-copy" (completed by run "r1") started again by run "r2"']);
    expect(analyzer.stats().conflicts).toBe(1);
  });

  it('a conflict alert is raised once even by a fresh analyzer replaying the same lines (idempotency key per conflict)', async () => {
    const { tracker, analyzer, clock } = setup();
    const lines = ['Migration started migration_id=m run_id=a', 'Migration started migration_id=m run_id=b'];
    await feed(analyzer, lines);
    const again = new LogAnalyzer({ sink: trackerSink(tracker), clock });
    await feed(again, lines);
    expect((await tracker.get('m')).alerts).toHaveLength(1);
  });
});

describe('log analyzer: delivery', () => {
  it('a line retried after the tracker failed mid-line applies each operation exactly once', async () => {
    const clock = new ManualClock();
    const tracker = new Tracker({ store: FileStore.inMemory(), clock });
    const inner = trackerSink(tracker);
    let failNext = false;
    const flaky: TrackerSink = {
      ...inner,
      send: async (id, op, key) => {
        const r = await inner.send(id, op, key);
        if (failNext && op.action === 'start_phase' && op.phaseId === 'dual-write') {
          failNext = false;
          throw new Error('tracker answered 503 after committing');
        }
        return r;
      },
    };
    const analyzer = new LogAnalyzer({ sink: flaky, clock });
    await analyzer.process({ text: 'Migration started migration_id=m', source: 'f', key: 'f:0' });
    failNext = true;
    const line = { text: 'Bulk copy complete migration_id=m', source: 'f', key: 'f:1' };
    await expect(analyzer.process(line)).rejects.toThrow(/503/);
    // A fresh analyzer (a restarted watcher) retries the same line: same keys, nothing applied twice.
    const restarted = new LogAnalyzer({ sink: inner, clock });
    expect(await restarted.process(line)).toBe('applied');
    expect(restarted.stats().rejected).toBe(0);
    const s = await tracker.get('m');
    expect(s.phases.map((p) => [p.id, p.status, p.attempts])).toEqual([
      ['bulk-copy', 'completed', 1],
      ['dual-write', 'in_progress', 1],
      ['cutover', 'pending', 0],
    ]);
    const starts = (await tracker.store.readActivity('m')).filter((a) => a.action === 'phase.start');
    expect(starts).toHaveLength(2);
  });

  it('without auto-initialize, lines of an unknown migration are rejected, not applied', async () => {
    const { analyzer, tracker } = setup({ autoInitialize: false });
    expect(await analyzer.process({ text: 'Migration started migration_id=nope', source: 's', key: 'k' })).toBe('rejected');
    expect(await tracker.exists('nope')).toBe(false);
    expect(analyzer.recentRejections()[0]!.reason).toMatch(/unknown migration "nope"/);
  });

  it('refusals by the tracker are counted and recorded, and the next line still works', async () => {
    const { analyzer, tracker } = setup();
    await tracker.initialize('m', { plan: [{ id: 'bulk-copy', name: 'B', estimatedDuration: 1, subTasks: [{ id: 's', name: 'S' }] }] });
    const out = await feed(analyzer, ['Migration started migration_id=m', 'Bulk copy progress migration_id=m progress=50', 'Cutover initiated migration_id=m']);
    expect(out).toEqual(['applied', 'rejected', 'rejected']);
    expect(analyzer.recentRejections().map((r) => r.reason)).toEqual([
      'Bulk copy progress: phase "bulk-copy" has sub-tasks: map progress lines to a phase without sub-tasks',
      'Cutover initiated: cannot complete phase "dual-write": not in the migration\'s plan (map it with phaseMap)',
      'Cutover initiated: cannot start phase "cutover": not in the migration\'s plan (map it with phaseMap)',
    ]);
  });
});

describe('log analyzer: configuration', () => {
  it('phaseMap puts the well-known events onto another plan; custom JSON field matchers come first', async () => {
    const plan = DEFAULT_PLAN.map((p) => ({ ...p, subTasks: [] }));
    const { analyzer, tracker } = setup({
      plan,
      phaseMap: { 'bulk-copy': 'database', 'dual-write': 'vector-search', cutover: 'apis' },
      patterns: [
        { name: 'infra ready', fields: { 'event.kind': 'infra', 'event.action': { regex: '^(ready|done)$' } }, actions: [{ do: 'start_phase', phase: 'initialization' }, { do: 'complete_phase', phase: 'initialization' }, { do: 'start_phase', phase: 'infrastructure' }, { do: 'complete_phase', phase: 'infrastructure' }] },
      ],
    });
    await feed(analyzer, [
      '{"event": {"kind": "INFRA", "action": "done"}, "migration_id": "m"}',
      '{"message": "Migration started", "migration_id": "m", "phase": "bulk_copy"}',
      '{"message": "Bulk copy progress", "migration_id": "m", "progress": 40}',
      '{"message": "Bulk copy complete", "migration_id": "m"}',
    ]);
    const s = await summary(tracker, 'm');
    expect(s.phases.slice(0, 4).map((p) => [p.id, p.status])).toEqual([
      ['initialization', 'completed'],
      ['infrastructure', 'completed'],
      ['database', 'completed'],
      ['vector-search', 'in_progress'],
    ]);
  });

  it('names the problem in a bad config', () => {
    expect(() => parseLogWatchConfig({ patterns: [{ name: 'x', regex: '([', actions: [{ do: 'start_phase' }] }] })).toThrow(/patterns\[0\]\.regex: is not a valid regular expression/);
    expect(() => parseLogWatchConfig({ patterns: [{ name: 'x', actions: [{ do: 'start_phase' }] }] })).toThrow(/a pattern needs "regex" or at least one entry in "fields"/);
    expect(() => parseLogWatchConfig({ patterns: [{ name: 'x', regex: 'a', actions: [{ do: 'explode' }] }] })).toThrow(/patterns\[0\]\.actions\[0\]/);
    expect(() => parseLogWatchConfig({ plan: [{ id: 'a', name: 'A', estimatedDuration: 1, dependencies: ['zz'] }] })).toThrow(/unknown phase "zz"/);
    expect(() => parseLogWatchConfig({ surprise: 1 })).toThrow(/surprise/);
  });

  it('an alert template fills in fields; expectUpdateWithinSeconds tells the tracker when to call the phase stale', async () => {
    const { analyzer, tracker, clock } = setup({
      expectUpdateWithinSeconds: 60,
      patterns: [{ name: 'lag', regex: 'replication lag (?<lag>\\d+)s', actions: [{ do: 'alert', severity: 'warning', message: 'lag {lag}s on {tenant_id}' }] }],
    });
    await feed(analyzer, ['Migration started migration_id=m', 'WARN replication lag 42s migration_id=m tenant_id=t9']);
    expect((await summary(tracker, 'm')).alerts).toEqual(['warning:-:lag 42s on t9']);
    clock.advance(120_000);
    const o = await tracker.overview('m');
    expect(o.phases[0]!.stale).toBe(true);
  });
});
