import { SMTPServer } from 'smtp-server';
import { freePort } from './ports';

export interface CapturedMail {
  from: string;
  to: string[];
  raw: string;
}

export interface RunningSmtp {
  port: number;
  messages: CapturedMail[];
  stop(): Promise<void>;
}

/** A real SMTP server (smtp-server) on 127.0.0.1 that keeps every message it accepts. */
export async function startSmtp(opts: { rejectRecipients?: RegExp } = {}): Promise<RunningSmtp> {
  const port = await freePort();
  const messages: CapturedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, cb) {
      if (opts.rejectRecipients?.test(address.address)) return cb(new Error(`550 no such user ${address.address}`));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { port, messages, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

export interface MimePart {
  headers: Record<string, string>;
  body: string;
}

/** Minimal MIME reading for tests (mailparser is not installed): headers, and the decoded leaf parts. */
export function parseMime(raw: string): { headers: Record<string, string>; parts: MimePart[] } {
  const root = parseEntity(raw);
  return { headers: root.headers, parts: leaves(root) };
}

function parseEntity(raw: string): MimePart {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body };
}

function leaves(e: MimePart): MimePart[] {
  const ct = e.headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(ct)?.[1];
  if (/^multipart\//i.test(ct) && boundary) {
    const sections = e.body.split(`--${boundary}`).slice(1);
    return sections.filter((s) => !s.startsWith('--')).flatMap((s) => leaves(parseEntity(s.replace(/^\r?\n/, '').replace(/\r?\n$/, '')))); // the CRLF before a boundary belongs to it
  }
  return [{ headers: e.headers, body: decode(e.body, e.headers['content-transfer-encoding']) }];
}

function decode(body: string, cte = '7bit'): string {
  if (/base64/i.test(cte)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (/quoted-printable/i.test(cte)) {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

/** Decode an RFC 2047 encoded-word header (=?UTF-8?Q?...?= / =?UTF-8?B?...?=). */
export function decodeHeader(v: string): string {
  return v
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([QB])\?([^?]*)\?=/gi, (_m, _cs: string, enc: string, text: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'),
    );
}
