import { createHash } from 'node:crypto';
// nodemailer's SMTP client only (its documented SMTPConnection: STARTTLS, AUTH, pipelining, dot-stuffing); the
// message is composed by ./mime.ts. Its mailer, transports and MIME tree with the ~74 KB MIME-type table are
// not needed for a text + HTML report, and stay out of the report-smtp Lambda bundle.
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { composeMessage, parseMailbox } from './mime';
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

/** Email through an SMTP relay: a multipart/alternative message, text (Markdown) + HTML, one connection per send. */
export class SmtpNotifier implements ReportNotifier {
  readonly channel = 'email';
  private readonly options: SMTPConnection.Options;

  constructor(private readonly opts: SmtpNotifierOptions) {
    if (!opts.to.length) throw new Error('email needs at least one recipient');
    parseMailbox(opts.from, 'sender');
    for (const t of opts.to) parseMailbox(t, 'recipient');
    const loopback = /^(127\.|localhost$|::1$)/.test(opts.host);
    this.options = {
      host: opts.host,
      port: opts.port,
      secure: opts.secure ?? opts.port === 465,
      // without implicit TLS, STARTTLS is used whenever the server offers it; requireTLS refuses to go on without it
      requireTLS: opts.requireTLS ?? !loopback,
      ...(opts.allowSelfSigned ? { tls: { rejectUnauthorized: false } } : {}),
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      socketTimeout: 30_000,
      logger: false,
      debug: false,
    };
  }

  async send(m: ReportMessage): Promise<NotifyResult> {
    const messageId = reportMessageId(m.reportId, this.opts.from);
    const { envelope, raw } = composeMessage({ from: this.opts.from, to: this.opts.to, subject: m.subject, text: m.text, html: m.html, messageId, headers: { 'X-Migration-Report-Id': m.reportId } });
    const conn = new SMTPConnection(this.options);
    try {
      const info = await new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) => {
        // every failure (socket, TLS, timeout, an SMTP answer) ends the send once
        conn.on('error', reject);
        conn.connect((err) => {
          if (err) return reject(err);
          const deliver = () => conn.send(envelope, raw, (e, sent) => (e ? reject(e) : resolve(sent)));
          if (!this.opts.user) return deliver();
          conn.login({ user: this.opts.user, pass: this.opts.password ?? '' }, (e) => (e ? reject(e) : deliver()));
        });
      });
      conn.quit();
      return { id: messageId, to: (info.accepted as Array<string | { address: string }>).map((a) => (typeof a === 'string' ? a : a.address)) };
    } catch (e) {
      // nodemailer's messages name the host and the SMTP answer; credentials are never part of them.
      throw new Error(`SMTP ${this.opts.host}:${this.opts.port}: ${(e as Error).message}`);
    } finally {
      conn.close();
    }
  }
}
