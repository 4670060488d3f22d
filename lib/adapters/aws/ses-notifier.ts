import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import type { NotifyResult, ReportMessage, ReportNotifier } from '../../core/report/ports';

export interface SesNotifierOptions {
  /** A verified SES identity. */
  from: string;
  to: string[];
  client?: SESv2Client;
  /** SES configuration set (delivery/bounce events). */
  configurationSet?: string;
}

/** Email through Amazon SES (v2 API): text + HTML in one message, tagged with the report id. */
export class SesNotifier implements ReportNotifier {
  readonly channel = 'email';
  private readonly client: SESv2Client;

  constructor(private readonly opts: SesNotifierOptions) {
    if (!opts.to.length) throw new Error('email needs at least one recipient');
    this.client = opts.client ?? new SESv2Client({});
  }

  async send(m: ReportMessage): Promise<NotifyResult> {
    try {
      const r = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.opts.from,
          Destination: { ToAddresses: this.opts.to },
          Content: {
            Simple: {
              Subject: { Data: m.subject, Charset: 'UTF-8' },
              Body: { Text: { Data: m.text, Charset: 'UTF-8' }, Html: { Data: m.html, Charset: 'UTF-8' } },
              Headers: [{ Name: 'X-Migration-Report-Id', Value: m.reportId }],
            },
          },
          EmailTags: [{ Name: 'migration', Value: m.migrationId.replace(/[^A-Za-z0-9_-]/g, '_') }],
          ...(this.opts.configurationSet ? { ConfigurationSetName: this.opts.configurationSet } : {}),
        }),
      );
      return { id: r.MessageId, to: this.opts.to };
    } catch (e) {
      throw new Error(`SES SendEmail: ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
}
