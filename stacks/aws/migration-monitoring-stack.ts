import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { AlertTopic } from '../../lib/constructs/aws/alert-topic';
import { GcpKeylessRole } from '../../lib/constructs/aws/gcp-keyless-role';
import { LogSubscription } from '../../lib/constructs/aws/log-subscription';
import { ReportFunction } from '../../lib/constructs/aws/report-function';
import { secretRef } from '../../lib/constructs/aws/secret-ref';
import { ValidationFunction } from '../../lib/constructs/aws/validation-function';
import type { LogWatchConfigInput } from '../../lib/core/logwatch/config';
import type { HandlerDefaults } from '../../lib/constructs/aws/handler-function';
import { MigrationAlarms, type MonitoredHandler } from '../../lib/constructs/aws/migration-alarms';
import { MigrationDashboard } from '../../lib/constructs/aws/migration-dashboard';
import { Parameters } from '../../lib/constructs/aws/parameters';
import { ProgressTable } from '../../lib/constructs/aws/progress-table';
import { Schedules } from '../../lib/constructs/aws/schedules';
import { TrackerApi } from '../../lib/constructs/aws/tracker-api';
import { resolveSpec, type AlarmOverride, type MonitoringSpec } from '../../lib/core/metrics/spec';
import { onCallCheck } from '../../lib/config/environments';
import { alarmOverrides, type EnvConfig } from './config';

/** What a part (report, validation, search proxy, log ingest) hands back to the stack. */
export interface ExtensionHandler {
  fn: lambda.IFunction;
  /** Its log group, for the dashboard's Logs Insights widget. */
  logGroup?: logs.ILogGroup;
  /** The bucket reports land in (published in `<prefix>/report-bucket`). */
  reportBucketName?: string;
}

/** Builds another part's Lambda inside this stack (it may use the stack's defaults, topic, table…). */
export type ExtensionFactory = (stack: MigrationMonitoringStack) => ExtensionHandler;

export interface MigrationMonitoringStackProps extends StackProps {
  config: EnvConfig;
  /** Replaces the daily report handler built from `config.reports`; scheduled at config.schedule.report. */
  report?: ExtensionFactory;
  /** Replaces the validation handler built from `config.validation`; scheduled every `config.validation.everyMinutes` (default 60). */
  validation?: ExtensionFactory;
  /** The search proxy handler (search-proxy issue); watched for health when given. */
  searchProxy?: ExtensionFactory;
}

/**
 * The AWS monitoring stack for one environment, a short list of constructs: alert topic, progress table,
 * tracker API, daily report (on by default), and from config validation, the GCP keyless role and the log
 * subscription; then parameters, alarms (spec + handler health), dashboard and schedules. Env-agnostic (no
 * account/region lookups), so it synthesizes offline without credentials.
 */
export class MigrationMonitoringStack extends Stack {
  readonly config: EnvConfig;
  readonly spec: MonitoringSpec;
  readonly handlerDefaults: HandlerDefaults;
  readonly alertTopic: AlertTopic;
  readonly progressTable: ProgressTable;
  readonly trackerApi: TrackerApi;
  readonly parameters: Parameters;
  readonly alarms: MigrationAlarms;
  readonly dashboard: MigrationDashboard;
  readonly schedules: Schedules;
  readonly failedInvocations: sqs.Queue;
  readonly report?: ReportFunction;
  readonly validation?: ValidationFunction;
  readonly gcpKeylessRole?: GcpKeylessRole;
  readonly logSubscription?: LogSubscription;

  constructor(scope: Construct, id: string, props: MigrationMonitoringStackProps) {
    super(scope, id, props);
    const cfg = (this.config = props.config);
    // Without a report handler nothing can produce reports: the report-missing alarm would only cry wolf.
    const reporting = !!props.report || cfg.reports.enabled;
    const reportAlarm: Record<string, AlarmOverride> = reporting ? {} : { 'report-missing': { enabled: false, ...cfg.alarms['report-missing'] } };
    this.spec = resolveSpec({ ...alarmOverrides(cfg), ...reportAlarm });
    const removalPolicy = cfg.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    // staging and prod refuse to get here without on-call addresses (config); dev is allowed, with a warning.
    const onCall = onCallCheck(cfg.env, cfg.onCallEmails, 'onCallEmails (-c onCallEmails=oncall@example.com)');
    if (onCall.error) throw new Error(`${id}: ${onCall.error}`);
    if (onCall.warning) Annotations.of(this).addWarningV2('migration-monitor:no-on-call', onCall.warning);

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
      ...(cfg.tracing ? { tracing: cfg.tracing } : {}),
    };

    this.alertTopic = new AlertTopic(this, 'Alerts', {
      emails: cfg.onCallEmails,
      slackWebhookSecret: cfg.slackWebhookSecret,
      removalPolicy,
      handlerDefaults: this.handlerDefaults,
      alarmNamePrefix: `${cfg.stackName}-`,
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
      alerts: { topic: this.alertTopic, slackWebhook: this.alertTopic.slackWebhook, routing: cfg.alertRouting },
    });

