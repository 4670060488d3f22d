import { randomBytes } from 'node:crypto';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';

/**
 * The one kind of message the notifiers send: multipart/alternative with a text and an HTML part, as RFC 5322
 * / 2045–2047 text. Bodies are quoted-printable in UTF-8 (lines ≤ 76 characters, so SMTP's 998 limit holds);
 * header text that is not plain ASCII is RFC 2047 encoded words; CR and LF never reach a header (no header
 * injection through a subject or an address). Dot-stuffing is the SMTP connection's job, not this one's.
 */
export interface MimeMessage {
  /** `addr@host` or `Display Name <addr@host>`. */
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** With its angle brackets. */
  messageId: string;
  headers?: Record<string, string>;
  date?: Date;
}

const ADDRESS = /^[^\s<>@,;:"\\]+@[^\s<>@,;:"\\]+$/;

/** The address and display name of `addr` or `Name <addr>`; throws when there is no plain address in it. */
export function parseMailbox(s: string, what: string): { name: string; address: string } {
  const m = /^\s*(?:"?([^"<>]*?)"?\s*)?<([^<>]+)>\s*$/.exec(s);
  const mailbox = m ? { name: (m[1] ?? '').trim(), address: m[2]!.trim() } : { name: '', address: s.trim() };
  if (!ADDRESS.test(mailbox.address)) throw new Error(`${what} ${JSON.stringify(s)} is not an e-mail address`);
  return mailbox;
}

/** Header text: as is when it is short plain ASCII, else UTF-8 encoded words of whole characters on folded lines. */
export function headerText(s: string): string {
  const flat = s.replace(/[\r\n]+/g, ' ');
  if (/^[\x20-\x7e]*$/.test(flat) && flat.length <= 900) return flat;
  const words: string[] = [];
  let chunk = '';
  for (const ch of flat) {
    // 45 bytes of UTF-8 are 60 base64 characters: each word stays within RFC 2047's 75
    if (Buffer.byteLength(chunk + ch) > 45) (words.push(chunk), (chunk = ''));
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join('\r\n ');
}

const mailboxHeader = (m: { name: string; address: string }) => {
  if (!m.name) return m.address;
  const name = /^[A-Za-z0-9 !#$%&'*+\-/=?^_`{|}~.]*$/.test(m.name) ? m.name : /^[\x20-\x7e]*$/.test(m.name) ? `"${m.name.replace(/["\\]/g, '\\$&')}"` : headerText(m.name);
  return `${name} <${m.address}>`;
};

const body = (s: string) => qpWrap(qpEncode(s.replace(/\r?\n/g, '\r\n')), 76);

/** RFC 5322 date-time: `Wed, 02 Dec 2026 11:50:00 +0000`. */
const rfc5322Date = (d: Date) => d.toUTCString().replace(/GMT$/, '+0000');

/** The message as SMTP DATA text (CRLF line ends), and its envelope. */
export function composeMessage(m: MimeMessage): { envelope: { from: string; to: string[] }; raw: string } {
  const from = parseMailbox(m.from, 'sender');
  const to = m.to.map((t) => parseMailbox(t, 'recipient'));
  const boundary = `--mm-${randomBytes(12).toString('hex')}`;
  const extra = Object.entries(m.headers ?? {}).map(([k, v]) => {
    if (!/^[A-Za-z0-9-]+$/.test(k)) throw new Error(`header name ${JSON.stringify(k)} is not one`);
    return `${k}: ${headerText(v)}`;
  });
  const head = [
    `From: ${mailboxHeader(from)}`,
    `To: ${to.map(mailboxHeader).join(', ')}`,
    `Subject: ${headerText(m.subject)}`,
    `Date: ${rfc5322Date(m.date ?? new Date())}`,
    `Message-ID: ${headerText(m.messageId)}`,
    ...extra,
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
  ];
  const part = (type: string, content: string) => [`--${boundary}`, `Content-Type: ${type}; charset=utf-8`, 'Content-Transfer-Encoding: quoted-printable', '', body(content)];
  const raw = [...head, '', ...part('text/plain', m.text), ...part('text/html', m.html), `--${boundary}--`, ''].join('\r\n');
  return { envelope: { from: from.address, to: to.map((t) => t.address) }, raw };
}
