/**
 * Alert routing on a runtime: the severity rules (one setting per environment, `ALERT_ROUTING`) and the
 * channels this environment can reach, from variables:
 * - AWS: `ALERT_TOPIC_ARN` (the stack's KMS-encrypted alert topic: on-call e-mail subscriptions) for `email`,
 *   `ALERT_PAGER_TOPIC_ARN` for `pager`;
 * - Slack (every runtime): `ALERT_SLACK_WEBHOOK_URL`, else `SLACK_WEBHOOK_URL`, else the Secrets Manager secret
 *   `SLACK_WEBHOOK_SECRET_ARN` names (the alarm notifier's secret);
 * - SMTP (local): `ALERT_EMAIL_TO` / `ALERT_PAGER_TO` with `ALERT_EMAIL_FROM` and `SMTP_HOST` (`SMTP_PORT`,
 *   `SMTP_USER`, `SMTP_PASSWORD`).
 * A destination no channel reaches is dropped from the rules (the dashboard still shows the alert).
 */
import * as z from '../core/zod';
import { DESTINATIONS, resolveRouting, alertRoutingSchema, type AlertRouting, type Destination } from '../core/alerts/config';
import { AlertDispatcher, type AlertChannel } from '../core/alerts/dispatcher';
import { asReportMessage } from '../core/alerts/message';
import type { ReportNotifier } from '../core/report/ports';
import { ALERT_SEVERITIES } from '../core/model';
import type { Tracker } from '../core/tracker/service';
import { formatZodError } from '../core/validation-util';
import { EnvError, envJson, envList, parseEnv } from './env';
import { secretFromEnv } from './secrets';

const topicArn = z.string().check(z.regex(/^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/, 'an SNS topic ARN'));
const email = z.string().check(z.regex(/^[^\s@<>,]+@[^\s@<>,]+\.[^\s@<>,]+$/, 'an e-mail address'));

export const alertEnvSchema = z.object({
  /** JSON: severity rules, dedup/group/digest/re-notify windows, retry, links (lib/core/alerts/config.ts). */
  ALERT_ROUTING: z.optional(envJson),
  ALERT_TOPIC_ARN: z.optional(topicArn),
  ALERT_PAGER_TOPIC_ARN: z.optional(topicArn),
  ALERT_EMAIL_TO: z.optional(z.pipe(envList, z.array(email))),
  ALERT_PAGER_TO: z.optional(z.pipe(envList, z.array(email))),
  ALERT_EMAIL_FROM: z.optional(z.string().check(z.minLength(3))),
  ALERT_DASHBOARD_URL: z.optional(z.url()),
  ALERT_REPORT_URL: z.optional(z.url()),
  ALERT_RUNBOOK_URL: z.optional(z.url()),
  SMTP_HOST: z.optional(z.string().check(z.minLength(1))),
  SMTP_PORT: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(65535)), 587),
  SMTP_SECURE: z.optional(z.enum(['true', 'false'])),
  SMTP_USER: z.optional(z.string()),
});

export interface AlertComposition {
  routing: AlertRouting;
  channels: AlertChannel[];
  /** One line per destination for start-up banners: where each goes, or why not. */
  describe(): string[];
}

/**
 * The channels and rules this environment configures (no channel at all → every alert stays on the dashboard).
 * Secrets (webhook URL, SMTP password) are read when a message is sent, so a secret store that is down fails
 * that delivery (booked, retried), never the tracker.
 */
