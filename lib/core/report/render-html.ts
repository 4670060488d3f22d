import {
  activityCounts,
  changeLines,
  durationCell,
  etaLine,
  LEVEL_LABEL,
  metricRows,
  pct,
  phaseNote,
  progressLine,
  statusLabel,
  subjectOf,
} from './format';
import { when } from './time-format';
import type { StatusReport } from './model';
import type { RiskLevel } from './risks';

/**
 * The report as one self-contained HTML document that reads well in mail clients: table layout, inline
 * styles only (clients drop <style> blocks and external CSS), no scripts, no images, no remote resources.
 */

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const FONT = "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;";
const WRAP = 'word-break:break-word;overflow-wrap:anywhere;';
const CELL = `${WRAP}padding:6px 8px;border-bottom:1px solid #e3e6ea;vertical-align:top;font-size:13px;color:#1f2328;`;
const HEAD = `${WRAP}padding:6px 8px;border-bottom:2px solid #c9ced4;text-align:left;font-size:12px;color:#57606a;text-transform:uppercase;`;
const H2 = `margin:24px 0 8px;font-size:17px;color:#1f2328;${FONT}`;

const STATUS_COLOR: Record<string, string> = {
  completed: '#1a7f37',
  in_progress: '#0969da',
  paused: '#9a6700',
  failed: '#cf222e',
  rolled_back: '#9a6700',
  pending: '#57606a',
  skipped: '#57606a',
  not_started: '#57606a',
  healthy: '#1a7f37',
  degraded: '#9a6700',
  unhealthy: '#cf222e',
};
const LEVEL_COLOR: Record<RiskLevel, string> = { critical: '#cf222e', high: '#bc4c00', medium: '#9a6700' };
const SEVERITY_COLOR: Record<string, string> = { critical: '#cf222e', error: '#bc4c00', warning: '#9a6700', info: '#57606a' };

function badge(text: string, color: string): string {
  return `<span style="display:inline-block;white-space:nowrap;padding:1px 7px;border-radius:10px;background:${color};color:#ffffff;font-size:12px;font-weight:600;">${esc(text)}</span>`;
}

function bar(percent: number): string {
  const w = Math.max(0, Math.min(100, Math.round(percent)));
  // Two cells of a fixed-width table: renders in Outlook, Gmail and Apple Mail without CSS widths on divs.
  const done = w > 0 ? `<td width="${w}%" style="background:#2da44e;height:8px;font-size:0;line-height:0;">&nbsp;</td>` : '';
  const left = w < 100 ? `<td width="${100 - w}%" style="background:#d0d7de;height:8px;font-size:0;line-height:0;">&nbsp;</td>` : '';
  return `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:6px 0 2px;"><tr>${done}${left}</tr></table>`;
}

