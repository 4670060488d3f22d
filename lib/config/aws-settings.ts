import * as z from '../core/zod';
import { ENVIRONMENT_SETTINGS, ENVIRONMENTS, alarmOverrides as sharedAlarmOverrides, parameterPrefixFor, type EnvName } from './environments';
import { alarmOverrideSchema, type AlarmOverride } from '../core/metrics/spec';
import { REPORT_FORMATS } from '../core/report/render';
import { CONNECTOR_TYPES } from '../core/validation/config';
import { alertRoutingSchema } from '../core/alerts/config';

/**
 * Per-environment settings of the AWS monitoring (MigrationMonitoring's `settings`). `dev`, `staging` and `prod` differ in who is paged,
 * how long data is kept, what is destroyed with the stack, and alarm thresholds. Pick one with
 * `-c env=prod`; override single values with context too (see `configFromContext`).
 */
export { ENVIRONMENTS, type EnvName };

const cronPart = z.string().check(z.regex(/^[0-9*,/-]+$/, 'must be a cron field (digits, *, ",", "/", "-")'));
const migrationId = z.string().check(z.regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/, 'must be a migration id'));

export const envConfigSchema = z.strictObject({
  env: z.enum(ENVIRONMENTS),
  /** Stack name; also the prefix of alarm and dashboard names. */
  stackName: z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/)),
  /** CloudWatch namespace of the spec metrics (EMF). */
  namespace: z.string().check(z.minLength(1), z.maxLength(255)),
  /** Powertools `service` dimension shared by every handler: alarms read the per-service rollup. */
  serviceName: z.string().check(z.minLength(1), z.maxLength(100)),
  /** On-call addresses subscribed to the alert topic (required in staging and prod: lib/config/environments.ts). */
  onCallEmails: z.array(z.email()).check(z.maxLength(20)),
  /** Name or ARN of a Secrets Manager secret holding the Slack incoming-webhook URL; unset = no Slack notifier. */
  slackWebhookSecret: z.optional(z.string().check(z.minLength(1))),
  /**
   * Pager: e-mail addresses or https:// URLs (a paging service's e-mail or SNS integration) subscribed to a second
   * KMS-encrypted topic that receives only the tracker's critical alerts (the `pager` destination of alertRouting).
   */
  pagerEndpoints: z.optional(z.array(z.union([z.email(), z.url({ protocol: /^https$/ })], { error: 'must be an e-mail address or an https:// URL' })).check(z.maxLength(10))),
  /**
   * How the tracker routes its alerts (lib/core/alerts/config.ts): severity rules, dedup, burst, digest, re-notify
   * windows, links. Critical goes to the alert topic (on-call e-mail), error and warning to Slack (with
   * slackWebhookSecret). Default: the rules' defaults, with no burst wait (each invocation sends what is due).
   */
  alertRouting: z.optional(alertRoutingSchema),
  /** SSM parameter prefix (no trailing slash); default `/migration/<env>`, so environments can share an account. */
  parameterPrefix: z.string().check(z.regex(/^\/[A-Za-z0-9_.\-/]*[A-Za-z0-9_.-]$/)),
  /** Migrations that get their own parameters under `<prefix>/<id>/…`. */
  migrations: z.array(migrationId).check(z.maxLength(50)),
  /**
   * Name of the report bucket: the bucket the stack creates when reports are on (default: generated), else
   * an existing bucket to publish in SSM. Either way it is in `<prefix>/report-bucket`.
   */
  reportBucketName: z.optional(z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'))),
  /** OpenTelemetry spans of every handler through a collector layer (docs/tracing.md); `-c tracingLayerArn=…`. */
  tracing: z.optional(z
    .strictObject({
      collectorLayerArn: z.string().check(z.regex(/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$/, 'must be a Lambda layer version ARN')),
      endpoint: z.optional(z.url()),
      sampler: z.optional(z.enum(['parentbased_always_on', 'parentbased_traceidratio', 'always_on', 'traceidratio'])),
      samplerArg: z.optional(z.number().check(z.gte(0), z.lte(1))),
    })),
  /** Keep data (table, keys, logs) when the stack is deleted. */
  retainData: z.boolean(),
  /** Turn on DynamoDB deletion protection. */
  deletionProtection: z.boolean(),
  logRetentionDays: z.union([z.literal(7), z.literal(14), z.literal(30), z.literal(90), z.literal(180), z.literal(365)]),
  /** Activity entries expire (DynamoDB TTL) after this many days. */
  activityTtlDays: z.number().check(z.int(), z.gte(1), z.lte(3650)),
  /**
   * Tracker health thresholds, from lib/config/environments.ts: the API's /health, the report's health, the
   * error-rate alarm's threshold and the stalled alarm's window all use these numbers.
   */
  errorRatePercent: z.number().check(z.gte(0), z.lte(100)),
  stallMinutes: z.number().check(z.int(), z.gte(5), z.lte(1440)),
  api: z.strictObject({
    throttleRateLimit: z.number().check(z.positive()),
    throttleBurstLimit: z.number().check(z.int(), z.positive()),
    memoryMb: z.number().check(z.int(), z.gte(128), z.lte(10240)),
    timeoutSeconds: z.number().check(z.int(), z.gte(1), z.lte(29)),
  }),
  schedule: z.strictObject({
    /** IANA time zone of the schedules, e.g. Europe/Berlin. */
    timeZone: z.string().check(z.minLength(1)),
    report: z.strictObject({ hour: cronPart, minute: cronPart }),
    /** Minutes between staleness sweeps (emits PhasesRunning/StalePhases even when no reporter talks). */
    sweepMinutes: z.number().check(z.int(), z.gte(1), z.lte(60)),
  }),
  /**
   * The daily status report (lambda/report.ts, ReportFunction): S3 report bucket, optional email and Slack,
   * run at `schedule.report` in `schedule.timeZone`. On by default.
   */
  reports: z.strictObject({
    enabled: z.boolean(),
    /** Key prefix of reports and delivery markers in the bucket. */
    prefix: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/, 'must be letters, digits, . _ - (no slashes)')),
    /** Days a report is kept in the bucket. */
    retentionDays: z.number().check(z.int(), z.gte(1), z.lte(3650)),
    format: z.enum(REPORT_FORMATS),
    includeMetrics: z.boolean(),
    /** Report only these migrations (the schedule's input); default every migration the tracker knows. */
    migrationIds: z.optional(z.array(migrationId).check(z.minLength(1), z.maxLength(100))),
    email: z.optional(z
      .strictObject({
        from: z.email(),
        recipients: z.array(z.email()).check(z.minLength(1), z.maxLength(50)),
        via: z._default(z.enum(['ses', 'smtp']), 'ses'),
        /** SES identity of the sender (the address or its domain; default the domain of `from`). */
        sesIdentity: z.optional(z.string().check(z.minLength(1))),
        smtp: z.optional(z
          .strictObject({
            host: z.string().check(z.minLength(1)),
            port: z._default(z.number().check(z.int(), z.gte(1), z.lte(65535)), 587),
            user: z.optional(z.string().check(z.minLength(1))),
            /** Name or ARN of the Secrets Manager secret holding the SMTP password. */
            passwordSecret: z.optional(z.string().check(z.minLength(1))),
          })),
      }).check(z.refine((e) => e.via !== 'smtp' || !!e.smtp, { message: 'via "smtp" needs smtp.host', path: ['smtp'] }))),
    /** Name or ARN of the Secrets Manager secret holding the Slack webhook URL for reports (may be the alerts' one). */
    slackWebhookSecret: z.optional(z.string().check(z.minLength(1))),
  }),
  /**
   * Scheduled validation (lambda/validate.ts, ValidationFunction): the checks config is a file checked at synth
   * and shipped as JSON (`configFile`), or JSON read from an SSM parameter you create (`configParameter`);
   * unset = no validation handler.
   */
  validation: z.optional(z
    .strictObject({
      /** The checks config file (YAML or JSON), checked at synth and shipped as JSON in the function's code. */
      configFile: z.optional(z.string().check(z.minLength(1))),
      /** Secrets Manager secrets (name or ARN) the config's `${NAME}` references take their values from, by NAME. */
      configSecrets: z.optional(z.record(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the NAME of a ${NAME} reference')), z.string().check(z.minLength(1)))),
      /** SSM parameter name of the checks config as JSON (String, or SecureString with the aws/ssm key when it holds credentials). */
      configParameter: z.optional(z.string().check(z.regex(/^\/[A-Za-z0-9_.\-/]*[A-Za-z0-9_.-]$/, 'must be an SSM parameter name starting with /'))),
      everyMinutes: z._default(z.number().check(z.int(), z.gte(5), z.lte(1440)), 60),
      /** Post runs to this migration's validation phase on the tracker API (SigV4); unset = metrics and reports only. */
      migrationId: z.optional(migrationId),
      timeoutSeconds: z._default(z.number().check(z.int(), z.gte(60), z.lte(900)), 300),
      memoryMb: z._default(z.number().check(z.int(), z.gte(128), z.lte(10240)), 1024),
      /**
       * Connector types the checks config uses (only their drivers are bundled). A config using another type is
       * refused before any check runs, naming this setting. Default: the types a `configFile` uses; with
       * `configParameter`, DEFAULT_BUNDLED_CONNECTORS.
       */
      connectors: z.optional(z.array(z.enum(CONNECTOR_TYPES)).check(z.minLength(1))),
      /** AWS resources the checks read (dynamodb connectors, aws-resource checks): the only ones the role may touch. */
      resources: z.prefault(z
        .strictObject({
          dynamodbTables: z._default(z.array(z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/))).check(z.maxLength(50)), []),
          s3Buckets: z._default(z.array(z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/))).check(z.maxLength(50)), []),
          lambdaFunctions: z._default(z.array(z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a function name (not an ARN)'))).check(z.maxLength(50)), []),
        }), {}),
    }).check(z.refine((v) => (v.configFile === undefined) !== (v.configParameter === undefined), { message: 'give exactly one of configFile and configParameter', path: ['configFile'] }))),
  /** Let the GCP handlers call the tracker API without keys (GcpKeylessRole): the GCP stack's service account unique ids. */
  gcpKeyless: z.optional(z
    .strictObject({
      serviceAccountIds: z.array(z.string().check(z.regex(/^\d{10,25}$/, 'must be a GCP service account unique id (digits), not an e-mail'))).check(z.minLength(1), z.maxLength(20)),
      audience: z._default(z.string().check(z.minLength(1)), 'sts.amazonaws.com'),
    })),
  /** Track migrations from their CloudWatch Logs (LogSubscription → lambda/log-ingest.ts). */
  logSubscription: z.optional(z
    .strictObject({
      /** Names of the jobs' existing log groups. */
      logGroups: z.array(z.string().check(z.regex(/^[.\-_/#A-Za-z0-9]{1,512}$/, 'must be a CloudWatch log group name'))).check(z.minLength(1), z.maxLength(20)),
      /** Log-watch config (patterns, phaseMap, fields: docs/log-tracking.md), validated by the construct. */
      config: z.optional(z.record(z.string(), z.unknown())),
      reservedConcurrency: z.optional(z.number().check(z.int(), z.gte(1), z.lte(100))),
    })),
  /** Per-environment alarm overrides, keyed by spec alarm id. */
  alarms: z.record(z.string(), alarmOverrideSchema),
  /**
   * Deploy the search proxy (docs/search-proxy.md) with the stack: backend configs without URLs, the SSM
   * parameters holding the URLs, optional credentials secret and proxy settings (checked by the construct).
   */
  searchProxy: z.optional(z
    .strictObject({
      primary: z.strictObject({ config: z.record(z.string(), z.unknown()), urlParameter: z.string().check(z.minLength(1)) }),
      fallback: z.strictObject({ config: z.record(z.string(), z.unknown()), urlParameter: z.string().check(z.minLength(1)) }),
      credentialsSecret: z.optional(z.string().check(z.minLength(1))),
      settings: z.optional(z.record(z.string(), z.unknown())),
    })),
});
export type EnvConfig = z.output<typeof envConfigSchema>;

const base = {
  namespace: 'MigrationMonitor',
  serviceName: 'migration-monitor',
  onCallEmails: [] as string[],
  migrations: [] as string[],
  api: { throttleRateLimit: 50, throttleBurstLimit: 100, memoryMb: 512, timeoutSeconds: 10 },
  schedule: {
    timeZone: 'Etc/UTC',
    report: { hour: '7', minute: '0' },
    sweepMinutes: 5,
  },
  reports: { enabled: true, prefix: 'reports', retentionDays: 365, format: 'html' as const, includeMetrics: true },
};

/** The shared health settings of an environment (lib/config/environments.ts). */
const healthOf = (env: EnvName) => {
  const { errorRatePercent, stallMinutes, alarms } = ENVIRONMENT_SETTINGS[env];
  return { errorRatePercent, stallMinutes, alarms: structuredClone(alarms) };
};

export const CONFIGS: Record<EnvName, EnvConfig> = {
  dev: {
    ...base,
    env: 'dev',
    ...healthOf('dev'),
    parameterPrefix: parameterPrefixFor('dev'),
    stackName: 'MigrationMonitoring-dev',
    namespace: 'MigrationMonitor/dev',
    retainData: false,
    deletionProtection: false,
    logRetentionDays: 7,
    activityTtlDays: 14,
    api: { ...base.api, throttleRateLimit: 10, throttleBurstLimit: 20 },
    reports: { ...base.reports, retentionDays: 30 },
  },
  staging: {
    ...base,
    env: 'staging',
    ...healthOf('staging'),
    parameterPrefix: parameterPrefixFor('staging'),
    stackName: 'MigrationMonitoring-staging',
    namespace: 'MigrationMonitor/staging',
    retainData: false,
    deletionProtection: true,
    logRetentionDays: 30,
    activityTtlDays: 30,
    reports: { ...base.reports, retentionDays: 90 },
  },
  prod: {
    ...base,
    env: 'prod',
    ...healthOf('prod'),
    parameterPrefix: parameterPrefixFor('prod'),
    stackName: 'MigrationMonitoring-prod',
    retainData: true,
    deletionProtection: true,
    logRetentionDays: 365,
    activityTtlDays: 180,
    api: { ...base.api, throttleRateLimit: 100, throttleBurstLimit: 200 },
    reports: { ...base.reports, retentionDays: 730 },
  },
};

/** Thrown for a bad environment name or override: names the problem, exits synth with a message. */
export class ConfigError extends Error {}

/**
 * The alarm overrides the spec receives (lib/config/environments.ts): the environment's own, the error-rate
 * threshold from `errorRatePercent` and the stalled window from `stallMinutes`, as the health check uses them.
 */
export function alarmOverrides(cfg: EnvConfig): Record<string, AlarmOverride> {
  return sharedAlarmOverrides(cfg);
}
