import { buildStatusReport, summarize } from '../../../lib/core/report/model';
import { duration } from '../../../lib/core/report/time-format';
import { HOUR, MIN, Sim, T0 } from './fixture';

const risksOf = (s: Sim, options = {}) => buildStatusReport({ state: s.state, activity: s.activity, now: s.now(), options }).risks;

function copying(): Sim {
  const s = new Sim();
  s.op({ action: 'start_phase', phaseId: 'prep' }).after(60 * MIN);
  s.op({ action: 'complete_phase', phaseId: 'prep' });
  s.op({ action: 'start_phase', phaseId: 'copy', runId: 'run-1' }).after(30 * MIN);
  s.op({ action: 'update_phase', phaseId: 'copy', progress: 15 });
  return s;
}

describe('risks', () => {
  it('flags a phase whose progress has not moved for longer than the stall threshold, saying since when', () => {
    const s = copying();
    const noSlip = { etaSlipPercent: 1000 };
    s.after(29 * MIN);
    expect(risksOf(s, noSlip)).toEqual([]);
    s.after(2 * MIN);
    const [r, ...rest] = risksOf(s, noSlip);
    expect(rest).toEqual([]);
    expect(r).toMatchObject({ id: 'stalled:copy', kind: 'stalled', level: 'high', phaseId: 'copy' });
    expect(r!.why).toContain('No progress for 31 min');
    expect(r!.why).toContain('the limit is 30 min');
    expect(r!.lookAt).toContain('logs');
    // a custom threshold (N minutes)
    expect(risksOf(s, { ...noSlip, thresholds: { stallMinutes: 45 } })).toEqual([]);
  });

  it('flags a phase whose reporter missed its promised update as quiet (stale), not stalled', () => {
    const s = copying();
    s.op({ action: 'update_phase', phaseId: 'copy', progress: 20, nextUpdateSeconds: 300 }).after(6 * MIN);
    const [r] = risksOf(s);
    expect(r).toMatchObject({ id: 'stale:copy', kind: 'stale', level: 'high' });
    expect(r!.why).toContain('promised an update by');
  });

  it('flags failed phases as critical, with the error and what is blocked', () => {
    const s = copying();
    s.op({ action: 'fail_phase', phaseId: 'copy', error: 'disk full on target' });
    const risks = risksOf(s);
    const failed = risks.find((r) => r.kind === 'failed-phase')!;
    expect(failed).toMatchObject({ id: 'failed-phase:copy', level: 'critical' });
    expect(failed.why).toContain('disk full on target');
    expect(failed.why).toContain('Blocked until it is fixed: verify');
  });

  it('flags an ETA slipping past the planned end, and how much it moved since the last report', () => {
    const s = copying();
    const before = buildStatusReport({ state: s.state, activity: s.activity, now: s.now() });
    s.after(3 * HOUR).op({ action: 'update_phase', phaseId: 'copy', progress: 30 });
    const r = buildStatusReport({ state: s.state, activity: s.activity, now: s.now(), previous: summarize(before) });
    const slip = r.risks.find((x) => x.kind === 'eta-slip')!;
    expect(slip).toBeDefined();
    expect(slip.level).toBe('high');
    expect(slip.why).toContain('vs planned');
    expect(slip.why).toMatch(/moved .* later since the last report/);
    expect(slip.why).toContain('× the planned pace');
    // on plan: no slip
    expect(risksOf(copying()).some((x) => x.kind === 'eta-slip')).toBe(false);
  });

  it('flags an error rate over the threshold (critical when over twice the threshold)', () => {
    const s = copying();
    s.op({ action: 'update_metrics', increment: { successfulOperations: 88, failedOperations: 12 } });
    expect(risksOf(s).find((r) => r.kind === 'error-rate')).toMatchObject({ level: 'high', title: 'Error rate 12% is over 10%' });
    s.op({ action: 'update_metrics', increment: { failedOperations: 20 } });
    expect(risksOf(s).find((r) => r.kind === 'error-rate')!.level).toBe('critical');
    expect(risksOf(s, { thresholds: { errorRatePercent: 50 } }).find((r) => r.kind === 'error-rate')).toBeUndefined();
  });

  it('flags failing validation checks by name', () => {
    const s = copying();
    s.op({
      action: 'record_validation',
      verdict: 'fail',
      checks: [
        { name: 'row-count', kind: 'count', passed: true, summary: 'ok' },
        { name: 'checksum', kind: 'hash', passed: false, summary: '3 rows differ' },
      ],
    });
    // not a gate: high (the badge says degraded); a gate check failing: critical (unhealthy)
    expect(risksOf(s).find((r) => r.kind === 'validation')!.level).toBe('high');
    s.op({ action: 'record_validation', verdict: 'fail', checks: [{ name: 'checksum', kind: 'hash', passed: false, summary: '3 rows differ', gate: true }] });
    const v = risksOf(s).find((r) => r.kind === 'validation')!;
    expect(v.level).toBe('critical');
    expect(v.title).toMatch(/a cutover gate/);
    expect(v.why).toContain('checksum (3 rows differ)');
    expect(v.why).not.toContain('row-count');
  });

  it('flags unacknowledged critical alerts until they are acknowledged', () => {
    const s = copying();
    s.op({ action: 'create_alert', severity: 'critical', message: 'replication lag 2h' });
    expect(risksOf(s).find((r) => r.kind === 'critical-alert')!.why).toContain('replication lag 2h');
    s.op({ action: 'acknowledge_alert', alertId: 'A1' });
    expect(risksOf(s).find((r) => r.kind === 'critical-alert')).toBeUndefined();
  });

  it('flags two different run ids reporting on one running phase (from the activity)', () => {
    const s = copying();
    s.op({ action: 'update_phase', phaseId: 'copy', progress: 16 }, 'job', (e) => (e.details = { ...e.details, runId: 'run-1' }));
    expect(risksOf(s).some((r) => r.kind === 'conflict')).toBe(false);
    s.op({ action: 'update_phase', phaseId: 'copy', progress: 17 }, 'cron', (e) => (e.details = { ...e.details, runId: 'run-2' }));
    const c = risksOf(s).find((r) => r.kind === 'conflict')!;
    expect(c).toMatchObject({ id: 'conflict:copy', level: 'critical' });
    expect(c.why).toContain('"run-1", "run-2"');
  });

  it('flags conflict.* entries from the log watcher', () => {
    const s = copying();
    s.activity.push({ at: s.now(), actor: 'log-watcher', action: 'conflict.detected', message: 'two processes migrating phase copy', phaseId: 'copy' });
    const c = risksOf(s).find((r) => r.kind === 'conflict')!;
    expect(c.why).toContain('two processes migrating phase copy');
  });

  it('ranks risks: critical before high before medium, failures first', () => {
    const s = copying();
    s.op({ action: 'update_metrics', increment: { successfulOperations: 85, failedOperations: 15 } });
    s.op({ action: 'create_alert', severity: 'critical', message: 'x' });
    s.after(40 * MIN);
    s.op({ action: 'fail_phase', phaseId: 'copy', error: 'boom' });
    const kinds = risksOf(s).map((r) => `${r.level}:${r.kind}`);
    // a failed migration has no ETA (it waits for a retry or skip), so no ETA-slip risk beside the failure
    expect(kinds).toEqual(['critical:failed-phase', 'critical:critical-alert', 'high:error-rate']);
  });

  it('every risk says why and what to look at', () => {
    const s = copying();
    s.op({ action: 'create_alert', severity: 'critical', message: 'x' });
    s.op({ action: 'update_metrics', increment: { failedOperations: 5 } });
    s.after(5 * HOUR);
    for (const r of risksOf(s)) {
      expect(r.why.length).toBeGreaterThan(10);
      expect(r.lookAt.length).toBeGreaterThan(10);
    }
  });

  it('formats durations for people', () => {
    expect(duration(45 * MIN)).toBe('45 min');
    expect(duration(-3.5 * HOUR)).toBe('3.5 h');
    expect(duration(3 * 24 * HOUR)).toBe('3 days');
    expect(T0).toBeGreaterThan(0);
  });
});
