import { FileStore } from '../../../lib/adapters/file/file-store';
import { ManualClock } from '../../../lib/core/clock';
import { DomainError } from '../../../lib/core/errors';
import { Tracker } from '../../../lib/core/tracker/service';

const MIN = 60_000;

async function setup(plan?: unknown[]) {
  const clock = new ManualClock(Date.UTC(2026, 10, 24, 8));
  const tracker = new Tracker({ store: FileStore.inMemory(), clock });
  await tracker.initialize('m', plan ? { plan } : {});
  return { clock, tracker };
}

const simple = [
  { id: 'a', name: 'A', estimatedDuration: 60 },
  { id: 'b', name: 'B', estimatedDuration: 30, dependencies: ['a'] },
  { id: 'c', name: 'C', estimatedDuration: 30, dependencies: ['a'], subTasks: [{ id: 's1', name: 'S1', estimatedDuration: 3 }, { id: 's2', name: 'S2', estimatedDuration: 1 }] },
];

async function rejects(p: Promise<unknown>, code: string, msg: RegExp) {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(DomainError);
  expect((e as DomainError).code).toBe(code);
  expect((e as DomainError).message).toMatch(msg);
}

describe('tracker: phases', () => {
  it('refuses to start a phase before its dependencies are done, naming them (409)', async () => {
    const { tracker } = await setup();
    await rejects(tracker.apply('m', { action: 'start_phase', phaseId: 'database' }), 'dependency_blocked', /waiting for "infrastructure" \(pending\)/);
    const e = await tracker.apply('m', { action: 'start_phase', phaseId: 'database' }).catch((x: DomainError) => x);
    expect((e as DomainError).status).toBe(409);
    expect((await tracker.get('m')).phases.find((p) => p.id === 'database')!.status).toBe('pending');
  });

  it('runs the life cycle start → update → complete and allows dependants after complete or skip', async () => {
    const { tracker, clock } = await setup(simple);
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
    clock.advance(30 * MIN);
    await tracker.apply('m', { action: 'update_phase', phaseId: 'a', progress: 50, metadata: { currentTask: 'Creating VPC' } });
    let s = await tracker.get('m');
    expect(s.phases[0]!.progress).toBe(50);
    expect(s.phases[0]!.metadata['currentTask']).toBe('Creating VPC');
    clock.advance(30 * MIN);
    await tracker.apply('m', { action: 'complete_phase', phaseId: 'a' });
    s = await tracker.get('m');
    expect(s.phases[0]).toMatchObject({ status: 'completed', progress: 100, actualDuration: 60 });
    await tracker.apply('m', { action: 'skip_phase', phaseId: 'b', reason: 'not needed' });
    await tracker.apply('m', { action: 'start_phase', phaseId: 'c' });
    expect((await tracker.get('m')).phases[2]!.status).toBe('in_progress');
  });

  it('refuses illegal transitions with a clear message and changes nothing', async () => {
    const { tracker } = await setup(simple);
    await rejects(tracker.apply('m', { action: 'complete_phase', phaseId: 'a' }), 'illegal_transition', /cannot complete phase "a": it is pending/);
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
    await tracker.apply('m', { action: 'fail_phase', phaseId: 'a', error: 'disk full' });
    await rejects(tracker.apply('m', { action: 'update_phase', phaseId: 'a', progress: 10 }), 'illegal_transition', /phase "a" failed \(disk full\): reporting progress on it is refused; start it again \(an explicit retry\)/);
    await rejects(tracker.apply('m', { action: 'complete_phase', phaseId: 'a' }), 'illegal_transition', /phase "a" failed \(disk full\): completing it is refused/);
    await rejects(tracker.apply('m', { action: 'start_phase', phaseId: 'ghost' }), 'not_found', /unknown phase "ghost"/);
    const s = await tracker.get('m');
    expect(s.phases[0]).toMatchObject({ status: 'failed', error: 'disk full' });
    expect(s.alerts.map((a) => a.severity)).toEqual(['critical']); // unhealthy: as loud as the phase-failed alarm
    // a failed phase may be retried
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
    expect((await tracker.get('m')).phases[0]).toMatchObject({ status: 'in_progress', attempts: 2 });
  });

  it('derives phase progress from weighted sub-tasks and refuses to complete with open sub-tasks', async () => {
    const { tracker } = await setup(simple);
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
    await tracker.apply('m', { action: 'complete_phase', phaseId: 'a' });
    await tracker.apply('m', { action: 'start_subtask', phaseId: 'c', subTaskId: 's1' }); // starts the phase too
    await tracker.apply('m', { action: 'update_subtask', phaseId: 'c', subTaskId: 's1', progress: 50 });
    let c = (await tracker.get('m')).phases[2]!;
    expect(c.status).toBe('in_progress');
    expect(c.progress).toBe(37.5); // (3*50 + 1*0) / 4
    await rejects(tracker.apply('m', { action: 'update_phase', phaseId: 'c', progress: 90 }), 'illegal_transition', /derived from them/);
    await rejects(tracker.apply('m', { action: 'complete_phase', phaseId: 'c' }), 'illegal_transition', /s1 \(in_progress\), s2 \(pending\)/);
    await tracker.apply('m', { action: 'complete_subtask', phaseId: 'c', subTaskId: 's1' });
    await tracker.apply('m', { action: 'skip_subtask', phaseId: 'c', subTaskId: 's2', reason: 'n/a' });
    c = (await tracker.get('m')).phases[2]!;
    expect(c.progress).toBe(100);
    await tracker.apply('m', { action: 'complete_phase', phaseId: 'c' });
  });

  it('pause refuses phase starts; resume allows them; both are control events', async () => {
    const { tracker } = await setup(simple);
    await tracker.apply('m', { action: 'pause', reason: 'change freeze' }, { actor: 'alice' });
    await rejects(tracker.apply('m', { action: 'start_phase', phaseId: 'a' }), 'paused', /paused/);
    await rejects(tracker.apply('m', { action: 'pause' }), 'conflict', /already paused/);
    await tracker.apply('m', { action: 'resume' }, { actor: 'bob' });
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
    const s = await tracker.get('m');
    expect(s.controlEvents.map((e) => [e.type, e.actor])).toEqual([
      ['pause', 'alice'],
      ['resume', 'bob'],
    ]);
  });

  it('re-initializing a started migration needs reset', async () => {
    const { tracker } = await setup(simple);
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
    await rejects(tracker.initialize('m', {}), 'conflict', /already started/);
    await tracker.initialize('m', { reset: true });
    expect((await tracker.get('m')).phases[0]!.status).toBe('pending');
  });
});

