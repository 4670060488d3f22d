/**
 * Slack notifier Lambda: SNS (CloudWatch alarm notifications from the alert topic) → Slack incoming webhook.
 * The webhook URL is read from Secrets Manager at run time (SLACK_WEBHOOK_SECRET_ARN names the secret; its
 * value is the URL, or JSON with a `url`/`webhookUrl` field) and cached for five minutes. A failed post
 * throws, so Lambda retries and finally hands the event to the dead-letter queue.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSEvent } from 'aws-lambda';
import { z } from 'zod';
import { SlackNotifier, webhookUrlFromSecret } from '../lib/adapters/local/slack-notifier';
import { logger, markInvocation } from './shared/powertools';

const env = z.object({ SLACK_WEBHOOK_SECRET_ARN: z.string().min(1) }).safeParse(process.env);
const secrets = new SecretsManagerClient({});
const CACHE_MS = 5 * 60_000;
let cached: { notifier: SlackNotifier; until: number } | undefined;

const alarmSchema = z.object({
  AlarmName: z.string(),
  NewStateValue: z.string(),
  OldStateValue: z.string().optional(),
  NewStateReason: z.string().optional(),
  AlarmDescription: z.string().nullish(),
  StateChangeTime: z.string().optional(),
  Region: z.string().optional(),
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

async function notifier(): Promise<SlackNotifier> {
  if (cached && cached.until > Date.now()) return cached.notifier;
  if (!env.success) throw new Error('slack-notifier: SLACK_WEBHOOK_SECRET_ARN is not set');
  const r = await secrets.send(new GetSecretValueCommand({ SecretId: env.data.SLACK_WEBHOOK_SECRET_ARN }));
  let url: string;
  try {
    url = webhookUrlFromSecret(r.SecretString ?? '');
  } catch (e) {
    throw new Error(`slack-notifier: ${(e as Error).message}`);
  }
  cached = { notifier: new SlackNotifier({ webhookUrl: url, label: 'slack' }), until: Date.now() + CACHE_MS };
  return cached.notifier;
}

export async function handler(event: SNSEvent): Promise<{ delivered: number }> {
  markInvocation();
  const records = z.object({ Records: z.array(z.object({ Sns: z.object({ Message: z.string(), Subject: z.string().nullish() }) })).min(1) }).safeParse(event);
  if (!records.success) throw new Error('slack-notifier: expected an SNS event with at least one record');
  const slack = await notifier();
  for (const r of records.data.Records) {
    const m = slackMessage(r.Sns.Subject, r.Sns.Message);
    // The report notifier's Slack post (one mrkdwn section) carries alarms as well: only `subject` and `short` are used.
    await slack.send({ reportId: 'alarm', migrationId: '', subject: m.subject, text: m.short, html: '', short: m.short, links: [] });
    logger.info('alarm forwarded to Slack', { subject: m.subject });
  }
  return { delivered: records.data.Records.length };
}
