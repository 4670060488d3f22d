import { etaLine, LEVEL_LABEL, progressLine, statusLabel, subjectOf } from './format';
import type { StatusReport } from './model';
import type { ReportMessage } from './ports';
import { renderHtml } from './render-html';
import { renderJson } from './render-json';
import { renderMarkdown } from './render-markdown';

export const REPORT_FORMATS = ['markdown', 'html', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export const FORMAT_INFO: Record<ReportFormat, { ext: string; contentType: string; render: (r: StatusReport) => string }> = {
  markdown: { ext: 'md', contentType: 'text/markdown; charset=utf-8', render: renderMarkdown },
  html: { ext: 'html', contentType: 'text/html; charset=utf-8', render: renderHtml },
  json: { ext: 'json', contentType: 'application/json; charset=utf-8', render: renderJson },
};

export function render(r: StatusReport, format: ReportFormat): string {
  return FORMAT_INFO[format].render(r);
}

/** Slack mrkdwn needs only &, < and > escaped. */
const slackEsc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A few lines for chat: headline numbers and the top risks. */
export function renderShort(r: StatusReport, links: string[] = []): string {
  const s = r.summary;
  const lines = [
    `*Migration ${slackEsc(r.name)}*: ${statusLabel(s.status)}, health ${s.health}`,
    `Progress ${slackEsc(progressLine(r))} · ETA ${slackEsc(etaLine(r))}`,
  ];
  if (r.risks.length) {
    lines.push(`*Risks (${r.risks.length})*`);
    for (const k of r.risks.slice(0, 5)) lines.push(`• [${LEVEL_LABEL[k.level]}] ${slackEsc(k.title)}`);
    if (r.risks.length > 5) lines.push(`• … and ${r.risks.length - 5} more`);
  } else lines.push('No risks found.');
  for (const l of links) lines.push(`Full report: ${slackEsc(l)}`);
  return lines.join('\n');
}

/** Everything a notifier needs, rendered once. */
export function toMessage(r: StatusReport, links: string[] = []): ReportMessage {
  return {
    reportId: r.reportId,
    migrationId: r.migrationId,
    subject: subjectOf(r),
    text: renderMarkdown(r),
    html: renderHtml(r),
    short: renderShort(r, links),
    links,
  };
}
