import type { SNSClient } from '@aws-sdk/client-sns';
import type { AlertChannel } from '../../core/alerts/dispatcher';
import { oneLine, type AlertMessage } from '../../core/alerts/message';
import type { NoticeDestination } from '../../core/model';

export interface SnsAlertChannelOptions {
  topicArn: string;
  /** The destination this topic serves (its e-mail subscriptions: `email`; a pager topic: `pager`). */
  destination: NoticeDestination;
  client?: SNSClient;
}

let shared: SNSClient | undefined;

/**
 * Alert messages to an SNS topic (KMS-encrypted: the publisher needs kms:GenerateDataKey on its key): a readable
 * subject and body for e-mail subscriptions, and message attributes (severity, migration, phase, kind,
 * destination) that subscription filter policies can select on.
 */
export class SnsAlertChannel implements AlertChannel {
  readonly destination: NoticeDestination;
  readonly label: string;

  constructor(private readonly o: SnsAlertChannelOptions) {
    this.destination = o.destination;
    this.label = `sns:${o.topicArn.split(':').pop()}`;
  }

  async send(m: AlertMessage): Promise<void> {
    // require, not import: the AWS SDK stays external to the Lambda bundle (the runtime provides it)
    const { SNSClient: Client, PublishCommand } = require('@aws-sdk/client-sns') as typeof import('@aws-sdk/client-sns');
    const client = this.o.client ?? (shared ??= new Client({ requestHandler: { requestTimeout: 5000, connectionTimeout: 3000 } }));
    const attr = (v: string) => ({ DataType: 'String', StringValue: v });
    try {
      await client.send(
        new PublishCommand({
          TopicArn: this.o.topicArn,
          Subject: oneLine(m.subject, 99),
          Message: m.text,
          MessageAttributes: {
            severity: attr(m.attributes.severity),
            migration: attr(m.attributes.migration),
            phase: attr(m.attributes.phase),
            kind: attr(m.attributes.kind),
            destination: attr(m.attributes.destination),
          },
        }),
      );
    } catch (e) {
      throw new Error(`SNS publish to ${this.o.topicArn}: ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
}
