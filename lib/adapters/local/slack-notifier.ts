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