describe('tracker: progress and ETA', () => {
  it('weights overall progress by estimated duration', async () => {
    const { tracker } = await setup(simple);
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
    await tracker.apply('m', { action: 'complete_phase', phaseId: 'a' }); // 60 of 120
    expect((await tracker.overview('m')).overallProgress).toBe(50);
    await tracker.apply('m', { action: 'skip_phase', phaseId: 'b', reason: 'x' }); // weighting drops b: 60 of 90
    expect((await tracker.overview('m')).overallProgress).toBe(66.67);
  });

  it('ETA is null until there is data, then extrapolates the observed rate, never into the past', async () => {
    const { tracker, clock } = await setup(simple);
    expect((await tracker.estimate('m')).estimatedCompletion).toBeNull();
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
    expect((await tracker.estimate('m')).estimatedCompletion).toBeNull(); // started, no progress yet
    clock.advance(60 * MIN);
    await tracker.apply('m', { action: 'update_phase', phaseId: 'a', progress: 50 }); // 30 plan-min in 60 min: half speed
    const e = await tracker.estimate('m');
    expect(e.rateVsPlan).toBe(0.5);
    // the plan counts as a prior of 12 plan-min at rate 1 (10 % of the plan): (30 + 12) / (60 + 12)
    expect(e.rateUsed).toBe(0.58);
    expect(e.remainingMs).toBe(Math.round((90 / (42 / 72)) * MIN));
    expect(Date.parse(e.estimatedCompletion!)).toBe(clock.now() + e.remainingMs!);
    clock.advance(24 * 60 * MIN); // nothing happens for a day: the ETA moves, never behind now
    const later = await tracker.estimate('m');
    expect(Date.parse(later.estimatedCompletion!)).toBeGreaterThan(clock.now());
    expect(later.remainingMs).toBeGreaterThanOrEqual(0);
  });

  it('plans the rest of a bulk copy from the measured copy rate, like the capacity planner', async () => {
    const { tracker, clock } = await setup(simple);
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
    clock.advance(100_000);
    await tracker.apply('m', { action: 'update_phase', phaseId: 'a', progress: 10, metadata: { eventsCopied: 100_000, eventsTotal: 1_000_000 } });
    const e = await tracker.estimate('m');
    expect(e.capacity?.measuredRatePerSecond).toBe(1000);
    expect(e.capacity?.remaining.bulkCopySeconds).toBeGreaterThanOrEqual(900);
  });

  it('excludes paused time from the rate', async () => {
    const { tracker, clock } = await setup(simple);
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
    clock.advance(30 * MIN);
    await tracker.apply('m', { action: 'update_phase', phaseId: 'a', progress: 50 });
    await tracker.apply('m', { action: 'pause' });
    clock.advance(300 * MIN);
    await tracker.apply('m', { action: 'resume' });
    expect((await tracker.estimate('m')).rateVsPlan).toBe(1); // 30 plan-min in 30 active min
  });
});

