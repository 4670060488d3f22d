import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, Validations, type Size } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AlertTopic } from './alert-topic';
import { GcpKeylessRole } from './gcp-keyless-role';
import { LogSubscription } from './log-subscription';
import { ReportFunction } from './report-function';
import { secretRef } from './secret-ref';
import { ValidationFunction } from './validation-function';
import type { LogWatchConfigInput } from '../../core/logwatch/config';
import type { HandlerDefaults } from './handler-function';
import { MigrationAlarms, type MonitoredHandler } from './migration-alarms';
import { MigrationDashboard } from './migration-dashboard';
import { Parameters } from './parameters';
import { ProgressTable } from './progress-table';
import { Schedules } from './schedules';
import { TrackerApi } from './tracker-api';
import { resolveSpec, type AlarmOverride, type MonitoringSpec } from '../../core/metrics/spec';
import { onCallCheck } from '../../config/environments';
import { alarmOverrides, CONFIGS, type EnvConfig } from '../../config/aws-settings';
import type { EnvName } from '../../config/environments';
import type { MetricName } from '../../core/metrics/spec';
import { specMetric } from './spec-alarm-factory';

/** What a part (report, validation, search proxy, log ingest) hands back to the stack. */
export interface ExtensionHandler {
  readonly fn: lambda.IFunction;
  /** Its log group, for the dashboard's Logs Insights widget. */
  readonly logGroup?: logs.ILogGroup;
  /** The bucket reports land in (published in `<prefix>/report-bucket`). */
  readonly reportBucketName?: string;
}

/** Builds another part's Lambda inside the monitoring (it may use its defaults, topic, table…). */
export type ExtensionFactory = (monitoring: MigrationMonitoring) => ExtensionHandler;

export interface MigrationMonitoringProps {
  /**
   * Preset of thresholds, retention, deletion protection and removal policy: `dev`, `staging` or `prod`
   * (lib/config/aws-settings.ts CONFIGS). Staging and prod need `onCallEmails`.
   * @default 'dev'
   */
  readonly environment?: EnvName;
  /**
   * On-call addresses subscribed to the alert topic (each confirms a subscription mail).
   * @default - none (allowed in dev only, with a synth warning)
   */
  readonly onCallEmails?: string[];
  /**
   * Name or ARN of a Secrets Manager secret holding the Slack incoming-webhook URL for alarms.
   * @default - no Slack notifier
   */
  readonly slackWebhookSecret?: string;
  /**
   * Prefix of alarm and dashboard names.
   * @default - the name of the stack this construct is in
   */
  readonly namePrefix?: string;
  /**
   * Deploy the daily status report (S3, optional email/Slack) and its schedule.
   * @default true
   */
  readonly reports?: boolean;
  /**
   * IANA time zone of the schedules, e.g. `Europe/Berlin`.
   * @default 'Etc/UTC'
   */
  readonly timeZone?: string;
  /**
   * Memory of the tracker API function.
   * @default Size.mebibytes(512)
   */
  readonly apiMemorySize?: Size;
  /**
   * Timeout of the tracker API function (API Gateway stops waiting at 29 s).
   * @default Duration.seconds(10)
   */
  readonly apiTimeout?: Duration;
  /**
   * SSM parameter holding the validation checks config as JSON (SecureString when it holds credentials), read
   * at each run; turns on scheduled validation. Exclusive with `validationConfigFile`.
   * @default - no validation handler
   */
  readonly validationConfigParameter?: string;
  /**
   * The validation checks config file (YAML or JSON), checked at synth (a bad one fails the synth naming each
   * problem's path) and shipped to the function as JSON; its bundle carries the drivers of the connector types
   * the config uses. Turns on scheduled validation. Exclusive with `validationConfigParameter`.
   * @default - no validation handler
   */
  readonly validationConfigFile?: string;
  /**
   * Bring your own DynamoDB table with the tracker store's layout (string `pk`/`sk`, TTL on `expiresAt`).
   * @default - a new on-demand table with point-in-time recovery
   */
  readonly table?: dynamodb.ITable;
  /**
   * Pager endpoints (e-mail addresses or https:// URLs of a paging service's integration): a second KMS-encrypted
   * topic receives only the tracker's critical alerts (alertRouting's `pager` destination) and pages them.
   * @default - the settings' `pagerEndpoints` (none: no pager)
   */
  readonly pagerEndpoints?: string[];
  /**
   * Bring your own pager topic instead: the tracker publishes its critical alerts to it (`sns:Publish` on it, and
   * the KMS grant of its key when it has one); its subscriptions are yours.
   * @default - a pager topic from `pagerEndpoints`, if any
   */
  readonly pagerTopic?: sns.ITopic;
  /**
   * Bring your own alert topic: alarms publish to it; its subscriptions and encryption are yours (give it a
   * policy that lets `cloudwatch.amazonaws.com` publish, and a key CloudWatch may use).
   * @default - a new KMS-encrypted topic with `onCallEmails` subscribed
   */
  readonly alertTopic?: sns.ITopic;
  /**
   * Bring your own bucket for the daily reports (under the `reports/` prefix).
   * @default - a new versioned, encrypted bucket with access logging
   */
  readonly reportBucket?: s3.IBucket;
  /**
   * Every setting at once (escape hatch; what this repository's stacks pass, see lib/config/aws-settings.ts);
   * the props above win over it.
   * @default - the preset of `environment`
   */
  readonly settings?: EnvConfig;
  /** Replaces the daily report handler; scheduled at the report time. @default - the built-in ReportFunction */
  readonly report?: ExtensionFactory;
  /** Replaces the validation handler. @default - the built-in ValidationFunction when configured */
  readonly validation?: ExtensionFactory;
  /** The search proxy handler; watched for health when given. @default - none */
  readonly searchProxy?: ExtensionFactory;
}

