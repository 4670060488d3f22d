import path from 'node:path';
import * as z from '../core/zod';
import { envList } from './env';
import type { ReportNotifier, ReportSink } from '../core/report/ports';
import { S3ReportSink } from '../adapters/aws/s3-report-sink';
import { SesNotifier } from '../adapters/aws/ses-notifier';
import { FileReportSink } from '../adapters/file/file-report-sink';
import { SlackNotifier, webhookUrlFromSecret } from '../adapters/slack/slack-notifier';

/**
 * The composition of report channels, shared by the CLI and the scheduled handlers: which sinks and
 * notifiers to build from plain settings.
 *
 * GCS (@google-cloud/storage and Google auth, ~600 KB bundled) and SMTP (nodemailer's SMTP client, ~65 KB) are loaded
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
  /** `smtp` (nodemailer) or `ses` (Amazon SES). Default: see `defaultEmailVia`. */
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
    if (defaultEmailVia(s) === 'smtp' && !s.smtp?.host) problems.push('--output=email over SMTP needs SMTP_HOST (and SMTP_PORT, SMTP_USER, SMTP_PASSWORD as the relay requires)');
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
      if (defaultEmailVia(s) === 'ses') notifiers.push(new SesNotifier({ from: s.emailFrom!, to: s.recipients! }));
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
    const { GcsReportSink } = require('../adapters/gcp/gcs-report-sink') as typeof import('../adapters/gcp/gcs-report-sink');
    return new GcsReportSink({ bucket: s.bucket!, prefix: s.prefix });
  }
}

function smtpNotifier(s: ChannelSettings): ReportNotifier {
  if (process.env.MM_BUNDLE_OMIT_SMTP === 'true') throw notBundled('email over SMTP', 'use SES (REPORT_EMAIL_VIA=ses), or deploy with email via smtp so the SMTP adapter is bundled');
  else {
    const { SmtpNotifier } = require('../adapters/smtp/smtp-notifier') as typeof import('../adapters/smtp/smtp-notifier');
    return new SmtpNotifier({ ...s.smtp!, from: s.emailFrom!, to: s.recipients! });
  }
}

/**
 * The one rule for the e-mail transport, the same in the CLI, on Lambda and on Cloud Run: the explicit
 * choice (`--email-via` / `REPORT_EMAIL_VIA`) wins; otherwise SMTP when an SMTP relay is configured
 * (`SMTP_HOST`), else Amazon SES.
 */
export function defaultEmailVia(s: Pick<ChannelSettings, 'emailVia' | 'smtp'>): 'smtp' | 'ses' {
  return s.emailVia ?? (s.smtp?.host ? 'smtp' : 'ses');
}

/** The report channel variables, read the same way by the CLI (flags become these variables) and the handlers. */
export const channelEnvSchema = z.object({
  REPORT_OUTPUTS: z.pipe(envList, z.array(z.enum(OUTPUTS, { error: (i) => `must be one of ${OUTPUTS.join(', ')} (got "${String(i.input)}")` })).check(z.minLength(1, 'name at least one output'))),
  REPORT_PATH: z.optional(z.string().check(z.minLength(1))),
  REPORT_BUCKET: z.optional(z.string().check(z.minLength(1))),
  REPORT_PREFIX: z.optional(z.string()),
  REPORT_KMS_KEY_ID: z.optional(z.string()),
  REPORT_RECIPIENTS: z.optional(envList),
  REPORT_EMAIL_FROM: z.optional(z.string()),
  REPORT_EMAIL_VIA: z.optional(z.enum(['smtp', 'ses'])),
  REPORT_STATE_DIR: z.optional(z.string()),
  SMTP_HOST: z.optional(z.string().check(z.minLength(1))),
  SMTP_PORT: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(65535)), 587),
  SMTP_SECURE: z.optional(z.enum(['true', 'false'])),
  SMTP_USER: z.optional(z.string()),
});

/** The variable naming the Secrets Manager secret of each channel secret (Lambda). */
export const CHANNEL_SECRET_ARNS = { SMTP_PASSWORD: 'SMTP_PASSWORD_SECRET_ARN', SLACK_WEBHOOK_URL: 'SLACK_WEBHOOK_SECRET_ARN' } as const;

/**
 * Channel settings from variables. Secrets (`SMTP_PASSWORD`, `SLACK_WEBHOOK_URL`) come through `secret`,
 * which reads the variable itself or the Secrets Manager secret its `_SECRET_ARN` names.
 */
export async function channelSettingsFromEnv(
  e: z.output<typeof channelEnvSchema>,
  secret: (name: 'SMTP_PASSWORD' | 'SLACK_WEBHOOK_URL') => Promise<string | undefined>,
): Promise<ChannelSettings> {
  const slack = e.REPORT_OUTPUTS.includes('slack') ? await secret('SLACK_WEBHOOK_URL') : undefined;
  return {
    outputs: e.REPORT_OUTPUTS,
    ...(e.REPORT_PATH ? { path: e.REPORT_PATH } : {}),
    bucket: e.REPORT_BUCKET,
    prefix: e.REPORT_PREFIX,
    kmsKeyId: e.REPORT_KMS_KEY_ID,
    recipients: e.REPORT_RECIPIENTS,
    emailFrom: e.REPORT_EMAIL_FROM,
    ...(e.REPORT_EMAIL_VIA ? { emailVia: e.REPORT_EMAIL_VIA } : {}),
    smtp: e.SMTP_HOST
      ? { host: e.SMTP_HOST, port: e.SMTP_PORT, secure: e.SMTP_SECURE === 'true' || e.SMTP_PORT === 465, user: e.SMTP_USER, password: e.REPORT_OUTPUTS.includes('email') ? await secret('SMTP_PASSWORD') : undefined }
      : undefined,
    // The stored secret may be the URL or JSON {"url": …}, as the alarm notifier's.
    slackWebhookUrl: slack ? webhookUrlFromSecret(slack) : undefined,
    ...(e.REPORT_STATE_DIR ? { stateDir: e.REPORT_STATE_DIR } : {}),
  };
}