describe('tracker: alerts, metrics, staleness', () => {
  it('creates and acknowledges alerts; metrics increments derive the error rate', async () => {
    const { tracker } = await setup(simple);
    const r = await tracker.apply('m', { action: 'create_alert', severity: 'critical', message: 'replica lag', phaseId: 'a' });
    const id = (r.result['alert'] as { id: string }).id;
    await tracker.apply('m', { action: 'acknowledge_alert', alertId: id }, { actor: 'oncall' });
    await rejects(tracker.apply('m', { action: 'acknowledge_alert', alertId: 'A999' }), 'not_found', /unknown alert/);
    await tracker.apply('m', { action: 'update_metrics', increment: { successfulOperations: 90, failedOperations: 10 }, metrics: { migrationSpeed: 1024 } });
    const s = await tracker.get('m');
    expect(s.alerts[0]).toMatchObject({ acknowledged: true, acknowledgedBy: 'oncall' });
    expect(s.metrics).toMatchObject({ successfulOperations: 90, failedOperations: 10, errorRate: 10, migrationSpeed: 1024 });
  });

  it('marks a phase stale when its reporter misses nextUpdateSeconds, once, with a warning alert', async () => {
    const { tracker, clock } = await setup(simple);
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a', nextUpdateSeconds: 60 });
    clock.advance(59_000);
    expect((await tracker.overview('m')).phases[0]!.stale).toBe(false);
    clock.advance(2_000);
    const o = await tracker.overview('m');
    expect(o.phases[0]!.stale).toBe(true);
    await tracker.overview('m');
    const s = await tracker.get('m');
    expect(s.alerts.filter((a) => a.severity === 'warning' && /stale/.test(a.message))).toHaveLength(1);
    expect((await tracker.health('m')).status).toBe('degraded');
    await tracker.apply('m', { action: 'update_phase', phaseId: 'a', progress: 10, nextUpdateSeconds: 60 });
    expect((await tracker.get('m')).phases[0]!.stale).toBe(false);
    expect((await tracker.health('m')).status).toBe('healthy');
  });

  it('health: failed phase is unhealthy, high error rate is degraded', async () => {
    const { tracker } = await setup(simple);
    await tracker.apply('m', { action: 'update_metrics', metrics: { errorRate: 25 } });
    expect((await tracker.health('m')).status).toBe('degraded');
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
    await tracker.apply('m', { action: 'fail_phase', phaseId: 'a', error: 'boom' });
    const h = await tracker.health();
    expect(h.status).toBe('unhealthy');
    expect(h.migrations[0]!.reasons.join()).toMatch(/phase "a" failed: boom/);
  });

  it('records who changed what in the activity log', async () => {
    const { tracker } = await setup(simple);
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' }, { actor: 'ci-job-42' });
    const acts = await tracker.store.readActivity('m');
    expect(acts.at(-1)).toMatchObject({ actor: 'ci-job-42', action: 'phase.start', phaseId: 'a' });
  });

  it('refuses an Idempotency-Key reused for another request (422)', async () => {
    const { tracker } = await setup(simple);
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' }, { idempotencyKey: 'k' });
    const again = await tracker.apply('m', { action: 'start_phase', phaseId: 'a' }, { idempotencyKey: 'k' });
    expect(again.replayed).toBe(true);
    await rejects(tracker.apply('m', { action: 'update_phase', phaseId: 'a', progress: 5 }, { idempotencyKey: 'k' }), 'idempotency_mismatch', /different request/);
  });
});
