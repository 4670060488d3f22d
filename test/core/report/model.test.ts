import { renderMarkdown } from '../../../lib/core/report/render-markdown';
import { renderHtml } from '../../../lib/core/report/render-html';
import { buildStatusReport, dayOf, defaultReportId, summarize } from '../../../lib/core/report/model';
import type { ActivityEntry } from '../../../lib/core/model';
import { HOUR, MIN, Sim, T0 } from './fixture';

/** prep done in 50 min, copy started and at 40 % two hours later. */
function midway(): Sim {
  const s = new Sim();
  s.op({ action: 'start_phase', phaseId: 'prep' }).after(50 * MIN);
  s.op({ action: 'complete_phase', phaseId: 'prep' });
  s.op({ action: 'start_phase', phaseId: 'copy' }).after(60 * MIN);
  s.op({ action: 'update_phase', phaseId: 'copy', progress: 20, metadata: { currentTask: 'table orders' } }).after(60 * MIN);
  s.op({ action: 'update_phase', phaseId: 'copy', progress: 40 });
  return s;
}

describe('buildStatusReport', () => {
  it('summarizes status, progress, ETA and the phase table with actual vs estimated durations', () => {
    const s = midway();
    const r = buildStatusReport({ state: s.state, activity: s.activity, now: s.now() });
    expect(r.reportId).toBe('orders-db/2026-03-02');
    expect(r.summary.status).toBe('in_progress');
    expect(r.summary.health).toBe('healthy');
    // weights 60, 240, 60, 30 → (60 + 0.4 * 240) / 390
    expect(r.summary.overallProgress).toBeCloseTo(40, 0);
    expect(r.summary.currentPhases).toEqual(['copy']);
    expect(r.summary.estimate.basis).toBe('observed-rate');
    expect(r.summary.plannedCompletion).toBe(new Date(T0 + 390 * MIN).toISOString());
    const prep = r.phases.find((p) => p.id === 'prep')!;
    expect(prep).toMatchObject({ status: 'completed', actualMinutes: 50, estimatedMinutes: 60, variancePercent: -17 });
    const copy = r.phases.find((p) => p.id === 'copy')!;
    expect(copy).toMatchObject({ status: 'in_progress', progress: 40, actualMinutes: 120, variancePercent: null, currentTask: 'table orders' });
    expect(r.summary.change).toBeNull();
    expect(r.risks).toEqual([]);
    expect(r.metrics).toBeUndefined();
    expect(r.validation).toBeUndefined();
  });

  it('lists the last 24 h of activity, newest first, counting all of it and listing at most activityLines', () => {
    const s = new Sim();
    const old: ActivityEntry = { at: T0 - 25 * HOUR, actor: 'x', action: 'phase.progress', message: 'old' };
    const log: ActivityEntry[] = [old];
    for (let i = 0; i < 30; i++) log.push({ at: T0 + i * MIN, actor: 'job', action: i % 3 ? 'phase.progress' : 'metrics.update', message: `m${i}` });
    const r = buildStatusReport({ state: s.state, activity: log, now: T0 + HOUR, options: { activityLines: 5 } });
    expect(r.activity.total).toBe(30);
    expect(r.activity.byAction).toEqual({ 'phase.progress': 20, 'metrics.update': 10 });
    expect(r.activity.recent).toEqual([]); // routine lines only: folded into one
    expect(r.activity.folded).toEqual({ count: 30, latestAt: new Date(T0 + 29 * MIN).toISOString() });
    expect(r.activity.windowStart).toBe(new Date(T0 + HOUR - 24 * HOUR).toISOString());
  });

  it('lists failures, pauses, acknowledgements and phase changes first, and folds the metric updates into one line', () => {
    const s = new Sim();
    const log: ActivityEntry[] = [];
    const add = (i: number, action: string) => log.push({ at: T0 + i * MIN, actor: 'job', action, message: `${action} ${i}` });
    for (let i = 0; i < 40; i++) add(i, 'metrics.update');
    add(41, 'phase.fail');
    for (let i = 42; i < 80; i++) add(i, i % 2 ? 'phase.progress' : 'metrics.update');
    add(81, 'migration.pause');
    add(82, 'alert.acknowledge');
    add(83, 'phase.start');
    add(84, 'metrics.update');
    const r = buildStatusReport({ state: s.state, activity: log, now: T0 + 2 * HOUR, options: { activityLines: 3 } });
    expect(r.activity.recent.map((a) => a.action)).toEqual(['phase.fail', 'alert.acknowledge', 'migration.pause']);
    expect(r.activity.folded).toEqual({ count: 79, latestAt: new Date(T0 + 84 * MIN).toISOString() });
    expect(renderMarkdown(r)).toMatch(/79 metric and progress updates folded into this line/);
  });

  it('draws the trend as sparklines (Markdown) and tables of bars (HTML) from the history, never SVG or images', () => {
    const s = new Sim();
    const history = Array.from({ length: 48 }, (_, i) => ({ t: new Date(T0 + i * 30 * MIN).toISOString(), overall: i * 2, bytes: i * 1e9, errorRate: i % 5, remainingPlan: 480 - i * 10, eta: new Date(T0 + 30 * HOUR).toISOString() }));
    const r = buildStatusReport({ state: s.state, activity: [], history, now: T0 + 24 * HOUR });
    expect(r.trend!.length).toBeLessThanOrEqual(24);
    expect(r.trend!.at(-1)!.overall).toBe(94);
    const md = renderMarkdown(r);
    expect(md).toMatch(/Progress\s+▁[▁-█]+█\s+2% → 94%/);
    expect(md).toMatch(/Plan left\s+█[▁-█]+▁/);
    const html = renderHtml(r);
    expect(html).toMatch(/data-trend="Progress"/);
    expect(html).not.toMatch(/<svg|<img|<script/i);
  });

  it('takes activity as any iterable, in one pass (a generator works)', () => {
    const s = midway();
    function* gen() {
      yield* s.activity;
    }
    const a = buildStatusReport({ state: s.state, activity: gen(), now: s.now() });
    const b = buildStatusReport({ state: s.state, activity: s.activity, now: s.now() });
    expect(a).toEqual(b);
  });

  it('includes metrics only when asked, and validation results when there are any', () => {
    const s = midway();
    s.op({ action: 'update_metrics', metrics: { totalDataMigrated: 5 * 1024 ** 3, migrationSpeed: 1024 ** 2 }, increment: { successfulOperations: 990, failedOperations: 10 } });
    s.op({ action: 'record_validation', verdict: 'pass', runId: 'v1', checks: [{ name: 'row-count', kind: 'count', passed: true, summary: '1000 = 1000' }] });
    const r = buildStatusReport({ state: s.state, activity: s.activity, now: s.now(), options: { includeMetrics: true } });
    expect(r.metrics).toMatchObject({ totalDataMigrated: 5 * 1024 ** 3, errorRate: 1, successfulOperations: 990, updatedAt: new Date(s.now()).toISOString() });
    expect(r.validation).toMatchObject({ verdict: 'pass', runId: 'v1', checks: [{ name: 'row-count', passed: true }] });
    expect(buildStatusReport({ state: s.state, activity: [], now: s.now() }).metrics).toBeUndefined();
  });

  it('lists open alerts most severe first and counts them by severity', () => {
    const s = midway();
    s.op({ action: 'create_alert', severity: 'warning', message: 'slow disk' });
    s.op({ action: 'create_alert', severity: 'critical', message: 'target down' });
    s.op({ action: 'create_alert', severity: 'info', message: 'fyi' });
    s.op({ action: 'acknowledge_alert', alertId: 'A3' }, 'alice');
    const r = buildStatusReport({ state: s.state, activity: s.activity, now: s.now() });
    expect(r.alerts.open).toEqual({ info: 0, warning: 1, error: 0, critical: 1 });
    expect(r.alerts.items.map((a) => a.message)).toEqual(['target down', 'slow disk']);
  });

  it('says how it moved since the previous report', () => {
    const s = midway();
    const first = buildStatusReport({ state: s.state, activity: s.activity, now: s.now() });
    s.after(30 * MIN).op({ action: 'update_phase', phaseId: 'copy', progress: 100 });
    s.op({ action: 'complete_phase', phaseId: 'copy' });
    s.op({ action: 'start_phase', phaseId: 'verify' });
    s.at(T0 + 24 * HOUR);
    const second = buildStatusReport({ state: s.state, activity: s.activity, now: s.now(), previous: summarize(first) });
    expect(second.reportId).toBe('orders-db/2026-03-03');
    const c = second.summary.change!;
    expect(c.previousReportId).toBe('orders-db/2026-03-02');
    expect(c.statusChanged).toBe(false);
    expect(c.progressDelta).toBeCloseTo(((60 + 240) / 390) * 100 - first.summary.overallProgress, 1);
    expect(c.phasesCompleted).toEqual(['copy']);
    expect(c.phasesStarted).toEqual(['verify']);
    expect(c.etaShiftMs).not.toBeNull();
    // verify started, never moved for ~22 h: a new stall risk
    expect(c.newRisks).toContain('stalled:verify');
  });

  it('keys reports by migration and day, in the chosen time zone', () => {
    const late = Date.UTC(2026, 2, 2, 23, 30);
    expect(defaultReportId('m1', late)).toBe('m1/2026-03-02');
    expect(defaultReportId('m1', late, 'Europe/Berlin')).toBe('m1/2026-03-03');
    expect(dayOf(late, 'America/New_York')).toBe('2026-03-02');
    const s = new Sim();
    expect(buildStatusReport({ state: s.state, activity: [], now: late, options: { reportId: 'm1/milestone-1' } }).reportId).toBe('m1/milestone-1');
  });

  it('reports a migration that has not started: no ETA, no planned end, no risks', () => {
    const s = new Sim();
    const r = buildStatusReport({ state: s.state, activity: s.activity, now: s.now() });
    expect(r.summary).toMatchObject({ status: 'not_started', overallProgress: 0, plannedCompletion: null });
    expect(r.summary.estimate.estimatedCompletion).toBeNull();
    expect(r.risks).toEqual([]);
  });
});
