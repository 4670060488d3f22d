import {
  activityCounts,
  changeLines,
  durationCell,
  etaLine,
  foldedLine,
  LEVEL_LABEL,
  metricRows,
  pct,
  phaseNote,
  progressLine,
  sparkline,
  statusLabel,
  trendRows,
} from './format';
import { when } from './time-format';
import type { StatusReport } from './model';

/** Escape text for a Markdown table cell / inline run: pipes, emphasis, links, HTML-ish characters, newlines (not `_`: GFM ignores it inside words). */
export function mdText(s: string): string {
  return s
    .replace(/\r?\n/g, ' ')
    .replace(/([\\`*[\]|<>])/g, '\\$1')
    .trim();
}

function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.map(mdText).join(' | ')} |`)];
}

/** The report as GitHub-flavoured Markdown (also the plain-text part of the email). */
export function renderMarkdown(r: StatusReport): string {
  const s = r.summary;
  const out: string[] = [];
  out.push(`# Migration status: ${mdText(r.name)}`, '');
  out.push(`Report \`${r.reportId}\`, generated ${when(r.generatedAt)}.`, '');
  out.push(`- **Status:** ${statusLabel(s.status)}${s.paused ? ' (paused)' : ''} · **Health:** ${s.health}`);
  out.push(`- **Progress:** ${progressLine(r)}`);
  out.push(`- **Estimated completion:** ${etaLine(r)}`);
  out.push(`- **Planned completion:** ${when(s.plannedCompletion)}`);
  if (s.currentPhases.length) out.push(`- **Running:** ${s.currentPhases.map(mdText).join(', ')}`);
  out.push('');

  out.push(`## Risks (${r.risks.length})`, '');
  if (!r.risks.length) out.push('No risks found.', '');
  r.risks.forEach((k, i) => {
    out.push(`${i + 1}. **[${LEVEL_LABEL[k.level]}] ${mdText(k.title)}**`);
    out.push(`   - Why: ${mdText(k.why)}`);
    out.push(`   - Look at: ${mdText(k.lookAt)}`);
  });
  if (r.risks.length) out.push('');

  const changes = changeLines(r);
  if (changes.length) {
    out.push('## Since the last report', '', ...changes.map((l) => `- ${mdText(l)}`), '');
  }

  const trend = trendRows(r);
  if (trend.length) {
    const w = Math.max(...trend.map((t) => t.label.length));
    out.push(`## Trend (since ${when(r.activity.windowStart)})`, '', '```text', ...trend.map((t) => `${t.label.padEnd(w)}  ${sparkline(t.values)}  ${t.summary}`), '```', '');
  }

  out.push('## Phases', '');
  out.push(
    ...table(
      ['Phase', 'Status', 'Progress', 'Actual / estimated', 'Notes'],
      r.phases.map((p) => [p.name, statusLabel(p.status), pct(p.progress), durationCell(p), phaseNote(p)]),
    ),
    '',
  );

  const o = r.alerts.open;
  out.push('## Open alerts', '');
  out.push(`critical ${o.critical} · error ${o.error} · warning ${o.warning} · info ${o.info}`, '');
  if (r.alerts.items.length) {
    out.push(...table(['Severity', 'Alert', 'Raised', 'Message'], r.alerts.items.map((a) => [a.severity, a.id, when(a.createdAt), a.message])), '');
  }

  if (r.metrics) {
    out.push('## Metrics', '', ...table(['Metric', 'Value'], metricRows(r.metrics)), '');
  }

  if (r.validation) {
    const v = r.validation;
    const passed = v.checks.filter((c) => c.passed).length;
    out.push('## Validation', '');
    out.push(`Last run ${when(v.at)}${v.runId ? ` (${mdText(v.runId)})` : ''}: **${v.verdict.toUpperCase()}**, ${passed}/${v.checks.length} checks passed.`, '');
    if (v.checks.length) {
      out.push(...table(['Check', 'Kind', 'Result', 'Summary'], v.checks.map((c) => [c.name, c.kind, c.passed ? 'pass' : 'FAIL', c.summary])), '');
    }
  }

  out.push(`## Recent activity (since ${when(r.activity.windowStart)})`, '');
  if (!r.activity.total) out.push('No activity in this window.', '');
  else {
    out.push(`${r.activity.total} events: ${mdText(activityCounts(r))}.`, '');
    out.push('Failures, pauses, acknowledgements and phase changes first:', '');
    out.push(...table(['Time', 'Actor', 'Action', 'Message'], r.activity.recent.map((a) => [when(a.at), a.actor, a.action, a.message])), '');
    const folded = foldedLine(r);
    if (folded) out.push(`_${mdText(folded)}._`, '');
  }
  return out.join('\n');
}
