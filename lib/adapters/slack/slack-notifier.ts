import * as z from '../../core/zod';
import type { NotifyResult, ReportMessage, ReportNotifier } from '../../core/report/ports';

export interface SlackNotifierOptions {
  /** Incoming-webhook URL: a secret (whoever has it can post). From the environment or a secret store; never logged. */
  webhookUrl: string;
  /** Shown in results instead of the URL, e.g. `#migration`. */
  label?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Posts the short report to a Slack incoming webhook (mrkdwn section). Errors never contain the URL. */
export class SlackNotifier implements ReportNotifier {
  readonly channel = 'slack';

  constructor(private readonly opts: SlackNotifierOptions) {
    let u: URL;
    try {
      u = new URL(opts.webhookUrl);
    } catch {
      throw new Error('the Slack webhook URL is not a valid URL');
    }
    if (u.protocol !== 'https:' && !/^(127\.|localhost$|\[::1\]$)/.test(u.hostname)) throw new Error('the Slack webhook URL must be https');
  }

  async send(m: ReportMessage): Promise<NotifyResult> {
    const label = this.opts.label ?? 'slack webhook';
    const payload = {
      text: m.subject,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: m.short.slice(0, 2900) } }],
    };
    let res: Response;
    try {
      res = await (this.opts.fetch ?? fetch)(this.opts.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      throw new Error(`${label}: request failed (${cause ?? (e as Error).name})`);
    }
    const text = (await res.text()).slice(0, 200);
    if (res.status !== 200) throw new Error(`${label}: HTTP ${res.status} ${text.replace(/\s+/g, ' ')}`);
    return { to: [label] };
  }
}

/**
 * The webhook URL out of a stored secret: the URL itself, or JSON with a `url` (or `webhookUrl`) field. Shared by
 * the alert and report Lambdas, so one Slack secret works for both. The value is never part of an error.
 */
export function webhookUrlFromSecret(secret: string): string {
  const raw = secret.trim();
  let url = raw;
  if (raw.startsWith('{')) {
    let j: { url?: unknown; webhookUrl?: unknown } = {};
    try {
      j = JSON.parse(raw) as typeof j;
    } catch {
      throw new Error('the Slack webhook secret starts with "{" but is not JSON (store the URL, or JSON {"url": "..."})');
    }
    url = typeof j.url === 'string' ? j.url : typeof j.webhookUrl === 'string' ? j.webhookUrl : '';
  }
  if (!url) throw new Error('the Slack webhook secret is empty (store the URL, or JSON {"url": "..."})');
  return url;
}

const alarmSchema = z.object({
  AlarmName: z.string(),
  NewStateValue: z.string(),
  OldStateValue: z.optional(z.string()),
  NewStateReason: z.optional(z.string()),
  AlarmDescription: z.nullish(z.string()),
  StateChangeTime: z.optional(z.string()),
  Region: z.optional(z.string()),
});

/** Slack text for one SNS message: a CloudWatch alarm state change, or any other message as is. */
export function slackMessage(subject: string | null | undefined, message: string): { subject: string; short: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    parsed = undefined; // not JSON: a plain message published to the topic by a person or a script
  }
  const alarm = alarmSchema.safeParse(parsed);
  if (!alarm.success) return { subject: subject || 'Migration alert', short: message.slice(0, 2900) };
  const a = alarm.data;
  const icon = a.NewStateValue === 'ALARM' ? ':rotating_light:' : a.NewStateValue === 'OK' ? ':white_check_mark:' : ':grey_question:';
  const lines = [
    `${icon} *${a.AlarmName}* is *${a.NewStateValue}*${a.OldStateValue ? ` (was ${a.OldStateValue})` : ''}`,
    a.NewStateReason ? `> ${a.NewStateReason}` : '',
    a.AlarmDescription ? a.AlarmDescription : '',
    a.StateChangeTime ? `_${a.StateChangeTime}${a.Region ? `, ${a.Region}` : ''}_` : '',
  ].filter(Boolean);
  return { subject: `${a.AlarmName}: ${a.NewStateValue}`, short: lines.join('\n') };
}
