import { TerraformOutput, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { ENVIRONMENT_SETTINGS, onCallCheck, type EnvName } from '../../config/environments';
import { gcpDefaults, validateGcpConfig, type GcpConfig } from '../../config/gcp-settings';
import type { LogWatchConfigInput } from '../../core/logwatch/config';
import { METRICS, resolveSpec, type MetricName } from '../../core/metrics/spec';
import { Alerting } from './alerting';
import { CloudRunHandler, type CloudRunHandlerProps } from './cloud-run-handler';
import { baseLabels, checkLabels, type GcpPlacement } from './common';
import { MigrationDashboard } from './dashboard';
import { LogSink } from './log-sink';
import { ProxyLoadBalancer } from './proxy-load-balancer';
import { ReportBucket, SecureBucket } from './report-bucket';
import { Schedules, dailyAt, everyMinutes } from './scheduler';
import { HandlerSecrets, DEFAULT_SECRETS } from './secrets';
import { PROXY_REDIS_SECRET, ProxyRedis } from './proxy-redis';
import type { SearchProxyRedisSettings } from '../../config/gcp-settings';

export interface GcpMigrationMonitoringProps {
  /**
   * Preset of thresholds, retention and schedules: `dev`, `staging` or `prod` (lib/config/gcp-settings.ts).
   * Staging and prod need `alertEmails`.
   * @default 'dev'
   */
  readonly environment?: EnvName;
  /**
   * GCP project to deploy into.
   * @default - `settings.project`, else a Terraform variable `project_id`
   */
  readonly project?: string;
  /**
   * Region of the Cloud Run functions, scheduler and buckets.
   * @default 'europe-west1'
   */
  readonly region?: string;
  /**
   * Prefix of every resource name (service accounts, functions, jobs, buckets).
   * @default 'mm-<environment>'
   */
  readonly namePrefix?: string;
  /**
   * On-call addresses: one e-mail notification channel for the alert policies.
   * @default - none (allowed in dev only)
   */
  readonly alertEmails?: string[];
  /**
   * Name of the report bucket (created).
   * @default '<project>-<namePrefix>-reports'
   */
  readonly reportBucketName?: string;
  /**
   * Where the tracker API runs (the AWS half) and the role the handlers assume to call it keylessly.
   * @default - no tracker URL (reports and validation still run; nothing is posted)
   */
  readonly tracker?: { readonly apiUrl?: string; readonly awsRoleArn?: string; readonly awsRegion?: string };
  /**
   * Where the search proxies share breaker state, the replay queue (writes a store missed, the sync lag) and the
   * operator switch that `migration-monitor cutover`/`rollback` move:
   * - `{ type: 'memorystore', network?, tier?, memorySizeGb?, ... }`: a Memorystore for Redis instance (AUTH, TLS)
   *   on `network` (default `default`), reached through a Serverless VPC Access connector (a proxy function) or
   *   Direct VPC egress (a proxy with an `image`);
   * - `{ type: 'external', network?, ca? }`: bring your own Redis: put its URL (with its password) in the secret
   *   `<namePrefix>-search-proxy-redis-url`;
   * - `{ type: 'none' }`: nothing shared: the queue is in memory (lost on restart) and the stage is the settings'.
   * @default { type: 'memorystore' }
   */
  readonly searchProxyRedis?: SearchProxyRedisSettings;
  /**
   * Every setting at once (escape hatch; what this repository's stack passes); the props above win.
   * @default - the preset of `environment`
   */
  readonly settings?: GcpConfig;
  /**
   * Zip a placeholder instead of the handler code (unit tests).
   * @default false
   */
  readonly skipBundling?: boolean;
}

/** The settings the props describe, validated like the repository's own config. */
export function gcpSettingsOf(props: GcpMigrationMonitoringProps): GcpConfig {
  const cfg: GcpConfig = structuredClone(props.settings ?? gcpDefaults(props.environment ?? 'dev'));
  if (props.project) cfg.project = props.project;
  if (props.region) cfg.region = props.region;
  if (props.namePrefix) cfg.namePrefix = props.namePrefix;
  if (props.alertEmails) cfg.alerts = { ...cfg.alerts, channels: [{ purpose: 'on-call', emails: [...props.alertEmails], severities: ['critical', 'warning'] }] };
  if (props.reportBucketName) cfg.reportBucket = { ...cfg.reportBucket, name: props.reportBucketName };
  if (props.tracker) cfg.tracker = { ...cfg.tracker, ...props.tracker };
  if (props.searchProxyRedis) cfg.searchProxyRedis = props.searchProxyRedis;
  return props.settings && !Object.keys(props).some((k) => k !== 'settings' && k !== 'skipBundling') ? cfg : validateGcpConfig(cfg);
}

/**
 * The GCP half of migration-monitor, added to your own CDKTF stack (which holds the Google provider and the
 * backend): report bucket, handlers on Cloud Run (report, validation, search proxy; log ingest when a log
 * filter is set), their schedules, secrets, alerting and dashboard. Each piece is one construct in
 * lib/constructs/gcp/.
 *
 * @example
 * new GoogleProvider(this, 'google', { project: 'acme-migration', region: 'europe-west1' });
 * new GcpMigrationMonitoring(this, 'monitoring', { project: 'acme-migration', environment: 'prod', alertEmails: ['oncall@example.com'] });
 */
export class GcpMigrationMonitoring extends Construct {
  readonly config: GcpConfig;
  readonly project: string;
  readonly reportBucket: ReportBucket;
  readonly handlers: Record<'report' | 'validate' | 'searchProxy', CloudRunHandler> & { logIngest?: CloudRunHandler };
  readonly logSink?: LogSink;
  /** The search proxies' shared Redis (absent with `searchProxyRedis: { type: 'none' }`). */
  readonly proxyRedis?: ProxyRedis;

  constructor(scope: Construct, id: string, props: GcpMigrationMonitoringProps = {}) {
    super(scope, id);
    const cfg = (this.config = gcpSettingsOf(props));
    const onCall = onCallCheck(cfg.env, cfg.alerts.channels.flatMap((c) => c.emails), 'alertEmails');
    if (onCall.error) throw new Error(`${this.node.path}: ${onCall.error}`);
    const project = props.project ?? cfg.project ?? new TerraformVariable(this, 'project_id', { type: 'string', description: 'GCP project to deploy into (or set MM_GCP_PROJECT at synth time)' }).stringValue;
    const placement: GcpPlacement = { project, region: cfg.region, env: cfg.env, namePrefix: cfg.namePrefix, labels: baseLabels(cfg.env, checkLabels(cfg.labels)) };

    this.project = project;
    const reports = (this.reportBucket = new ReportBucket(this, 'reports', {
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
    }));
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
    // settings built before this field existed (passed as they are, unvalidated) get the default
    const redisSettings: SearchProxyRedisSettings = (cfg.searchProxyRedis as SearchProxyRedisSettings | undefined) ?? { type: 'memorystore' };
    const secrets = new HandlerSecrets(this, 'secrets', {
      placement,
      secrets: [...DEFAULT_SECRETS, ...(redisSettings.type === 'none' ? [] : [PROXY_REDIS_SECRET[redisSettings.type]])],
      kmsKeyName: cfg.reportBucket.kmsKeyName,
    });

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
        skipBundling: props.skipBundling,
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
    // The proxies' shared store: the replay queue is durable and `cutover`/`rollback` reach the stage they read.
    const proxyRedis = (this.proxyRedis =
      redisSettings.type === 'none' ? undefined : new ProxyRedis(this, 'search-proxy-redis', { placement, settings: redisSettings, secrets, directVpcEgress: !!cfg.handlers.searchProxy.image }));
    const searchProxy = new CloudRunHandler(this, 'search-proxy', {
      ...common('searchProxy', 'search-proxy'),
      ingress: cfg.searchProxyLoadBalancer ? 'internal-and-lb' : 'internal',
      environment: { ...proxyRedis?.environment, ...cfg.handlers.searchProxy.environment },
      ...(proxyRedis ? { secretEnv: proxyRedis.secretEnv, vpc: proxyRedis.vpc, dependsOn: proxyRedis.dependsOn } : {}),
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
    if (proxyRedis) {
      // What `migration-monitor cutover`/`rollback` need, as the same variables the proxies read (docs/search-proxy.md)
      new TerraformOutput(this, 'search_proxy_switch', {
        description: 'Variables for migration-monitor cutover/rollback (run where the VPC is reachable); the AUTH string or URL is in the secret named',
        value: {
          ...(proxyRedis.url ? { BREAKER_STATE_REDIS_URL: proxyRedis.url } : {}),
          ...(proxyRedis.ca ? { BREAKER_STATE_REDIS_CA: proxyRedis.ca } : {}),
          BREAKER_SWITCH_REDIS_KEY: proxyRedis.switchKey,
          secret: secrets.ref(Object.values(proxyRedis.secretEnv)[0]!).secretId,
        },
      });
    }
    for (const [key, h] of Object.entries(this.handlers)) {
      new TerraformOutput(this, `${key}_url`, { value: h.uri });
      new TerraformOutput(this, `${key}_service_account`, { value: h.serviceAccount.email });
      // The AWS keyless role trusts these numeric ids (accounts.google.com:sub / :aud).
      new TerraformOutput(this, `${key}_service_account_unique_id`, { value: h.serviceAccount.uniqueId });
    }
  }
}