/** The settings the props describe: the preset (or `settings`), then each prop that is set. */
export function settingsOf(props: MigrationMonitoringProps, stackName: string): EnvConfig {
  const base: EnvConfig = structuredClone(props.settings ?? { ...CONFIGS[props.environment ?? 'dev'], stackName });
  const cfg: EnvConfig = { ...base, stackName: props.namePrefix ?? base.stackName };
  if (props.onCallEmails) cfg.onCallEmails = [...props.onCallEmails];
  if (props.slackWebhookSecret) cfg.slackWebhookSecret = props.slackWebhookSecret;
  if (props.pagerEndpoints) cfg.pagerEndpoints = [...props.pagerEndpoints];
  if (props.reports !== undefined) cfg.reports = { ...cfg.reports, enabled: props.reports };
  if (props.timeZone) cfg.schedule = { ...cfg.schedule, timeZone: props.timeZone };
  if (props.apiMemorySize) cfg.api = { ...cfg.api, memoryMb: props.apiMemorySize.toMebibytes() };
  if (props.apiTimeout) cfg.api = { ...cfg.api, timeoutSeconds: props.apiTimeout.toSeconds() };
  if (props.validationConfigParameter || props.validationConfigFile) {
    const { configParameter: _p, configFile: _f, ...rest } = cfg.validation ?? {};
    cfg.validation = {
      everyMinutes: 60,
      timeoutSeconds: 300,
      memoryMb: 1024,
      resources: { dynamodbTables: [], s3Buckets: [], lambdaFunctions: [] },
      ...rest,
      ...(props.validationConfigParameter ? { configParameter: props.validationConfigParameter } : {}),
      ...(props.validationConfigFile ? { configFile: props.validationConfigFile } : {}),
    };
  }
  return cfg;
}

/**
 * Monitoring for a cloud migration, added to your own stack: alert topic, progress table, tracker API
 * (IAM auth), daily report (on by default), optional validation, GCP keyless role and log subscription; then
 * SSM parameters, alarms (spec + handler health), a dashboard and schedules. Reads like the list of what is
 * watched; every part is its own construct under lib/constructs/aws/.
 *
 * @example
 * new MigrationMonitoring(this, 'Monitoring', { environment: 'prod', onCallEmails: ['oncall@example.com'] });
 */
export class MigrationMonitoring extends Construct {
  readonly config: EnvConfig;
  readonly spec: MonitoringSpec;
  readonly handlerDefaults: HandlerDefaults;
  /** The created alert topic construct (undefined with a bring-your-own `alertTopic`). */
  readonly alertTopic?: AlertTopic;
  /** Where alarms go (created or yours). */
  readonly topic: sns.ITopic;
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

