import { createHash } from 'node:crypto';
// nodemailer's mailer and SMTP transport only: its index also loads the pool, sendmail, SES, stream and JSON
// transports and the Ethereal client, ~22 KB of the report-smtp Lambda bundle this adapter never uses.
import Mail from 'nodemailer/lib/mailer';
import SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { NotifyResult, ReportMessage, ReportNotifier } from '../../core/report/ports';

export interface SmtpNotifierOptions {
  host: string;
  port: number;
  /** Implicit TLS (port 465). Otherwise STARTTLS is used when the server offers it. */
  secure?: boolean;
  /** Refuse to send without STARTTLS. Default: true unless the host is a loopback address. */
  requireTLS?: boolean;
  user?: string;
  /** From the environment or a secret store; never logged. */
  password?: string;
  from: string;
  to: string[];
  /** Accept self-signed certificates (local relays only). */
  allowSelfSigned?: boolean;
}

/** `RFC 5322 Message-ID` derived from the report id: mail systems that see the same report twice can drop the copy. */
export function reportMessageId(reportId: string, from: string): string {
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'migration-monitor.local';
  return `<report-${createHash('sha256').update(reportId).digest('hex').slice(0, 32)}@${domain}>`;
}

/** Email through an SMTP relay with nodemailer: a multipart/alternative message, text (Markdown) + HTML. */
export class SmtpNotifier implements ReportNotifier {
  readonly channel = 'email';
  private readonly transport: Mail<SMTPTransport.SentMessageInfo>;

  constructor(private readonly opts: SmtpNotifierOptions) {
    if (!opts.to.length) throw new Error('email needs at least one recipient');
    const loopback = /^(127\.|localhost$|::1$)/.test(opts.host);
    // what nodemailer.createTransport does for SMTP options without `url` or `pool`
    const options: SMTPTransport.Options = {
      host: opts.host,
      port: opts.port,
      secure: opts.secure ?? opts.port === 465,
      requireTLS: opts.requireTLS ?? !loopback,
      ...(opts.user ? { auth: { user: opts.user, pass: opts.password ?? '' } } : {}),
      ...(opts.allowSelfSigned ? { tls: { rejectUnauthorized: false } } : {}),
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      socketTimeout: 30_000,
      logger: false,
      debug: false,
    };
    this.transport = new Mail(new SMTPTransport(options), options);
  }

  async send(m: ReportMessage): Promise<NotifyResult> {
    try {
      const info = await this.transport.sendMail({
        from: this.opts.from,
        to: this.opts.to,
        subject: m.subject,
        text: m.text,
        html: m.html,
        messageId: reportMessageId(m.reportId, this.opts.from),
        headers: { 'X-Migration-Report-Id': m.reportId },
      });
      return { id: info.messageId, to: (info.accepted as Array<string | { address: string }>).map((a) => (typeof a === 'string' ? a : a.address)) };
    } catch (e) {
      // nodemailer's messages name the host and the SMTP answer; credentials are never part of them.
      throw new Error(`SMTP ${this.opts.host}:${this.opts.port}: ${(e as Error).message}`);
    } finally {
      this.transport.close();
    }
  }
}
