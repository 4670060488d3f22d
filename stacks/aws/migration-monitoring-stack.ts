import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { AlertTopic } from '../../lib/constructs/aws/alert-topic';
import type { HandlerDefaults } from '../../lib/constructs/aws/handler-function';
import { MigrationAlarms, type MonitoredHandler } from '../../lib/constructs/aws/migration-alarms';
import { MigrationDashboard } from '../../lib/constructs/aws/migration-dashboard';
import { Parameters } from '../../lib/constructs/aws/parameters';
import { ProgressTable } from '../../lib/constructs/aws/progress-table';
import { Schedules } from '../../lib/constructs/aws/schedules';
import { TrackerApi } from '../../lib/constructs/aws/tracker-api';
import { resolveSpec, type AlarmOverride, type MonitoringSpec } from '../../lib/core/monitoring-spec';
import { alarmOverrides, type EnvConfig } from './config';

/** What a part built elsewhere (report, validation, search proxy) hands back to the stack. */
export interface ExtensionHandler {
  fn: lambda.IFunction;
  /** Its log group, for the dashboard's Logs Insights widget. */
  logGroup?: logs.ILogGroup;
}

/** Builds another part's Lambda inside this stack (it may use the stack's defaults, topic, table…). */
export type ExtensionFactory = (stack: MigrationMonitoringStack) => ExtensionHandler;

export interface MigrationMonitoringStackProps extends StackProps {
  config: EnvConfig;
  /** The daily report handler (report issue); scheduled at config.schedule.report when given. */
  report?: ExtensionFactory;
  /** The validation handler (validation issue); scheduled at config.schedule.validation when given. */
  validation?: ExtensionFactory;
  /** The search proxy handler (search-proxy issue); watched for health when given. */
  searchProxy?: ExtensionFactory;
}

/**
 * The AWS monitoring stack for one environment, a short list of constructs: alert topic, progress table,
 * tracker API, parameters, alarms (spec + handler health), dashboard and schedules. Env-agnostic (no
 * account/region lookups), so it synthesizes offline without credentials.
 */
export class MigrationMonitoringStack extends Stack {
  readonly config: EnvConfig;
  readonly spec: MonitoringSpec;
  readonly handlerDefaults: HandlerDefaults;
  readonly alertTopic: AlertTopic;
  readonly progressTable: ProgressTable;
  readonly trackerApi: TrackerApi;
  readonly alarms: MigrationAlarms;
  readonly dashboard: MigrationDashboard;
  readonly schedules: Schedules;
  readonly failedInvocations: sqs.Queue;

