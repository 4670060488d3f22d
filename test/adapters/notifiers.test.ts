import { SmtpNotifier, reportMessageId } from '../../lib/adapters/smtp/smtp-notifier';
import { SlackNotifier } from '../../lib/adapters/slack/slack-notifier';
import { buildStatusReport } from '../../lib/core/report/model';
import { toMessage } from '../../lib/core/report/render';
import { busySim } from '../core/report/fixture';
import { startCapture, type CaptureServer } from '../support/http-capture';
import { decodeHeader, parseMime, startSmtp, type RunningSmtp } from '../support/smtp';

function message() {
  const s = busySim();
  return toMessage(buildStatusReport({ state: s.state, activity: s.activity, now: s.now() }), ['s3://reports/orders-db/2026-03-02.html']);
}

describe('SmtpNotifier against a local smtp-server', () => {
  let smtp: RunningSmtp;
  beforeEach(async () => (smtp = await startSmtp({ rejectRecipients: /^nobody@/ })));
  afterEach(async () => smtp.stop());

  it('sends one multipart message: subject, recipients, a text (Markdown) part and an HTML part', async () => {
    const m = message();
    const n = new SmtpNotifier({ host: '127.0.0.1', port: smtp.port, from: 'Migration Monitor <reports@example.com>', to: ['a@x.test', 'b@y.test'] });
    const r = await n.send(m);
    expect(r.to).toEqual(['a@x.test', 'b@y.test']);
    expect(smtp.messages).toHaveLength(1);
    const mail = smtp.messages[0]!;
    expect(mail.from).toBe('reports@example.com');
    expect(mail.to).toEqual(['a@x.test', 'b@y.test']);
    const { headers, parts } = parseMime(mail.raw);
    expect(decodeHeader(headers['subject']!)).toBe(m.subject);
    expect(headers['to']).toBe('a@x.test, b@y.test');
    expect(headers['content-type']).toMatch(/^multipart\/alternative/);
    expect(headers['message-id']).toBe(reportMessageId(m.reportId, 'reports@example.com'));
    expect(headers['x-migration-report-id']).toBe('orders-db/2026-03-02');
    const text = parts.find((p) => p.headers['content-type']!.startsWith('text/plain'))!;
    const html = parts.find((p) => p.headers['content-type']!.startsWith('text/html'))!;
    expect(text.body.replace(/\r\n/g, '\n')).toBe(m.text);
    expect(html.body.replace(/\r\n/g, '\n')).toBe(m.html);
    expect(html.body).toContain('Target &lt;script&gt;alert(1)&lt;/script&gt; rejecting writes');
  });

  it('fails with the SMTP answer when every recipient is refused', async () => {
    const n = new SmtpNotifier({ host: '127.0.0.1', port: smtp.port, from: 'reports@example.com', to: ['nobody@x.test'] });
    await expect(n.send(message())).rejects.toThrow(/SMTP 127\.0\.0\.1:\d+: .*nobody@x\.test/);
    expect(smtp.messages).toHaveLength(0);
  });

  it('fails without leaking the password when authentication is refused', async () => {
    const { SMTPServer } = await import('smtp-server');
    const { freePort } = await import('../support/ports');
    const port = await freePort();
    const server = new SMTPServer({ disabledCommands: ['STARTTLS'], logger: false, onAuth: (_a, _s, cb) => cb(new Error('535 bad credentials')) });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    try {
      const n = new SmtpNotifier({ host: '127.0.0.1', port, from: 'reports@example.com', to: ['a@x.test'], user: 'reporter', password: 'hunter2-s3cret' });
      const err = await n.send(message()).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/535|auth/i);
      expect((err as Error).message).not.toContain('hunter2-s3cret');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('upgrades to TLS with STARTTLS, authenticates, and delivers lines that start with a dot, long lines and non-ASCII text intact', async () => {
    const { SMTPServer } = await import('smtp-server');
    const { freePort } = await import('../support/ports');
    const port = await freePort();
    const seen: Array<{ user?: string; pass?: string; secure: boolean; raw: string; from: string }> = [];
    let auth: { user?: string; pass?: string } = {};
    // smtp-server's own self-signed certificate; STARTTLS offered, AUTH only after it
    const server = new SMTPServer({
      logger: false,
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth: (a, _s, cb) => ((auth = { user: a.username, pass: a.password ?? undefined }), a.username === 'reporter' && a.password === 'hunter2-s3cret' ? cb(null, { user: 'reporter' }) : cb(new Error('535 bad credentials'))),
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => (seen.push({ ...auth, secure: session.secure, raw: Buffer.concat(chunks).toString('utf8'), from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '' }), cb()));
      },
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    try {
      const base = message();
      const text = ['.a line that starts with a dot', '..and one with two', '.', 'x'.repeat(2000), 'Größe: 1,5 TB — déjà vu ✓', 'trailing space '].join('\n');
      const m = { ...base, subject: 'Störung: Migration 95 % — “orders”', text };
      // requireTLS: it must refuse to authenticate or send in the clear
      const n = new SmtpNotifier({ host: '127.0.0.1', port, requireTLS: true, allowSelfSigned: true, from: 'Zoë Müller <reports@example.com>', to: ['a@x.test'], user: 'reporter', password: 'hunter2-s3cret' });
      const r = await n.send(m);
      expect(r).toEqual({ id: reportMessageId(m.reportId, 'reports@example.com'), to: ['a@x.test'] });
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ user: 'reporter', pass: 'hunter2-s3cret', secure: true, from: 'reports@example.com' });
      const { headers, parts } = parseMime(seen[0]!.raw);
      expect(decodeHeader(headers['subject']!)).toBe(m.subject);
      expect(decodeHeader(headers['from']!)).toBe('Zoë Müller <reports@example.com>');
      expect(headers['mime-version']).toBe('1.0');
      expect(new Date(headers['date']!).getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect(parts.find((p) => p.headers['content-type']!.startsWith('text/plain'))!.body.replace(/\r\n/g, '\n')).toBe(text);
      expect(parts.find((p) => p.headers['content-type']!.startsWith('text/html'))!.body.replace(/\r\n/g, '\n')).toBe(m.html);
      // SMTP's limit: no line over 998 characters on the wire
      expect(Math.max(...seen[0]!.raw.split('\r\n').map((l) => l.length))).toBeLessThanOrEqual(998);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('keeps a line break in the subject or a recipient from adding a header', async () => {
    const n = new SmtpNotifier({ host: '127.0.0.1', port: smtp.port, from: 'reports@example.com', to: ['a@x.test'] });
    await n.send({ ...message(), subject: 'Report\r\nBcc: victim@evil.test' });
    const { headers } = parseMime(smtp.messages[0]!.raw);
    expect(headers['bcc']).toBeUndefined();
    expect(decodeHeader(headers['subject']!)).toBe('Report Bcc: victim@evil.test');
    expect(smtp.messages[0]!.to).toEqual(['a@x.test']);
    expect(() => new SmtpNotifier({ host: '127.0.0.1', port: 25, from: 'reports@example.com', to: ['a@x.test\r\nBcc: b@evil.test'] })).toThrow(/recipient .* is not an e-mail address/);
  });

  it('refuses to be built without recipients', () => {
    expect(() => new SmtpNotifier({ host: '127.0.0.1', port: 25, from: 'a@b', to: [] })).toThrow(/recipient/);
  });
});

describe('SlackNotifier against a local webhook receiver', () => {
  let hook: CaptureServer;
  beforeEach(async () => (hook = await startCapture()));
  afterEach(async () => hook.stop());

  it('posts the short report as a mrkdwn section with the subject as fallback text', async () => {
    const m = message();
    const r = await new SlackNotifier({ webhookUrl: `${hook.url}/services/T000/B000/XXXX`, label: '#migration' }).send(m);
    expect(r.to).toEqual(['#migration']);
    expect(hook.requests).toHaveLength(1);
    const req = hook.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/services/T000/B000/XXXX');
    expect(req.headers['content-type']).toBe('application/json');
    const body = JSON.parse(req.body);
    expect(body.text).toBe(m.subject);
    expect(body.blocks[0]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: m.short } });
    expect(m.short).toContain('Full report: s3://reports/orders-db/2026-03-02.html');
  });

  it('reports Slack errors without the webhook URL', async () => {
    hook.respond(404, 'no_service');
    const url = `${hook.url}/services/T000/B000/SECRETTOKEN`;
    const err = await new SlackNotifier({ webhookUrl: url }).send(message()).catch((e: Error) => e);
    expect((err as Error).message).toBe('slack webhook: HTTP 404 no_service');
    await hook.stop();
    const down = await new SlackNotifier({ webhookUrl: url }).send(message()).catch((e: Error) => e);
    expect((down as Error).message).toMatch(/^slack webhook: request failed/);
    expect((down as Error).message).not.toContain('SECRETTOKEN');
    hook = await startCapture();
  });

  it('refuses a plain-http webhook URL to anything but this machine', () => {
    expect(() => new SlackNotifier({ webhookUrl: 'http://hooks.example.com/services/x' })).toThrow(/https/);
    expect(() => new SlackNotifier({ webhookUrl: 'not a url' })).toThrow(/not a valid URL/);
  });
});