function table(head: string[], rows: string[][], rawCols: number[] = []): string {
  const th = head.map((h) => `<th style="${HEAD}">${esc(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c, i) => `<td style="${CELL}">${rawCols.includes(i) ? c : esc(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;${FONT}">\n<tr>${th}</tr>\n${trs}\n</table>`;
}

const p = (html: string, extra = '') => `<p style="margin:4px 0;font-size:14px;color:#1f2328;${FONT}${extra}">${html}</p>`;

export function renderHtml(r: StatusReport): string {
  const s = r.summary;
  const parts: string[] = [];
  parts.push(`<h1 style="margin:0 0 4px;font-size:22px;color:#1f2328;${FONT}">Migration status: ${esc(r.name)}</h1>`);
  parts.push(p(`Report <code>${esc(r.reportId)}</code>, generated ${esc(when(r.generatedAt))}`, 'color:#57606a;font-size:12px;'));
  parts.push(
    p(
      `${badge(statusLabel(s.status), STATUS_COLOR[s.status] ?? '#57606a')} ${badge(`health: ${s.health}`, STATUS_COLOR[s.health] ?? '#57606a')}${
        s.paused ? ` ${badge('paused', STATUS_COLOR['paused']!)}` : ''
      }`,
      'margin-top:10px;',
    ),
  );
  parts.push(bar(s.overallProgress));
  parts.push(p(`<strong>Progress:</strong> ${esc(progressLine(r))}`));
  parts.push(p(`<strong>Estimated completion:</strong> ${esc(etaLine(r))}`));
  parts.push(p(`<strong>Planned completion:</strong> ${esc(when(s.plannedCompletion))}`));
  if (s.currentPhases.length) parts.push(p(`<strong>Running:</strong> ${esc(s.currentPhases.join(', '))}`));

  parts.push(`<h2 style="${H2}">Risks (${r.risks.length})</h2>`);
  if (!r.risks.length) parts.push(p('No risks found.'));
  for (const k of r.risks) {
    parts.push(
      `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:0 0 8px;${FONT}"><tr>` +
        `<td style="border-left:4px solid ${LEVEL_COLOR[k.level]};padding:6px 10px;background:#f6f8fa;font-size:13px;color:#1f2328;">` +
        `${badge(LEVEL_LABEL[k.level], LEVEL_COLOR[k.level])} <strong>${esc(k.title)}</strong><br>` +
        `<span style="color:#57606a;">Why:</span> ${esc(k.why)}<br>` +
        `<span style="color:#57606a;">Look at:</span> ${esc(k.lookAt)}</td></tr></table>`,
    );
  }

  const changes = changeLines(r);
  if (changes.length) {
    parts.push(`<h2 style="${H2}">Since the last report</h2>`);
    parts.push(`<ul style="margin:0;padding-left:20px;font-size:14px;color:#1f2328;${FONT}">${changes.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>`);
  }

  parts.push(`<h2 style="${H2}">Phases</h2>`);
  parts.push(
    table(
      ['Phase', 'Status', 'Progress', 'Actual / estimated', 'Notes'],
      r.phases.map((x) => [esc(x.name), badge(statusLabel(x.status), STATUS_COLOR[x.status] ?? '#57606a'), esc(pct(x.progress)), esc(durationCell(x)), esc(phaseNote(x))]),
      [0, 1, 2, 3, 4],
    ),
  );

  const o = r.alerts.open;
  parts.push(`<h2 style="${H2}">Open alerts</h2>`);
  parts.push(
    p(
      (['critical', 'error', 'warning', 'info'] as const)
        .map((sev) => `<span style="color:${SEVERITY_COLOR[sev]};font-weight:600;">${sev} ${o[sev]}</span>`)
        .join(' &middot; '),
    ),
  );
  if (r.alerts.items.length) {
    parts.push(
      table(
        ['Severity', 'Alert', 'Raised', 'Message'],
        r.alerts.items.map((a) => [badge(a.severity, SEVERITY_COLOR[a.severity]!), esc(a.id), esc(when(a.createdAt)), esc(a.message)]),
        [0, 1, 2, 3],
      ),
    );
  }

  if (r.metrics) {
    parts.push(`<h2 style="${H2}">Metrics</h2>`);
    parts.push(table(['Metric', 'Value'], metricRows(r.metrics)));
  }

  if (r.validation) {
    const v = r.validation;
    const passed = v.checks.filter((c) => c.passed).length;
    parts.push(`<h2 style="${H2}">Validation</h2>`);
    parts.push(
      p(
        `Last run ${esc(when(v.at))}${v.runId ? ` (${esc(v.runId)})` : ''}: ${badge(v.verdict.toUpperCase(), v.verdict === 'pass' ? '#1a7f37' : '#cf222e')} ${passed}/${v.checks.length} checks passed`,
      ),
    );
    if (v.checks.length) {
      parts.push(
        table(
          ['Check', 'Kind', 'Result', 'Summary'],
          v.checks.map((c) => [esc(c.name), esc(c.kind), c.passed ? badge('pass', '#1a7f37') : badge('FAIL', '#cf222e'), esc(c.summary)]),
          [0, 1, 2, 3],
        ),
      );
    }
  }

  parts.push(`<h2 style="${H2}">Recent activity (since ${esc(when(r.activity.windowStart))})</h2>`);
  if (!r.activity.total) parts.push(p('No activity in this window.'));
  else {
    parts.push(p(`${r.activity.total} events: ${esc(activityCounts(r))}.`));
    if (r.activity.recent.length < r.activity.total) parts.push(p(`The latest ${r.activity.recent.length}:`, 'color:#57606a;font-size:12px;'));
    parts.push(table(['Time', 'Actor', 'Action', 'Message'], r.activity.recent.map((a) => [when(a.at), a.actor, a.action, a.message])));
  }

  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(subjectOf(r))}</title>`,
    '</head>',
    `<body style="margin:0;padding:0;background:#eef1f4;">`,
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;background:#eef1f4;"><tr><td align="center" style="padding:16px 8px;">`,
    `<table role="presentation" width="720" cellpadding="0" cellspacing="0" style="border-collapse:collapse;max-width:720px;width:100%;background:#ffffff;border:1px solid #d0d7de;"><tr><td style="padding:20px 16px;${WRAP}${FONT}">`,
    parts.join('\n'),
    '</td></tr></table>',
    '</td></tr></table>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