  constructor(scope: Construct, id: string, props: MigrationMonitoringStackProps) {
    super(scope, id, props);
    const cfg = (this.config = props.config);
    // Without a report handler nothing can produce reports: the report-missing alarm would only cry wolf.
    const reportAlarm: Record<string, AlarmOverride> = props.report ? {} : { 'report-missing': { enabled: false, ...cfg.alarms['report-missing'] } };
    this.spec = resolveSpec({ ...alarmOverrides(cfg), ...reportAlarm });
    const removalPolicy = cfg.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.failedInvocations = new sqs.Queue(this, 'FailedInvocations', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    Validations.of(this.failedInvocations).acknowledge(
      { id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue of the handlers and schedules.' },
      { id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is itself a dead-letter queue; MigrationAlarms alarms when it is not empty.' },
    );
    this.handlerDefaults = {
      serviceName: cfg.serviceName,
      metricsNamespace: cfg.namespace,
      logRetention: cfg.logRetentionDays as logs.RetentionDays,
      removalPolicy,
      deadLetterQueue: this.failedInvocations,
    };

    this.alertTopic = new AlertTopic(this, 'Alerts', {
      emails: cfg.onCallEmails,
      slackWebhookSecret: cfg.slackWebhookSecret,
      removalPolicy,
      handlerDefaults: this.handlerDefaults,
    });
    this.progressTable = new ProgressTable(this, 'Progress', { deletionProtection: cfg.deletionProtection, removalPolicy });
    this.trackerApi = new TrackerApi(this, 'TrackerApi', {
      handlerDefaults: this.handlerDefaults,
      table: this.progressTable,
      errorRatePercent: cfg.errorRatePercent,
      stallMinutes: cfg.stallMinutes,
      activityTtlDays: cfg.activityTtlDays,
      throttleRateLimit: cfg.api.throttleRateLimit,
      throttleBurstLimit: cfg.api.throttleBurstLimit,
      memoryMb: cfg.api.memoryMb,
      timeoutSeconds: cfg.api.timeoutSeconds,
    });

    const report = props.report?.(this);
    const validation = props.validation?.(this);
    const searchProxy = props.searchProxy?.(this);

    new Parameters(this, 'Parameters', {
      prefix: cfg.parameterPrefix,
      alertTopicArn: this.alertTopic.topic.topicArn,
      apiUrl: this.trackerApi.url,
      reportBucketName: cfg.reportBucketName,
      thresholds: Object.fromEntries(this.spec.alarms.map((a) => [a.id, a.threshold])),
      migrations: cfg.migrations,
    });

    const handlers: MonitoredHandler[] = [{ name: 'tracker-api', fn: this.trackerApi.handler.function }];
    if (this.alertTopic.slackNotifier) handlers.push({ name: 'slack-notifier', fn: this.alertTopic.slackNotifier });
    if (report) handlers.push({ name: 'report', fn: report.fn });
    if (validation) handlers.push({ name: 'validation', fn: validation.fn });
    if (searchProxy) handlers.push({ name: 'search-proxy', fn: searchProxy.fn });

    this.alarms = new MigrationAlarms(this, 'Alarms', {
      spec: this.spec,
      metrics: { namespace: cfg.namespace, serviceName: cfg.serviceName },
      topic: this.alertTopic.topic,
      alarmNamePrefix: cfg.stackName,
      handlers,
      deadLetterQueues: [
        { name: 'alert-deliveries', queue: this.alertTopic.deadLetterQueue },
        { name: 'failed-invocations', queue: this.failedInvocations },
      ],
    });

    this.dashboard = new MigrationDashboard(this, 'Dashboard', {
      dashboardName: `${cfg.stackName}-migration`,
      spec: this.spec,
      metrics: { namespace: cfg.namespace, serviceName: cfg.serviceName },
      alarms: [...this.alarms.allAlarms(), this.alarms.composite],
      healthSegments: this.alarms.healthSegments,
      logGroups: [
        this.trackerApi.handler.logGroup,
        this.trackerApi.accessLogs,
        ...[report, validation, searchProxy].flatMap((h) => (h?.logGroup ? [h.logGroup] : [])),
      ],
      intro: `## Migration monitoring (${cfg.env})\nTracker API: IAM auth (SigV4, service \`execute-api\`), URL in SSM \`${cfg.parameterPrefix}/api-url\`. Alarms go to the alert topic; each alarm's description holds its runbook.`,
    });

    this.schedules = new Schedules(this, 'Schedules', {
      timeZone: cfg.schedule.timeZone,
      deadLetterQueue: this.failedInvocations,
      sweep: { fn: this.trackerApi.handler.function, minutes: cfg.schedule.sweepMinutes },
      report: report && { fn: report.fn, ...cfg.schedule.report, input: { source: 'schedule', kind: 'daily-report' } },
      validation: validation && { fn: validation.fn, ...cfg.schedule.validation, input: { source: 'schedule', kind: 'validation' } },
    });

    new CfnOutput(this, 'ApiUrl', { value: this.trackerApi.url, description: 'Tracker API base URL (SigV4, service execute-api)' });
    new CfnOutput(this, 'InvokePolicyArn', { value: this.trackerApi.invokePolicy.managedPolicyArn, description: 'Attach to a role to let it call the tracker API' });
    new CfnOutput(this, 'AlertTopicArn', { value: this.alertTopic.topic.topicArn });
    new CfnOutput(this, 'TableName', { value: this.progressTable.table.tableName });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboard.dashboardName });
  }
}
