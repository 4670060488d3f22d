/**
 * One message per destination and dispatch: every due notice of that destination grouped (a burst leaves as one
 * message), with counts, the runbook and the dashboard/report links. Channels render it (SNS subject and body,
 * Slack text, e-mail); the attributes let subscriptions filter (severity, migration, phase).
 */
import { ALERT_SEVERITIES, type AlertIncident, type AlertNotice, type AlertSeverity, type MigrationState, type NoticeDestination } from '../model';
import type { AlertRouting } from './config';
import type { ReportMessage } from '../report/ports';

export interface AlertMessage {
  id: string;
  destination: NoticeDestination;
  migrationId: string;
  /** The highest severity among the grouped notices. */
  severity: AlertSeverity;
  kind: 'alert' | 'reminder' | 'resolved' | 'mixed';
  /** One line, plain text, ≤ 100 characters (SNS e-mail subjects allow no more). */
  subject: string;
  /** Plain text: one paragraph per incident, then the links. */
  text: string;
  /** Message attributes (SNS filter policies, log labels). */
  attributes: { severity: AlertSeverity; migration: string; phase: string; kind: string; destination: NoticeDestination };
  noticeIds: string[];
  /** Alerts raised under the grouped incidents (deduplicated included). */
  alertCount: number;
}

const rank = (s: AlertSeverity) => ALERT_SEVERITIES.indexOf(s);
const link = (url: string | undefined, migrationId: string) => url?.replace(/\{migration\}/g, encodeURIComponent(migrationId));
const clock = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

export function composeMessage(s: MigrationState, destination: NoticeDestination, notices: readonly AlertNotice[], cfg: AlertRouting, now: number): AlertMessage {
  const incidents = new Map<string, AlertIncident>();
  for (const o of notices) {
    const inc = s.notifications?.incidents.find((i) => i.key === o.incidentKey);
    if (inc) incidents.set(inc.key, inc);
  }
  const list = [...incidents.values()].sort((a, b) => rank(b.severity) - rank(a.severity) || a.firstAt - b.firstAt);
  const kinds = new Set(notices.map((o) => o.kind));
  const kind: AlertMessage['kind'] = kinds.size === 1 ? [...kinds][0]! : 'mixed';
  const severity = list.reduce<AlertSeverity>((m, i) => (rank(i.severity) > rank(m) ? i.severity : m), 'info');
  const alertCount = list.reduce((n, i) => n + i.count, 0);
  const phases = [...new Set(list.map((i) => i.phaseId).filter((p): p is string => !!p))];
  const head = list[0];
  const label = kind === 'resolved' ? 'RESOLVED' : kind === 'reminder' ? `${severity.toUpperCase()}, UNACKNOWLEDGED` : severity.toUpperCase();
  const what = list.length === 1 && head ? `${head.message}${head.count > 1 ? ` (x${head.count})` : ''}` : `${list.length} alerts (${alertCount} in all)`;
  const subject = oneLine(`[${label}] ${s.name}: ${what}`, 100);

  const lines: string[] = [`Migration "${s.name}" (${s.id})`, ''];
  for (const i of list) {
    const notice = notices.find((o) => o.incidentKey === i.key)!;
    const state =
      notice.kind === 'resolved'
        ? `RESOLVED: ${i.closedBy ?? i.state}`
        : notice.kind === 'reminder'
          ? `still unacknowledged after ${Math.round((now - i.firstAt) / 60000)} min (reminder ${i.reminders})`
          : 'open';
    lines.push(`${i.severity.toUpperCase()}${i.phaseId ? ` in phase ${i.phaseId}` : ''}: ${i.message}`);
    lines.push(`  ${i.count === 1 ? 'Raised once' : `Raised ${i.count} times`}, first ${clock(i.firstAt)}, last ${clock(i.lastAt)}; ${state}. Alert ${i.alertIds.at(-1)}.`);
  }
  lines.push('');
  const runbook = link(cfg.links.runbookUrl, s.id);
  const dashboard = link(cfg.links.dashboardUrl, s.id);
  const report = link(cfg.links.reportUrl, s.id);
  if (kind !== 'resolved') lines.push('Acknowledge the alert on the dashboard (or POST {"action":"acknowledge_alert"}) to stop reminders.');
  if (runbook) lines.push(`Runbook: ${runbook}`);
  if (dashboard) lines.push(`Dashboard: ${dashboard}`);
  if (report) lines.push(`Report: ${report}`);
  return {
    id: `${s.id}/${notices.map((o) => o.id).join('+')}`,
    destination,
    migrationId: s.id,
    severity,
    kind,
    subject,
    text: lines.join('\n').trimEnd(),
    attributes: { severity, migration: s.id, phase: phases.length === 1 ? phases[0]! : phases.length ? 'several' : 'none', kind, destination },
    noticeIds: notices.map((o) => o.id),
    alertCount,
  };
}

/** Printable ASCII on one line, cut to `max` with an ellipsis: what SNS accepts as an e-mail subject. */
export function oneLine(s: string, max: number): string {
  const flat = s.replace(/[\r\n\t]+/g, ' ').replace(/[^\x20-\x7e]/g, '?').replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 3)}...`;
}

/** The message as the report notifiers take it (Slack webhook, SMTP): the same subject and text, HTML as preformatted text. */
export function asReportMessage(m: AlertMessage): ReportMessage {
  const esc = m.text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const icon = m.kind === 'resolved' ? ':white_check_mark:' : m.severity === 'critical' || m.severity === 'error' ? ':rotating_light:' : ':warning:';
  return { reportId: `alert-${m.id}`, migrationId: m.migrationId, subject: m.subject, text: m.text, html: `<pre style="font-family:monospace;white-space:pre-wrap">${esc}</pre>`, short: `${icon} *${m.subject}*\n${m.text}`, links: [] };
}
