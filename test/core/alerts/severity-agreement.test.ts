/**
 * Status agrees with itself: for one event, the tracker's alert, the handlers' alert line (GCP), the spec alarm
 * that fires on its metrics (CloudWatch, Cloud Monitoring, Prometheus) and the health it leaves are one story.
 * Before lib/core/alerts/severity.ts a failed phase was an `error` alert beside a `critical` alarm, and a failed
 * validation an `error` alert beside a `critical` alarm whether or not it was a cutover gate.
 */
import { FileStore } from '../../../lib/adapters/file/file-store';
import { ALARM_TIER, failureSeverity } from '../../../lib/core/alerts/severity';
import { alertSignalOf, SIGNALS } from '../../../lib/core/alerts/signals';
import { ManualClock } from '../../../lib/core/clock';
import { trackerChangeObservations } from '../../../lib/core/metrics/mapping';
import type { Observation } from '../../../lib/core/metrics/observation';
import { ALARMS, type AlarmSpec, type Severity } from '../../../lib/core/metrics/spec';
import type { AlertSeverity } from '../../../lib/core/model';
import { Tracker, type TrackerChange } from '../../../lib/core/tracker/service';
import type { ProgressOperation } from '../../../lib/core/tracker/operations';
import { healthOf } from '../../../lib/core/tracker/views';
import { failsGate } from '../../../lib/core/validation/gate';

const RANK: Record<AlertSeverity, number> = { info: 0, warning: 1, error: 2, critical: 3 };
const TIER_RANK: Record<Severity, number> = { warning: 1, critical: 2 };

/** Whether one observation alone trips an alarm (every alarm here evaluates one datapoint). */
function trips(a: AlarmSpec, o: Observation): boolean {
  if (o.metric !== a.metric) return false;
  const v = o.value;
  return a.comparison === 'gt' ? v > a.threshold : a.comparison === 'gte' ? v >= a.threshold : a.comparison === 'lt' ? v < a.threshold : v <= a.threshold;
}

async function run(ops: ProgressOperation[]) {
  const clock = new ManualClock(Date.UTC(2026, 11, 2, 9));
  const changes: TrackerChange[] = [];
  const tracker = new Tracker({ store: FileStore.inMemory(), clock, listeners: [(c) => void changes.push(c)] });
  await tracker.initialize('m', { plan: [{ id: 'validation', name: 'Validation', estimatedDuration: 60 }] });
  for (const op of ops) await tracker.apply('m', op);
  const state = await tracker.get('m');
  const observations = changes.flatMap((c) => trackerChangeObservations(c));
  return { state, observations, health: healthOf(state, clock.now()).status };
}

const failedCheck = (gate?: boolean) => ({ name: 'row-count', kind: 'count', passed: false, summary: '999 != 1000', ...(gate === undefined ? {} : { gate }) });

const CASES: Array<{ event: string; ops: ProgressOperation[]; health: 'unhealthy' | 'degraded'; alarm: string }> = [
  {
    event: 'a phase its reporter failed',
    ops: [{ action: 'start_phase', phaseId: 'validation' }, { action: 'fail_phase', phaseId: 'validation', error: 'disk full' }],
    health: 'unhealthy',
    alarm: 'phase-failed',
  },
  {
    event: 'a failed validation run that is not a gate',
    ops: [{ action: 'record_validation', verdict: 'fail', checks: [failedCheck()] }],
    health: 'degraded',
    alarm: 'validation-failed',
  },
  {
    event: 'a failed check marked as a gate',
    ops: [{ action: 'record_validation', verdict: 'fail', checks: [failedCheck(true)] }],
    health: 'unhealthy',
    alarm: 'validation-gate-failed',
  },
  {
    // the phase shows failed, but the migration is degraded: the phase-failed page must not fire for it
    event: 'a failed validation run that is not a gate, failing the phase it ran in',
    ops: [{ action: 'start_phase', phaseId: 'validation' }, { action: 'record_validation', phaseId: 'validation', verdict: 'fail', checks: [failedCheck()] }],
    health: 'degraded',
    alarm: 'validation-failed',
  },
  {
    event: 'a failed gate, failing the phase it ran in',
    ops: [{ action: 'start_phase', phaseId: 'validation' }, { action: 'record_validation', phaseId: 'validation', verdict: 'fail', checks: [failedCheck(true)] }],
    health: 'unhealthy',
    alarm: 'phase-failed',
  },
  {
    event: 'a failed run that is a gate as a whole',
    ops: [{ action: 'record_validation', verdict: 'fail', gate: true, checks: [failedCheck()] }],
    health: 'unhealthy',
    alarm: 'validation-gate-failed',
  },
];

describe('one event, one severity: tracker alert, handler alert line, spec alarm and health agree', () => {
  it.each(CASES)('$event', async ({ ops, health, alarm }) => {
    const r = await run(ops);
    expect(r.health).toBe(health);
    const expected = failureSeverity(health);
    // the tracker raises one alert, as loud as the health it leaves
    expect(r.state.alerts.map((a) => a.severity)).toEqual([expected]);
    // the loudest alarm the change's metrics trip is that alarm, in the alert's tier
    const tripped = ALARMS.filter((a) => r.observations.some((o) => trips(a, o)));
    const loudest = tripped.sort((a, b) => TIER_RANK[b.severity] - TIER_RANK[a.severity])[0];
    expect(loudest?.id).toBe(alarm);
    expect(loudest?.severity).toBe(ALARM_TIER[expected]);
    // only an unhealthy migration is part of the composite "migration unhealthy"
    expect(tripped.some((a) => a.composite)).toBe(health === 'unhealthy');
    // a handler that sees the same metrics writes an alert line no quieter and no louder than the tracker's alert
    const signals = r.observations.map(alertSignalOf).filter((s) => s !== null);
    if (alarm.startsWith('validation')) expect(Math.max(...signals.map((s) => RANK[s.severity]))).toBe(RANK[expected]);
  });

  it('the breaker the tracker cannot see: the handler line and the alarm are both critical', () => {
    const o: Observation = { metric: 'BreakerTransitions', labels: { Breaker: 'search-primary', ToState: 'open' }, value: 1, mode: 'add' };
    expect(alertSignalOf(o)?.severity).toBe('critical');
    expect(ALARM_TIER[SIGNALS['breaker-open'].severity]).toBe(ALARMS.find((a) => a.id === 'breaker-open')!.severity);
  });

  it('every handler signal routes in the tier of the spec alarm of its event', () => {
    for (const [id, s] of Object.entries(SIGNALS)) {
      const alarm = ALARMS.find((a) => a.id === id);
      if (alarm) expect(`${id}: ${ALARM_TIER[s.severity]}`).toBe(`${id}: ${alarm.severity}`);
    }
  });

  it('the validation engine and the tracker apply one gate rule', () => {
    expect(failsGate({ verdict: 'fail', checks: [{ passed: false }, { passed: true, gate: true }] })).toBe(false);
    expect(failsGate({ verdict: 'fail', checks: [{ passed: false, gate: true }] })).toBe(true);
    expect(failsGate({ verdict: 'fail', gate: true, checks: [{ passed: false }] })).toBe(true);
    expect(failsGate({ verdict: 'pass', gate: true, checks: [{ passed: true, gate: true }] })).toBe(false);
  });
});
