import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FileStore } from '../../../lib/adapters/file/file-store';
import { ManualClock } from '../../../lib/core/clock';
import { migrationSnapshotObservations, trackerChangeObservations } from '../../../lib/core/metrics/mapping';
import { METRICS } from '../../../lib/core/metrics/spec';
import { Tracker, type TrackerChange } from '../../../lib/core/tracker/service';

describe('tracker change → spec metric observations (shared by the EMF and Prometheus sinks)', () => {
  it('counts a transition once: replays and unchanged values emit no second event', () => {
    const base = { migrationId: 'm', actor: 'a', activity: [], at: 0 };
    const phase = { id: 'p', status: 'in_progress', progress: 10, stale: false } as const;
    const state = (over: object) =>
      ({ id: 'm', phases: [{ ...phase, ...over }], alerts: [], controlEvents: [], metrics: { totalDataMigrated: 0, migrationSpeed: 0, errorRate: 0 }, paused: false }) as never;
    const same: TrackerChange = { ...base, action: 'update_phase', before: state({}), after: state({}) };
    const names = trackerChangeObservations(same).map((o) => o.metric);
    expect(names).not.toContain('PhaseStarted');
    expect(names).not.toContain('PhaseProgress');
    expect(names).toContain('ProgressUpdates');
    const done: TrackerChange = { ...base, action: 'complete_phase', before: state({}), after: state({ status: 'completed', progress: 100, actualDuration: 2.5 }) };
    const obs = trackerChangeObservations(done);
    expect(obs.filter((o) => o.metric === 'PhaseCompleted')).toHaveLength(1);
    expect(obs.find((o) => o.metric === 'PhaseDuration')?.value).toBe(150);
    // Prometheus' form of the same: start and end timestamps (Unix seconds)
    const timed: TrackerChange = { ...base, action: 'complete_phase', before: state({ startedAt: 1_000_000 }), after: state({ status: 'completed', progress: 100, startedAt: 1_000_000, completedAt: 1_150_000 }) };
    const t = trackerChangeObservations(timed);
    expect(t.find((o) => o.metric === 'PhaseEndTime')?.value).toBe(1150);
    expect(t.find((o) => o.metric === 'PhaseStartTime')).toBeUndefined(); // unchanged by this change
  });


  it('describes a migration as it is now: overall progress, state, phases running and stale', async () => {
    const tracker = new Tracker({ store: FileStore.inMemory(), clock: new ManualClock() });
    await tracker.initialize('snap', { plan: [{ id: 'a', name: 'A', estimatedDuration: 30 }, { id: 'b', name: 'B', estimatedDuration: 30 }] });
    await tracker.apply('snap', { action: 'start_phase', phaseId: 'a' });
    await tracker.apply('snap', { action: 'update_phase', phaseId: 'a', progress: 50 });
    const byName = Object.fromEntries(migrationSnapshotObservations(await tracker.get('snap')).map((o) => [o.metric, o]));
    expect(byName).toEqual({
      OverallProgress: { metric: 'OverallProgress', labels: { MigrationId: 'snap' }, value: 25, mode: 'set' },
      MigrationState: { metric: 'MigrationState', labels: { MigrationId: 'snap' }, value: 1, mode: 'set' },
      PhasesRunning: { metric: 'PhasesRunning', labels: { MigrationId: 'snap' }, value: 1, mode: 'set' },
      PhasesFailed: { metric: 'PhasesFailed', labels: { MigrationId: 'snap' }, value: 0, mode: 'set' },
      StalePhases: { metric: 'StalePhases', labels: { MigrationId: 'snap' }, value: 0, mode: 'set' },
    });
  });

  it('gives every observation the dimensions its spec metric declares', async () => {
    const changes: TrackerChange[] = [];
    const tracker = new Tracker({ store: FileStore.inMemory(), clock: new ManualClock(), listeners: [(c) => void changes.push(c)] });
    await tracker.initialize('dims', { plan: [{ id: 'p', name: 'P', estimatedDuration: 10 }] });
    await tracker.apply('dims', { action: 'start_phase', phaseId: 'p' });
    await tracker.apply('dims', { action: 'create_alert', severity: 'warning', message: 'slow' });
    await tracker.apply('dims', { action: 'pause', reason: 'window' });
    const all = changes.flatMap((c) => trackerChangeObservations(c));
    expect(new Set(all.map((o) => o.metric))).toEqual(new Set(['OverallProgress', 'MigrationState', 'PhasesRunning', 'PhasesFailed', 'StalePhases', 'MigrationHealth', 'PhaseProgress', 'PhaseStartTime', 'PhaseStarted', 'ProgressUpdates', 'DataMigrated', 'MigrationSpeed', 'ErrorRate', 'AlertsRaised', 'ControlEvents']));
    for (const o of all) expect([o.metric, Object.keys(o.labels).sort()]).toEqual([o.metric, [...METRICS[o.metric].dimensions].sort()]);
  });

  it('lives in core: imports nothing but core modules (no metrics client, no cloud SDK)', () => {
    const file = path.join(__dirname, '../../../lib/core/metrics/mapping.ts');
    const src = readFileSync(file, 'utf8');
    const imports = [...src.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    for (const i of imports) expect(path.resolve(path.dirname(file), i)).toMatch(new RegExp(`^${path.resolve(__dirname, '../../../lib/core')}/`));
  });
});
