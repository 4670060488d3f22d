import path from 'node:path';
import type { ReportNotifier, ReportSink } from '../core/report/ports';
import { S3ReportSink } from './aws/s3-report-sink';
import { SesNotifier } from './aws/ses-notifier';
import { FileReportSink } from './local/file-report-sink';
import { SlackNotifier } from './local/slack-notifier';

/**
 * The composition of report channels, shared by the CLI and the scheduled handlers: which sinks and
 * notifiers to build from plain settings.
 *
 * GCS (@google-cloud/storage and Google auth, ~600 KB bundled) and SMTP (nodemailer, ~240 KB) are loaded
 * only when asked for. The AWS Lambda bundles leave them out altogether: esbuild replaces
 * `process.env.MM_BUNDLE_OMIT_GCP` / `MM_BUNDLE_OMIT_SMTP` with `"true"` there (HandlerFunction's and
 * ReportFunction's `define`), so the branch that would import them is dead code and is not bundled. Outside
 * such a bundle (CLI, tests, Cloud Run) the variables are unset and everything loads on demand.
 */

export const OUTPUTS = ['file', 's3', 'gcs', 'email', 'slack'] as const;
export type Output = (typeof OUTPUTS)[number];

export interface ChannelSettings {
  outputs: Output[];
  /** Directory for `file`. */
  path?: string;
  /** Bucket for `s3` / `gcs`. */
  bucket?: string;
  prefix?: string;
  /** SSE-KMS key for S3. */
  kmsKeyId?: string;
  recipients?: string[];
  emailFrom?: string;
  /** `smtp` (nodemailer) or `ses` (Amazon SES). Default smtp. */
  emailVia?: 'smtp' | 'ses';
  smtp?: { host: string; port: number; secure?: boolean; user?: string; password?: string; allowSelfSigned?: boolean };
  /** A secret: from the environment or a secret store, never from a flag. */
  slackWebhookUrl?: string;
  /** Where delivery markers and summaries go when no file/S3/GCS output is asked for. */
  stateDir?: string;
}

export interface Channels {
  archives: ReportSink[];
  notifiers: ReportNotifier[];
  ledger: ReportSink;
}

/** Settings that cannot work, as one message per problem (empty when fine). */
export function checkSettings(s: ChannelSettings): string[] {
  const problems: string[] = [];
  if (!s.outputs.length) problems.push('no output: use --output=file|s3|gcs|email|slack');
  if ((s.outputs.includes('s3') || s.outputs.includes('gcs')) && !s.bucket) problems.push('--output=s3/gcs needs --bucket=NAME');
  if (s.outputs.includes('email')) {
    if (!s.recipients?.length) problems.push('--output=email needs --recipients=a@x,b@y');
    for (const r of s.recipients ?? []) if (!/^[^\s@<>,]+@[^\s@<>,]+\.[^\s@<>,]+$/.test(r)) problems.push(`not an email address: "${r}"`);
    if (!s.emailFrom) problems.push('--output=email needs a sender: --from or REPORT_EMAIL_FROM');
    if ((s.emailVia ?? 'smtp') === 'smtp' && !s.smtp?.host) problems.push('--output=email over SMTP needs SMTP_HOST (and SMTP_PORT, SMTP_USER, SMTP_PASSWORD as the relay requires)');
  }
  if (s.outputs.includes('slack') && !s.slackWebhookUrl) problems.push('--output=slack needs the webhook URL in SLACK_WEBHOOK_URL (or SLACK_WEBHOOK_SECRET_ARN on AWS)');
  return problems;
}

export async function buildChannels(s: ChannelSettings): Promise<Channels> {
  const problems = checkSettings(s);
  if (problems.length) throw new Error(problems.join('; '));
  const archives: ReportSink[] = [];
  const notifiers: ReportNotifier[] = [];
  for (const o of new Set(s.outputs)) {
    if (o === 'file') archives.push(new FileReportSink(s.path ?? 'reports'));
    if (o === 's3') archives.push(new S3ReportSink({ bucket: s.bucket!, prefix: s.prefix, kmsKeyId: s.kmsKeyId }));
    if (o === 'gcs') archives.push(gcsSink(s));
    if (o === 'email') {
      if (s.emailVia === 'ses') notifiers.push(new SesNotifier({ from: s.emailFrom!, to: s.recipients! }));
      else notifiers.push(smtpNotifier(s));
    }
    if (o === 'slack') notifiers.push(new SlackNotifier({ webhookUrl: s.slackWebhookUrl! }));
  }
  const ledger = archives[0] ?? new FileReportSink(s.stateDir ?? path.join('.data', 'reports'));
  return { archives, notifiers, ledger };
}

/** Names the output a bundle left out, and what to use instead. */
const notBundled = (what: string, instead: string) => new Error(`${what} is not part of this AWS Lambda bundle: ${instead}`);

function gcsSink(s: ChannelSettings): ReportSink {
  if (process.env.MM_BUNDLE_OMIT_GCP === 'true') throw notBundled('--output=gcs', 'reports on AWS go to S3 (--output=s3)');
  else {
    // require, not import(): the CLI runs under tsx's require hook, where import() of a .ts path fails
    const { GcsReportSink } = require('./gcp/gcs-report-sink') as typeof import('./gcp/gcs-report-sink');
    return new GcsReportSink({ bucket: s.bucket!, prefix: s.prefix });
  }
}

function smtpNotifier(s: ChannelSettings): ReportNotifier {
  if (process.env.MM_BUNDLE_OMIT_SMTP === 'true') throw notBundled('email over SMTP', 'use SES (REPORT_EMAIL_VIA=ses), or deploy with email via smtp so the SMTP adapter is bundled');
  else {
    const { SmtpNotifier } = require('./local/smtp-notifier') as typeof import('./local/smtp-notifier');
    return new SmtpNotifier({ ...s.smtp!, from: s.emailFrom!, to: s.recipients! });
  }
}
