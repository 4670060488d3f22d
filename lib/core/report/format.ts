import type { StatusReport } from './model';
import { when, duration } from './time-format';
import { formatRemaining } from '../progress';
import type { RiskLevel } from './risks';

/** Formatting shared by the renderers, so Markdown, HTML, email subject and Slack say the same thing. */

export const STATUS_LABEL: Record<string, string> = {
  not_started: 'not started',
  in_progress: 'in progress',
  paused: 'paused',
  completed: 'completed',
  failed: 'failed',
  rolled_back: 'rolled back',
  pending: 'pending',
  skipped: 'skipped',
};
export const statusLabel = (s: string) => STATUS_LABEL[s] ?? s;

export const LEVEL_LABEL: Record<RiskLevel, string> = { critical: 'CRITICAL', high: 'HIGH', medium: 'MEDIUM' };


export const pct = (n: number) => `${Math.round(n * 100) / 100}%`;

export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function minutesLabel(m: number | null): string {
  if (m === null) return '—';
  return m >= 90 ? `${Math.round(m / 6) / 10} h` : `${Math.round(m)} min`;
}

/** `12 min / 30 min (−60%)` */
export function durationCell(p: StatusReport['phases'][number]): string {
  const v = p.variancePercent === null ? '' : ` (${p.variancePercent > 0 ? '+' : ''}${p.variancePercent}%)`;
  return `${minutesLabel(p.actualMinutes)} / ${minutesLabel(p.estimatedMinutes)}${v}`;
}

export function phaseNote(p: StatusReport['phases'][number]): string {
  const notes: string[] = [];
  if (p.stalled) notes.push('stalled');
  if (p.stale) notes.push('reporter quiet');
  if (p.currentTask) notes.push(p.currentTask);
  if (p.error) notes.push(`error: ${p.error}`);
  if (p.skipReason) notes.push(`skipped: ${p.skipReason}`);
  return notes.join('; ');
}

/** One line about the ETA, with how it moved. */
export function etaLine(r: StatusReport): string {
  const e = r.summary.estimate;
  if (e.basis === 'completed') return `completed ${when(r.summary.completedAt)}`;
  if (!e.estimatedCompletion) return `none: ${e.reason ?? 'no progress observed yet'}`;
  const shift = r.summary.change?.etaShiftMs;
  const moved = shift === null || shift === undefined ? '' : Math.abs(shift) < 60000 ? ', unchanged since the last report' : `, ${duration(shift)} ${shift > 0 ? 'later' : 'earlier'} than the last report`;
  const left = e.remainingMs !== null && e.remainingMs !== undefined ? `remaining ${formatRemaining(e.remainingMs)}${e.uncertaintyMs ? ` (± ${formatRemaining(e.uncertaintyMs)})` : ''}, ` : '';
  return `${left}${when(e.estimatedCompletion)} (confidence ${e.confidence}${moved})`;
}

export function progressLine(r: StatusReport): string {
  const c = r.summary.change;
  if (!c) return pct(r.summary.overallProgress);
  const d = c.progressDelta;
  return `${pct(r.summary.overallProgress)} (${d >= 0 ? '+' : ''}${d} pts since ${when(c.since)})`;
}

/** Bullet lines for "since the last report" (empty without a previous report). */
export function changeLines(r: StatusReport): string[] {
  const c = r.summary.change;
  if (!c) return [];
  const lines: string[] = [];
  if (c.statusChanged) lines.push(`Status changed from ${statusLabel(c.statusBefore)} to ${statusLabel(r.summary.status)}.`);
  lines.push(`Progress moved ${c.progressDelta >= 0 ? '+' : ''}${c.progressDelta} percentage points.`);
  if (c.etaShiftMs !== null && Math.abs(c.etaShiftMs) >= 60000) lines.push(`ETA moved ${duration(c.etaShiftMs)} ${c.etaShiftMs > 0 ? 'later' : 'earlier'}.`);
  if (c.phasesStarted.length) lines.push(`Started: ${c.phasesStarted.join(', ')}.`);
  if (c.phasesCompleted.length) lines.push(`Completed: ${c.phasesCompleted.join(', ')}.`);
  if (c.phasesFailed.length) lines.push(`Failed: ${c.phasesFailed.join(', ')}.`);
  if (c.newRisks.length) lines.push(`New risks: ${c.newRisks.join(', ')}.`);
  if (c.resolvedRisks.length) lines.push(`Risks gone: ${c.resolvedRisks.join(', ')}.`);
  return lines;
}

export function subjectOf(r: StatusReport): string {
  const risks = r.risks.length ? ` · ${r.risks.length} risk${r.risks.length === 1 ? '' : 's'}` : '';
  return `[Migration] ${r.name}: ${pct(r.summary.overallProgress)} · ${statusLabel(r.summary.status)}${risks} (${r.generatedAt.slice(0, 10)})`;
}

export function metricRows(m: NonNullable<StatusReport['metrics']>): Array<[string, string]> {
  const total = m.successfulOperations + m.failedOperations;
  return [
    ['Data migrated', bytes(m.totalDataMigrated)],
    ['Speed', `${bytes(m.migrationSpeed)}/s`],
    ['Error rate', pct(m.errorRate)],
    ['Operations', `${m.successfulOperations} ok, ${m.failedOperations} failed (${total} total)`],
    ['Average operation time', `${m.averageOperationTime} ms`],
    ['CPU / memory', `${pct(m.resourceUtilization.cpu)} / ${pct(m.resourceUtilization.memory)}`],
    ['Cost (actual / estimated)', `${m.costMetrics.actualCost} / ${m.costMetrics.estimatedCost}`],
    ['Metrics as of', when(m.updatedAt)],
  ];
}

export function activityCounts(r: StatusReport, top = 8): string {
  const entries = Object.entries(r.activity.byAction);
  const shown = entries.slice(0, top).map(([k, v]) => `${k} ${v}`);
  if (entries.length > top) shown.push(`${entries.length - top} more kinds`);
  return shown.join(', ');
}