    const thresholds = { stallMinutes: cfg.stallMinutes, errorRatePercent: cfg.errorRatePercent, activityTtlDays: cfg.activityTtlDays };
    const r = cfg.reports;
    if (!props.report && r.enabled) {
      this.report = new ReportFunction(this, 'Report', {
        handlerDefaults: this.handlerDefaults,
        table: this.progressTable,
        bucketName: cfg.reportBucketName,
        prefix: r.prefix,
        retentionDays: r.retentionDays,
        timeZone: cfg.schedule.timeZone,
        thresholds,
        format: r.format,
        includeMetrics: r.includeMetrics,
        email: r.email && {
          ...r.email,
          smtp: r.email.smtp && { ...r.email.smtp, passwordSecret: r.email.smtp.passwordSecret ? secretRef(this, 'ReportSmtpPassword', r.email.smtp.passwordSecret) : undefined },
        },
        slackWebhookSecret: r.slackWebhookSecret ? secretRef(this, 'ReportSlackWebhook', r.slackWebhookSecret) : undefined,
      });
    }
    const report = props.report?.(this) ?? (this.report && { fn: this.report.handler.function, logGroup: this.report.handler.logGroup, reportBucketName: this.report.bucket.bucketName });

    const v = cfg.validation;
    if (!props.validation && v) {
      this.validation = new ValidationFunction(this, 'Validation', {
        handlerDefaults: this.handlerDefaults,
        configParameter: v.configParameter,
        tracker: v.migrationId ? { url: this.trackerApi.url, migrationId: v.migrationId, grantInvoke: (g) => this.trackerApi.grantInvoke(g) } : undefined,
        reports: this.report && { bucketName: this.report.bucket.bucketName, prefix: 'validation', grant: (role, prefix) => this.report!.grantPrefix(role, prefix) },
        resources: v.resources,
        connectors: v.connectors,
        timeout: Duration.seconds(v.timeoutSeconds),
        memoryMb: v.memoryMb,
      });
    }
    const validation = props.validation?.(this) ?? (this.validation && { fn: this.validation.handler.function, logGroup: this.validation.handler.logGroup });
    const searchProxy = props.searchProxy?.(this);

    if (cfg.gcpKeyless) {
      this.gcpKeylessRole = new GcpKeylessRole(this, 'GcpKeyless', { googleServiceAccountIds: cfg.gcpKeyless.serviceAccountIds, audience: cfg.gcpKeyless.audience, trackerApi: this.trackerApi });
      new CfnOutput(this, 'GcpKeylessRoleArn', { value: this.gcpKeylessRole.roleArn, description: 'MM_TRACKER_AWS_ROLE_ARN for the GCP handlers' });
    }
    const ls = cfg.logSubscription;
    if (ls) {
      this.logSubscription = new LogSubscription(this, 'LogSubscription', {
        handlerDefaults: this.handlerDefaults,
        table: this.progressTable,
        logGroups: ls.logGroups.map((name, i) => logs.LogGroup.fromLogGroupName(this, `JobLogs${i}`, name)),
        config: ls.config as LogWatchConfigInput | undefined,
        reservedConcurrentExecutions: ls.reservedConcurrency,
        activityTtlDays: cfg.activityTtlDays,
      });
    }
    const logIngest = this.logSubscription && { fn: this.logSubscription.handler.function, logGroup: this.logSubscription.handler.logGroup };

    this.parameters = new Parameters(this, 'Parameters', {
      prefix: cfg.parameterPrefix,
      alertTopicArn: this.alertTopic.topic.topicArn,
      apiUrl: this.trackerApi.url,
      reportBucketName: report?.reportBucketName ?? cfg.reportBucketName,
      thresholds: Object.fromEntries(this.spec.alarms.map((a) => [a.id, a.threshold])),
      migrations: cfg.migrations,
    });

    const handlers: MonitoredHandler[] = [{ name: 'tracker-api', fn: this.trackerApi.handler.function }];
    if (this.alertTopic.slackNotifier) handlers.push({ name: 'slack-notifier', fn: this.alertTopic.slackNotifier });
    if (report) handlers.push({ name: 'report', fn: report.fn });
    if (validation) handlers.push({ name: 'validation', fn: validation.fn });
    if (searchProxy) handlers.push({ name: 'search-proxy', fn: searchProxy.fn });
    if (logIngest) handlers.push({ name: 'log-ingest', fn: logIngest.fn });

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
        ...[report, validation, searchProxy, logIngest].flatMap((h) => (h?.logGroup ? [h.logGroup] : [])),
      ],
      intro: `## Migration monitoring (${cfg.env})\nTracker API: IAM auth (SigV4, service \`execute-api\`), URL in SSM \`${cfg.parameterPrefix}/api-url\`. Alarms go to the alert topic; each alarm's description holds its runbook.`,
    });

    this.schedules = new Schedules(this, 'Schedules', {
      timeZone: cfg.schedule.timeZone,
      deadLetterQueue: this.failedInvocations,
      sweep: { fn: this.trackerApi.handler.function, minutes: cfg.schedule.sweepMinutes },
      report: report && { fn: report.fn, ...cfg.schedule.report, input: { source: 'schedule', kind: 'daily-report', ...(r.migrationIds ? { migrationIds: r.migrationIds } : {}) } },
      validation: validation && { fn: validation.fn, everyMinutes: v?.everyMinutes ?? 60, input: { source: 'schedule', kind: 'validation' } },
    });

    new CfnOutput(this, 'ApiUrl', { value: this.trackerApi.url, description: 'Tracker API base URL (SigV4, service execute-api)' });
    new CfnOutput(this, 'InvokePolicyArn', { value: this.trackerApi.invokePolicy.managedPolicyArn, description: 'Attach to a role to let it call the tracker API' });
    new CfnOutput(this, 'AlertTopicArn', { value: this.alertTopic.topic.topicArn });
    new CfnOutput(this, 'TableName', { value: this.progressTable.table.tableName });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboard.dashboardName });
    if (this.report) new CfnOutput(this, 'ReportBucketName', { value: this.report.bucket.bucketName, description: `Daily reports under ${r.prefix}/, validation reports under validation/` });
  }
}
