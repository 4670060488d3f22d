import { FileStore } from '../../../lib/adapters/file/file-store';
import { ManualClock } from '../../../lib/core/clock';
import { formatRemaining } from '../../../lib/core/progress';
import { Tracker } from '../../../lib/core/tracker/service';
import { etaText } from '../../../lib/cli/commands/status';
import { TrackerPrometheus } from '../../../lib/adapters/prometheus/metrics';
import { trackerChangeObservations } from '../../../lib/core/metrics/mapping';
import type { TrackerChange } from '../../../lib/core/tracker/service';

const MIN = 60_000;

/** A 690-minute plan whose first phase is a 5-minute formality that completes at once. */
const plan690 = [
  { id: 'init', name: 'Init', estimatedDuration: 5 },
  { id: 'copy', name: 'Copy', estimatedDuration: 600, dependencies: ['init'] },
  { id: 'verify', name: 'Verify', estimatedDuration: 85, dependencies: ['copy'] },
];

async function setup(plan: unknown[] = plan690) {
  const clock = new ManualClock(Date.UTC(2026, 10, 24, 8));
  const tracker = new Tracker({ store: FileStore.inMemory(), clock });
  await tracker.initialize('m', { plan });
  return { clock, tracker };
}

describe('an honest ETA', () => {
  it('a 690-minute plan whose first phase completes instantly does not promise the end in a minute', async () => {
    const { tracker, clock } = await setup();
    await tracker.apply('m', { action: 'start_phase', phaseId: 'init' });
    clock.advance(1000); // 5 plan minutes in one second: 300x the plan
    await tracker.apply('m', { action: 'complete_phase', phaseId: 'init' });
    const e = await tracker.estimate('m');
    expect(e.rateVsPlan).toBeGreaterThan(100); // what was observed, reported as such
    expect(e.remainingMs!).toBeGreaterThan(300 * MIN); // but the estimate leans on the plan until there is evidence
    expect(e.remainingMs!).toBeLessThan(700 * MIN);
    expect(e.confidence).toBe('low');
    expect(e.uncertaintyMs!).toBeGreaterThanOrEqual(e.remainingMs! * 0.5);
  });

  it('clamps absurd rates to 10x either way of the plan', async () => {
    const { tracker, clock } = await setup([{ id: 'a', name: 'A', estimatedDuration: 100000 }]);
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
    clock.advance(MIN);
    await tracker.apply('m', { action: 'update_phase', phaseId: 'a', progress: 90 }); // 90,000 plan-min in 1 min
    const e = await tracker.estimate('m');
    expect(e.rateClamped).toBe(true);
    expect(e.remainingMs).toBe(Math.round((10000 / 10) * MIN));
  });

  it('confidence grows with elapsed time and samples, not only with the fraction of the plan done', async () => {
    const { tracker, clock } = await setup([{ id: 'a', name: 'A', estimatedDuration: 100 }]);
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
    clock.advance(MIN);
    await tracker.apply('m', { action: 'update_phase', phaseId: 'a', progress: 60 }); // 60 % in one report after one minute
    expect((await tracker.estimate('m')).confidence).toBe('low');
    for (let i = 1; i <= 12; i++) {
      clock.advance(5 * MIN);
      await tracker.apply('m', { action: 'update_phase', phaseId: 'a', progress: 60 + i * 2 });
    }
    const e = await tracker.estimate('m'); // 61 min, 13 samples, 84 %
    expect(e.confidence).toBe('high');
    expect(e.samples).toBe(13);
    expect(e.uncertaintyMs!).toBeLessThan(e.remainingMs! * 0.5);
    expect(Date.parse(e.latestCompletion!) - Date.parse(e.earliestCompletion!)).toBe(2 * e.uncertaintyMs!);
  });

  it('gives no ETA while paused or failed, and says why', async () => {
    const { tracker, clock } = await setup();
    await tracker.apply('m', { action: 'start_phase', phaseId: 'init' });
    clock.advance(10 * MIN);
    await tracker.apply('m', { action: 'complete_phase', phaseId: 'init' });
    await tracker.apply('m', { action: 'pause', reason: 'change freeze' });
    let e = await tracker.estimate('m');
    expect([e.basis, e.estimatedCompletion, e.remainingMs]).toEqual(['paused', null, null]);
    expect(e.reason).toMatch(/paused: change freeze/);
    await tracker.apply('m', { action: 'resume' });
    expect((await tracker.estimate('m')).estimatedCompletion).not.toBeNull();
    await tracker.apply('m', { action: 'start_phase', phaseId: 'copy' });
    await tracker.apply('m', { action: 'fail_phase', phaseId: 'copy', error: 'disk full' });
    e = await tracker.estimate('m');
    expect([e.basis, e.estimatedCompletion]).toEqual(['failed', null]);
    expect(e.reason).toMatch(/"copy" failed: disk full/);
    expect((await tracker.overview('m')).estimate.basis).toBe('failed'); // the overview says the same
  });

  it('formats the remaining time as a person reads it', () => {
    expect(formatRemaining(130 * MIN)).toBe('2 h 10 min');
    expect(formatRemaining(45 * MIN)).toBe('45 min');
    expect(formatRemaining(20_000)).toBe('20 s');
    expect(formatRemaining(26 * 60 * MIN)).toBe('1 d 2 h');
  });

  it('the CLI prints the remaining time with its band in local time, and the reason when there is no ETA', () => {
    const e = { estimatedCompletion: '2026-11-24T14:35:00.000Z', remainingMs: 130 * MIN, uncertaintyMs: 25 * MIN, confidence: 'low', basis: 'observed-rate', reason: null };
    expect(etaText(e, 'Europe/Paris')).toBe('remaining 2 h 10 min (± 25 min), ends Tue 24 Nov, 15:35 local time (low confidence)');
    expect(etaText({ ...e, estimatedCompletion: null, remainingMs: null, basis: 'paused', reason: 'paused: change freeze: no ETA until it resumes' })).toBe('none (paused: change freeze: no ETA until it resumes)');
  });

  it('exports the ETA as migration_estimated_completion_timestamp_seconds (Prometheus) and EstimatedCompletion (EMF), gone while paused', async () => {
    const { tracker, clock } = await setup();
    const changes: TrackerChange[] = [];
    tracker.addListener((c) => void changes.push(c));
    const prom = new TrackerPrometheus(tracker);
    await tracker.apply('m', { action: 'start_phase', phaseId: 'init' });
    clock.advance(10 * MIN);
    await tracker.apply('m', { action: 'complete_phase', phaseId: 'init' });
    const eta = Date.parse((await tracker.estimate('m')).estimatedCompletion!) / 1000;
    expect(await prom.text()).toContain(`migration_estimated_completion_timestamp_seconds{migration_id="m"} ${Math.round(eta)}`);
    const emf = trackerChangeObservations(changes.at(-1)!).find((o) => o.metric === 'EstimatedCompletion');
    expect(emf?.value).toBe(Math.round(eta));
    await tracker.apply('m', { action: 'pause' });
    expect(await prom.text()).not.toContain('migration_estimated_completion_timestamp_seconds{');
  });
});
