import type { Construct } from 'constructs';
import { Annotations, GcsBackend, LocalBackend, TerraformOutput, TerraformStack, TerraformVariable } from 'cdktf';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { METRICS, resolveSpec, type MetricName } from '../../lib/core/metrics/spec';
import { baseLabels, checkLabels, type GcpPlacement } from '../../lib/constructs/gcp/common';
import { ReportBucket, SecureBucket } from '../../lib/constructs/gcp/report-bucket';
import { HandlerSecrets, DEFAULT_SECRETS } from '../../lib/constructs/gcp/secrets';
import { CloudRunHandler, type CloudRunHandlerProps } from '../../lib/constructs/gcp/cloud-run-handler';
import { Schedules, dailyAt, everyMinutes } from '../../lib/constructs/gcp/scheduler';
import { Alerting } from '../../lib/constructs/gcp/alerting';
import { MigrationDashboard } from '../../lib/constructs/gcp/dashboard';
import { ProxyLoadBalancer } from '../../lib/constructs/gcp/proxy-load-balancer';
import { LogSink } from '../../lib/constructs/gcp/log-sink';
import type { LogWatchConfigInput } from '../../lib/core/logwatch/config';
import type { GcpConfig } from './config';
import { ENVIRONMENT_SETTINGS, onCallCheck } from '../../lib/config/environments';

export interface GcpStackOptions {
  /** Zip a placeholder instead of running esbuild (unit tests, snapshot). */
  skipBundling?: boolean;
}

/**
 * The GCP half of migration-monitor for one environment: report bucket, three handlers on Cloud Run
 * (report, validation, search proxy), their schedules, secrets, alerting and dashboard, and, when a log
 * filter is configured, log ingest (a Cloud Logging sink → Pub/Sub → the log-ingest handler). It reads like
 * the list of what it deploys; each piece is one construct in lib/constructs/gcp/.
 */
export class GcpMonitoringStack extends TerraformStack {
  readonly handlers: Record<'report' | 'validate' | 'searchProxy', CloudRunHandler> & { logIngest?: CloudRunHandler };
  readonly logSink?: LogSink;

