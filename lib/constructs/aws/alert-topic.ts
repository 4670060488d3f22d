import * as path from 'node:path';
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { HandlerFunction, type HandlerDefaults } from './handler-function';
import { secretRef } from './secret-ref';

export interface AlertTopicProps {
  /** On-call addresses: one email subscription each (they must confirm the subscription mail). */
  emails: string[];
  /** Name or ARN of the Secrets Manager secret holding the Slack webhook URL; unset = no Slack notifier. */
  slackWebhookSecret?: string;
  /**
   * Pager endpoints: e-mail addresses (a paging service's e-mail integration) or HTTPS URLs (its SNS
   * integration, e.g. PagerDuty's `https://events.pagerduty.com/integration/<key>/enqueue`). Given, a second topic
   * (same KMS key) is made for them; only the tracker publishes to it, and its subscriptions accept only
   * `severity=critical` messages. Empty or unset = no pager topic.
   */
  pagerEndpoints?: string[];
  /** Removal policy of the key and the dead-letter queue. */
  removalPolicy: RemovalPolicy;
  /** Settings every handler Lambda shares (runtime, logs, Powertools env). */
  handlerDefaults: HandlerDefaults;
  /**
   * Only CloudWatch alarms of this account whose name starts with this prefix may publish (the topic policy
   * scopes `cloudwatch.amazonaws.com` with `aws:SourceAccount` and `aws:SourceArn`).
   * @default - any alarm of this account and region
   */
  readonly alarmNamePrefix?: string;
}

/**
 * Where alarms go: an SNS topic encrypted with a customer-managed KMS key (rotation on), refusing non-TLS
 * publishers, with email subscriptions for on-call and an optional Slack notifier Lambda that reads its
 * webhook URL from Secrets Manager at run time. Deliveries that fail after SNS's retries land in a
 * dead-letter queue (alarmed by MigrationAlarms).
 */
export class AlertTopic extends Construct {
  readonly key: kms.Key;
  readonly topic: sns.Topic;
  readonly deadLetterQueue: sqs.Queue;
  readonly slackNotifier?: lambda.IFunction;
  /** The Slack webhook secret (when configured): the tracker posts its routed alerts with it too. */
  readonly slackWebhook?: ISecret;
  /** The pager topic (with `pagerEndpoints`): critical alerts of the tracker only. */
  readonly pagerTopic?: sns.Topic;

  constructor(scope: Construct, id: string, props: AlertTopicProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the migration alert topic and its dead-letter queue',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    // CloudWatch alarms publish to the encrypted topic, and SNS writes failed deliveries into the (same-key)
    // encrypted dead-letter queue: both services need the key (the documented key policy for each).
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAndSnsToUseKey',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com'), new iam.ServicePrincipal('sns.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.deadLetterQueue).acknowledge(
      { id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the alert subscriptions.' },
      { id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is itself the dead-letter queue; nothing consumes it automatically (MigrationAlarms alarms when it is not empty).' },
    );

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Migration alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    // A topic policy (enforceSSL makes one) replaces SNS's default policy: without this statement every alarm
    // action fails "not authorized … because no resource-based policy allows the SNS:Publish action".
    const stack = Stack.of(this);
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisAccountsAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: `${props.alarmNamePrefix ?? ''}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
        },
      }),
    );

    for (const email of props.emails) {
      this.topic.addSubscription(new subs.EmailSubscription(email, { deadLetterQueue: this.deadLetterQueue }));
    }

    const pager = [...new Set(props.pagerEndpoints ?? [])];
    if (pager.length) {
      // Only identity policies grant publishing (the tracker's): no alarm or service may page through it.
      this.pagerTopic = new sns.Topic(this, 'PagerTopic', { displayName: 'Migration pager (critical)', masterKey: this.key, enforceSSL: true });
      const criticalOnly = { severity: sns.SubscriptionFilter.stringFilter({ allowlist: ['critical'] }) };
      for (const endpoint of pager) {
        if (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(endpoint)) {
          this.pagerTopic.addSubscription(new subs.EmailSubscription(endpoint, { deadLetterQueue: this.deadLetterQueue, filterPolicy: criticalOnly }));
        } else if (/^https:\/\/[^\s/]+\/\S*$/.test(endpoint)) {
          this.pagerTopic.addSubscription(new subs.UrlSubscription(endpoint, { protocol: sns.SubscriptionProtocol.HTTPS, deadLetterQueue: this.deadLetterQueue, filterPolicy: criticalOnly }));
        } else {
          throw new Error(`${this.node.path}: pager endpoint "${endpoint}" is neither an e-mail address nor an https:// URL`);
        }
      }
    }

    if (props.slackWebhookSecret) {
      const secret = (this.slackWebhook = secretRef(this, 'SlackWebhook', props.slackWebhookSecret));
      const fn = new HandlerFunction(this, 'SlackNotifier', {
        ...props.handlerDefaults,
        entry: path.join(__dirname, '../../../lambda/slack-notifier.ts'),
        description: 'Forwards migration alarms from SNS to Slack (webhook URL from Secrets Manager)',
        timeout: Duration.seconds(15),
        memorySize: 256,
        // SNS invokes asynchronously: failed invocations (after Lambda's two retries) go to the DLQ.
        deadLetterQueue: this.deadLetterQueue,
        environment: { SLACK_WEBHOOK_SECRET_ARN: secret.secretArn },
      });
      secret.grantRead(fn.function);
      this.topic.addSubscription(new subs.LambdaSubscription(fn.function, { deadLetterQueue: this.deadLetterQueue }));
      this.slackNotifier = fn.function;
    }
  }

  /**
   * Let a principal (a migration job's role, a custom alarm handler) publish to the topic (or to the pager topic,
   * which shares the key): `sns:Publish` on
   * it and, because the topic is encrypted, `kms:GenerateDataKey*` / `kms:Decrypt` on its key, without
   * which SNS refuses the publish with a KMS error.
   */
  grantPublish(grantee: iam.IGrantable, topic: sns.ITopic = this.topic): iam.Grant {
    const key = this.key.grant(grantee, 'kms:GenerateDataKey*', 'kms:Decrypt');
    if (Construct.isConstruct(grantee.grantPrincipal)) {
      Validations.of(grantee.grantPrincipal).acknowledge({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason: 'Publishing to a KMS-encrypted SNS topic needs the GenerateDataKey family on that one key (the grant names the key, not every key).',
      });
    }
    return topic.grantPublish(grantee).combine(key);
  }
}
