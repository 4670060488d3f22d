/**
 * Lambda shell of the Slack notifier: SNS (CloudWatch alarm notifications from the alert topic) → Slack
 * incoming webhook. The webhook URL is the Secrets Manager secret SLACK_WEBHOOK_SECRET_ARN names (the URL, or
 * JSON with `url`/`webhookUrl`), re-read every five minutes so a rotation is seen. A failed post throws, so
 * Lambda retries and finally hands the event to the dead-letter queue.
 */
import type { Context, SNSEvent } from 'aws-lambda';
import * as z from '../lib/core/zod';
import { invocationStarted, logger } from '../lib/adapters/aws/powertools';
import { SlackNotifier, slackMessage, webhookUrlFromSecret } from '../lib/adapters/slack/slack-notifier';
import { parseEnv } from '../lib/compose/env';
import { readSecret } from '../lib/compose/secrets';

const snsSchema = z.object({ Records: z.array(z.object({ Sns: z.object({ Message: z.string(), Subject: z.nullish(z.string()) }) })).check(z.minLength(1)) });

export async function handler(event: SNSEvent, context?: Context): Promise<{ delivered: number }> {
  invocationStarted(context);
  const { SLACK_WEBHOOK_SECRET_ARN } = parseEnv(z.object({ SLACK_WEBHOOK_SECRET_ARN: z.string().check(z.minLength(1)) }), process.env, 'slack-notifier');
  const records = snsSchema.safeParse(event);
  if (!records.success) throw new Error('slack-notifier: expected an SNS event with at least one record');
  const slack = new SlackNotifier({ webhookUrl: webhookUrlFromSecret(await readSecret(SLACK_WEBHOOK_SECRET_ARN, { maxAgeMs: 5 * 60_000 })), label: 'slack' });
  for (const r of records.data.Records) {
    const m = slackMessage(r.Sns.Subject, r.Sns.Message);
    // The report notifier's Slack post (one mrkdwn section) carries alarms as well: only `subject` and `short` are used.
    await slack.send({ reportId: 'alarm', migrationId: '', subject: m.subject, text: m.short, html: '', short: m.short, links: [] });
    logger.info('alarm forwarded to Slack', { subject: m.subject });
  }
  return { delivered: records.data.Records.length };
}