  constructor(scope: Construct, cfg: GcpConfig, opts: GcpStackOptions = {}) {
    super(scope, cfg.stackName);
    // staging and prod refuse to load without on-call addresses (config); dev is allowed, with a warning.
    const onCall = onCallCheck(cfg.env, cfg.alerts.channels.flatMap((c) => c.emails), 'MM_ALERT_EMAILS (or alerts.channels in MM_GCP_CONFIG)');
    if (onCall.warning) Annotations.of(this).addWarning(onCall.warning);
    if (cfg.backend.type === 'gcs') new GcsBackend(this, { bucket: cfg.backend.bucket, prefix: cfg.backend.prefix });
    else new LocalBackend(this, { path: cfg.backend.path ?? `terraform.${cfg.stackName}.tfstate` });

    const project =
      cfg.project ??
      new TerraformVariable(this, 'project_id', { type: 'string', description: 'GCP project to deploy into (or set MM_GCP_PROJECT at synth time)' }).stringValue;
    new GoogleProvider(this, 'google', { project, region: cfg.region });
    const placement: GcpPlacement = { project, region: cfg.region, env: cfg.env, namePrefix: cfg.namePrefix, labels: baseLabels(cfg.env, checkLabels(cfg.labels)) };

    const reports = new ReportBucket(this, 'reports', {
      name: cfg.reportBucket.name ?? `${project}-${cfg.namePrefix}-reports`,
      location: cfg.reportBucket.location,
      project,
      env: cfg.env,
      labels: placement.labels,
      lifecycle: { nearlineAfterDays: cfg.reportBucket.nearlineAfterDays, deleteAfterDays: cfg.reportBucket.deleteAfterDays },
      retentionDays: cfg.reportBucket.retentionDays,
      lockRetention: cfg.reportBucket.lockRetention,
      kmsKeyName: cfg.reportBucket.kmsKeyName,
      forceDestroy: cfg.reportBucket.forceDestroy,
    });
    const sources = new SecureBucket(this, 'sources', {
      name: `${project}-${cfg.namePrefix}-sources`,
      location: cfg.region,
      project,
      env: cfg.env,
      labels: { ...placement.labels, purpose: 'function-sources' },
      versioning: false,
      lifecycle: { nearlineAfterDays: 0, deleteAfterDays: 0 },
      forceDestroy: cfg.env === 'dev',
    });
    const secrets = new HandlerSecrets(this, 'secrets', { placement, secrets: DEFAULT_SECRETS, kmsKeyName: cfg.reportBucket.kmsKeyName });

    const tracker: Record<string, string> = { MM_TRACKER_AWS_REGION: cfg.tracker.awsRegion, MM_TRACKER_AWS_AUDIENCE: 'sts.amazonaws.com' };
    if (cfg.tracker.apiUrl) tracker['MM_TRACKER_URL'] = cfg.tracker.apiUrl;
    if (cfg.tracker.awsRoleArn) tracker['MM_TRACKER_AWS_ROLE_ARN'] = cfg.tracker.awsRoleArn;
    const common = (key: keyof GcpConfig['handlers'], purpose: string): CloudRunHandlerProps => {
      const h = cfg.handlers[key];
      return {
        placement,
        purpose,
        entry: h.entry,
        exportName: h.exportName,
        adapter: h.adapter,
        image: h.image,
        memory: h.memory,
        timeoutSeconds: h.timeoutSeconds,
        maxInstances: h.maxInstances,
        sourceBucket: sources,
        skipBundling: opts.skipBundling,
        secrets,
        buildServiceAccount: cfg.buildServiceAccount,
        ...(cfg.tracing ? { tracing: cfg.tracing } : {}),
      };
    };
    // Health thresholds the report applies: the same per environment as the AWS stack's and the alerts'.
    const health = ENVIRONMENT_SETTINGS[cfg.env];
    const report = new CloudRunHandler(this, 'report', {
      ...common('report', 'report'),
      environment: {
        ...tracker,
        // lambda/report.ts settings
        ...(cfg.tracker.apiUrl ? { MIGRATION_MONITOR_URL: cfg.tracker.apiUrl } : {}),
        REPORT_OUTPUTS: cfg.reportOutputs.join(','),
        REPORT_BUCKET: reports.name,
        REPORT_PREFIX: 'reports',
        REPORT_TIME_ZONE: cfg.schedules.timeZone,
        STALL_MINUTES: String(health.stallMinutes),
        // The error-rate alert's threshold (config may override it): the report calls "degraded" what pages.
        ERROR_RATE_PERCENT: String(cfg.alerts.overrides['error-rate-high']?.threshold ?? health.errorRatePercent),
        ...cfg.handlers.report.environment,
      },
      secretEnv: { MIGRATION_MONITOR_TOKEN: 'tracker-api-credentials', ...(cfg.reportOutputs.includes('slack') ? { SLACK_WEBHOOK_URL: 'slack-webhook' } : {}) },
    });
    const validate = new CloudRunHandler(this, 'validate', {
      ...common('validate', 'validate'),
      environment: { ...tracker, MM_REPORT_SINK: 'gcs', MM_REPORT_BUCKET: reports.name, ...cfg.handlers.validate.environment },
      // lambda/validate.ts reads the checks from VALIDATION_CONFIG: mounted from Secret Manager (it may hold credentials)
      secretEnv: { MM_TRACKER_TOKEN: 'tracker-api-credentials', VALIDATION_CONFIG: 'validation-config' },
    });
    const searchProxy = new CloudRunHandler(this, 'search-proxy', {
      ...common('searchProxy', 'search-proxy'),
      ingress: cfg.searchProxyLoadBalancer ? 'internal-and-lb' : 'internal',
      environment: { ...cfg.handlers.searchProxy.environment },
    });
    this.handlers = { report, validate, searchProxy };
    if (cfg.logIngest) {
      // lambda/log-ingest.ts `pubsubHandler`: keyless SigV4 to the tracker API when a role is set, else the token.
      const logIngest = new CloudRunHandler(this, 'log-ingest', {
        ...common('logIngest', 'log-ingest'),
        environment: {
          ...tracker,
          ...(cfg.logIngest.watch ? { LOG_WATCH_CONFIG: JSON.stringify(cfg.logIngest.watch) } : {}),
          ...cfg.handlers.logIngest.environment,
        },
        secretEnv: { MM_TRACKER_TOKEN: 'tracker-api-credentials' },
      });
      this.handlers.logIngest = logIngest;
      this.logSink = new LogSink(this, 'log-sink', {
        placement,
        handler: logIngest,
        filter: cfg.logIngest.filter,
        watch: cfg.logIngest.watch as LogWatchConfigInput | undefined, // checked by validateGcpConfig
        wellKnownEventsOnly: cfg.logIngest.wellKnownEventsOnly,
        maxDeliveryAttempts: cfg.logIngest.maxDeliveryAttempts,
        kmsKeyName: cfg.reportBucket.kmsKeyName,
      });
    }
    if (cfg.searchProxyLoadBalancer) new ProxyLoadBalancer(this, 'search-proxy-lb', { placement, target: searchProxy, ...cfg.searchProxyLoadBalancer });

    // Each handler may create objects; the report handler also reads and replaces its latest.json summaries.
    reports.grantObjectCreator('report', report.serviceAccount.email);
    reports.grantObjectViewer('report', report.serviceAccount.email);
    reports.grantReplaceOnly('report-latest', report.serviceAccount.email, '/latest.json');
    reports.grantObjectCreator('validate', validate.serviceAccount.email);

    const schedules = new Schedules(this, 'schedules', {
      placement,
      timeZone: cfg.schedules.timeZone,
      jobs: [
        { id: 'daily-report', description: 'Daily migration status report', target: report, cron: dailyAt(cfg.schedules.reportHour, cfg.schedules.reportMinute), body: cfg.schedules.reportEvent, attemptDeadlineSeconds: Math.min(1800, cfg.handlers.report.timeoutSeconds + 20) },
        { id: 'validation', description: 'Migration validation checks', target: validate, cron: everyMinutes(cfg.schedules.validationEveryMinutes), body: cfg.schedules.validationEvent, attemptDeadlineSeconds: Math.min(1800, cfg.handlers.validate.timeoutSeconds + 20), retryCount: 1 },
      ],
    });

    // Every handler's logs carry spec metrics (log ingest: events copied, dual-write failures, cutover pauses...).
    const services = Object.values(this.handlers).map((h) => h.serviceName);
    // The tracker runs on AWS (GCP calls it keyless): its alarms (phase failed, error rate, stalled) live in
    // CloudWatch next to it. Here only what these services emit: proxy, validation, reports, handler errors.
    const spec = resolveSpec(cfg.alerts.overrides);
    const emittedHere = (m: MetricName) => METRICS[m].source !== 'tracker';
    const alerting = new Alerting(this, 'alerting', {
      placement,
      spec: { ...spec, alarms: spec.alarms.filter((a) => emittedHere(a.metric) && (!a.onlyWhile || emittedHere(a.onlyWhile.metric))) },
      services,
      schedulerJobs: ['daily-report', 'validation'].map((j) => `${cfg.namePrefix}-${j}`),
      channels: cfg.alerts.channels,
      runbookUrl: cfg.alerts.runbookUrl,
    });
    new MigrationDashboard(this, 'dashboard', { placement, metrics: alerting.metrics, services });
    void schedules;

    new TerraformOutput(this, 'report_bucket', { value: reports.name });
    for (const [key, h] of Object.entries(this.handlers)) {
      new TerraformOutput(this, `${key}_url`, { value: h.uri });
      new TerraformOutput(this, `${key}_service_account`, { value: h.serviceAccount.email });
      // The AWS keyless role trusts these numeric ids (accounts.google.com:sub / :aud).
      new TerraformOutput(this, `${key}_service_account_unique_id`, { value: h.serviceAccount.uniqueId });
    }
  }
}