export function alertsFromEnv(env: NodeJS.ProcessEnv, who: string): AlertComposition {
  const e = parseEnv(alertEnvSchema, env, who);
  const parsed = alertRoutingSchema.safeParse(e.ALERT_ROUTING ?? {});
  if (!parsed.success) throw new EnvError(`${who}: bad environment: ALERT_ROUTING: ${formatZodError(parsed.error)}`);
  const input = parsed.data;
  const channels: AlertChannel[] = [];
  if (e.ALERT_TOPIC_ARN) channels.push(snsChannel(e.ALERT_TOPIC_ARN, 'email'));
  if (e.ALERT_PAGER_TOPIC_ARN) channels.push(snsChannel(e.ALERT_PAGER_TOPIC_ARN, 'pager'));
  if (env['ALERT_SLACK_WEBHOOK_URL'] || env['SLACK_WEBHOOK_URL'] || env['SLACK_WEBHOOK_SECRET_ARN']) {
    channels.push(
      notifierChannel('slack', 'slack webhook', async () => {
        const { SlackNotifier, webhookUrlFromSecret } = require('../adapters/slack/slack-notifier') as typeof import('../adapters/slack/slack-notifier');
        const url = env['ALERT_SLACK_WEBHOOK_URL'] || (await secretFromEnv(env, 'SLACK_WEBHOOK_URL', 'SLACK_WEBHOOK_SECRET_ARN', { maxAgeMs: 5 * 60_000 }));
        return new SlackNotifier({ webhookUrl: webhookUrlFromSecret(url ?? ''), label: 'slack webhook' });
      }),
    );
  }
  for (const [destination, to] of [['email', e.ALERT_EMAIL_TO], ['pager', e.ALERT_PAGER_TO]] as const) {
    if (!to?.length) continue;
    if (!e.SMTP_HOST || !e.ALERT_EMAIL_FROM) throw new EnvError(`${who}: bad environment: ALERT_${destination.toUpperCase()}_TO needs SMTP_HOST and ALERT_EMAIL_FROM`);
    const smtp = { host: e.SMTP_HOST, port: e.SMTP_PORT, secure: e.SMTP_SECURE === 'true' || e.SMTP_PORT === 465, user: e.SMTP_USER, from: e.ALERT_EMAIL_FROM, to: [...to] };
    channels.push(notifierChannel(destination, `smtp ${e.SMTP_HOST}:${e.SMTP_PORT} -> ${to.join(', ')}`, async () => smtpNotifier({ ...smtp, password: await secretFromEnv(env, 'SMTP_PASSWORD', 'SMTP_PASSWORD_SECRET_ARN', { maxAgeMs: 5 * 60_000 }) })));
  }
  const available = [...new Set(channels.map((c) => c.destination))];
  const links = { ...input.links, ...(e.ALERT_DASHBOARD_URL ? { dashboardUrl: e.ALERT_DASHBOARD_URL } : {}), ...(e.ALERT_REPORT_URL ? { reportUrl: e.ALERT_REPORT_URL } : {}), ...(e.ALERT_RUNBOOK_URL ? { runbookUrl: e.ALERT_RUNBOOK_URL } : {}) };
  const routing = resolveRouting({ ...input, links }, available);
  return {
    routing,
    channels,
    describe: () =>
      DESTINATIONS.map((d: Destination) => {
        const via = channels.filter((c) => c.destination === d).map((c) => c.label);
        const severities = [...ALERT_SEVERITIES].reverse().filter((s) => routing.rules[s].to.includes(d)).map((s) => (routing.rules[s].mode === 'digest' ? `${s} (digest)` : s));
        return `${d}: ${via.length ? `${via.join(', ')} ← ${severities.join(', ') || 'no severity'}` : 'not configured'}`;
      }),
  };
}

/**
 * Route the tracker's alerts: notices are queued in the commit that raises the alert and sent after it. With
 * `wait` (Lambda: the invocation must not end before it sends) the sending is part of the change's listeners;
 * without (local server) it runs in the background. Either way a failure is booked and retried, never thrown.
 */
export function attachAlerts(tracker: Tracker, c: AlertComposition, o: { wait: boolean; log: (line: string) => void }): AlertDispatcher {
  const d = new AlertDispatcher({ tracker, routing: c.routing, channels: c.channels, log: o.log });
  d.attach(o.wait);
  return d;
}

function snsChannel(topicArn: string, destination: Destination): AlertChannel {
  const { SnsAlertChannel } = require('../adapters/aws/sns-alert-channel') as typeof import('../adapters/aws/sns-alert-channel');
  return new SnsAlertChannel({ topicArn, destination });
}

function notifierChannel(destination: Destination, label: string, make: () => Promise<ReportNotifier>): AlertChannel {
  return { destination, label, send: async (m) => void (await (await make()).send(asReportMessage(m))) };
}

function smtpNotifier(o: import('../adapters/smtp/smtp-notifier').SmtpNotifierOptions): ReportNotifier {
  if (process.env.MM_BUNDLE_OMIT_SMTP === 'true') throw new Error('e-mail over SMTP is not part of this AWS Lambda bundle: on AWS alerts reach e-mail through the alert topic (ALERT_TOPIC_ARN)');
  else {
    const { SmtpNotifier } = require('../adapters/smtp/smtp-notifier') as typeof import('../adapters/smtp/smtp-notifier');
    return new SmtpNotifier(o);
  }
}