  constructor(scope: Construct, id: string, props: MigrationMonitoringProps = {}) {
    super(scope, id);
    const cfg = (this.config = settingsOf(props, Stack.of(this).stackName));
    // Without a report handler nothing can produce reports: the report-missing alarm would only cry wolf.
    const reporting = !!props.report || cfg.reports.enabled;
    const reportAlarm: Record<string, AlarmOverride> = reporting ? {} : { 'report-missing': { enabled: false, ...cfg.alarms['report-missing'] } };
    this.spec = resolveSpec({ ...alarmOverrides(cfg), ...reportAlarm });
    const removalPolicy = cfg.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    // staging and prod refuse to get here without on-call addresses (config); dev is allowed, with a warning.
    const onCall = onCallCheck(cfg.env, cfg.onCallEmails, 'onCallEmails (-c onCallEmails=oncall@example.com)');
    if (onCall.error) throw new Error(`${this.node.path}: ${onCall.error}`);
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

    // The pager is a destination of the tracker's alert routing, which needs the created alert topic (its key).
    if (props.alertTopic && (props.pagerTopic || cfg.pagerEndpoints?.length)) {
      throw new Error(`${this.node.path}: a pager (pagerTopic or pagerEndpoints) needs the alert topic this construct creates: with your own alertTopic the tracker routes no alerts`);
    }
    this.alertTopic = props.alertTopic
      ? undefined
      : new AlertTopic(this, 'Alerts', {
      emails: cfg.onCallEmails,
      slackWebhookSecret: cfg.slackWebhookSecret,
      pagerEndpoints: props.pagerTopic ? [] : cfg.pagerEndpoints,
      removalPolicy,
      handlerDefaults: this.handlerDefaults,
      alarmNamePrefix: `${cfg.stackName}-`,
      });
    this.topic = props.alertTopic ?? this.alertTopic!.topic;
    this.progressTable = new ProgressTable(this, 'Progress', { deletionProtection: cfg.deletionProtection, removalPolicy, table: props.table });
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
      // alert routing from the tracker needs the created topic (its key); with your own topic, alerts stay on the dashboard
      ...(this.alertTopic ? { alerts: { topic: this.alertTopic, slackWebhook: this.alertTopic.slackWebhook, routing: cfg.alertRouting, pager: props.pagerTopic ?? this.alertTopic.pagerTopic } } : {}),
    });

    const thresholds = { stallMinutes: cfg.stallMinutes, errorRatePercent: cfg.errorRatePercent, activityTtlDays: cfg.activityTtlDays };
    const r = cfg.reports;
    if (!props.report && r.enabled) {
      this.report = new ReportFunction(this, 'Report', {
        handlerDefaults: this.handlerDefaults,
        table: this.progressTable,
        bucketName: cfg.reportBucketName,
        bucket: props.reportBucket,
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
        configFile: v.configFile,
        configSecrets: v.configSecrets && Object.fromEntries(Object.entries(v.configSecrets).map(([n, ref]) => [n, secretRef(this, `ValidationSecret${n}`, ref)])),
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
      alertTopicArn: this.topic.topicArn,
      apiUrl: this.trackerApi.url,
      reportBucketName: report?.reportBucketName ?? cfg.reportBucketName,
      thresholds: Object.fromEntries(this.spec.alarms.map((a) => [a.id, a.threshold])),
      migrations: cfg.migrations,
    });

    const handlers: MonitoredHandler[] = [{ name: 'tracker-api', fn: this.trackerApi.handler.function }];
    if (this.alertTopic?.slackNotifier) handlers.push({ name: 'slack-notifier', fn: this.alertTopic.slackNotifier });
    if (report) handlers.push({ name: 'report', fn: report.fn });
    if (validation) handlers.push({ name: 'validation', fn: validation.fn });
    if (searchProxy) handlers.push({ name: 'search-proxy', fn: searchProxy.fn });
    if (logIngest) handlers.push({ name: 'log-ingest', fn: logIngest.fn });

    this.alarms = new MigrationAlarms(this, 'Alarms', {
      spec: this.spec,
      metrics: { namespace: cfg.namespace, serviceName: cfg.serviceName },
      topic: this.topic,
      alarmNamePrefix: cfg.stackName,
      handlers,
      deadLetterQueues: [
        ...(this.alertTopic ? [{ name: 'alert-deliveries', queue: this.alertTopic.deadLetterQueue }] : []),
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
    new CfnOutput(this, 'AlertTopicArn', { value: this.topic.topicArn });
    if (this.alertTopic?.pagerTopic) new CfnOutput(this, 'PagerTopicArn', { value: this.alertTopic.pagerTopic.topicArn });
    new CfnOutput(this, 'TableName', { value: this.progressTable.table.tableName });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboard.dashboardName });
    if (this.report) new CfnOutput(this, 'ReportBucketName', { value: this.report.bucket.bucketName, description: `Daily reports under ${r.prefix}/, validation reports under validation/` });
  }

  /** Let a principal (a migration job's role) call the tracker API: `execute-api:Invoke` on its routes. */
  grantInvokeApi(grantee: iam.IGrantable): iam.Grant {
    return this.trackerApi.grantInvoke(grantee);
  }

  /** Let a principal read and write the tracker's table items (tools that use the store directly). */
  grantReadWriteData(grantee: iam.IGrantable): iam.Grant {
    return this.progressTable.table.grantReadWriteData(grantee);
  }

  /** Let a principal publish to the alert topic (with the created topic: its KMS key too). */
  grantPublishAlerts(grantee: iam.IGrantable): iam.Grant {
    return this.alertTopic ? this.alertTopic.grantPublish(grantee) : this.topic.grantPublish(grantee);
  }

  /** A spec metric of this monitoring (its namespace and `service` rollup), for your own alarms and widgets. */
  metric(metricName: MetricName, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return specMetric({ namespace: this.config.namespace, serviceName: this.config.serviceName }, metricName, props);
  }

  /** Overall progress (0-100) of one migration, Maximum per period. */
  metricOverallProgress(migrationId: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric('OverallProgress', { ...props, dimensionsMap: { MigrationId: migrationId, ...props.dimensionsMap } });
  }
}
