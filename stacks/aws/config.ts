import { z } from 'zod';
import { ALARMS, alarmOverrideSchema, type AlarmOverride } from '../../lib/core/monitoring-spec';
import { formatZodError } from '../../lib/core/validation-util';

/**
 * Per-environment settings of the AWS monitoring stack. `dev`, `staging` and `prod` differ in who is paged,
 * how long data is kept, what is destroyed with the stack, and alarm thresholds. Pick one with
 * `-c env=prod`; override single values with context too (see `configFromContext`).
 */
export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;
export type EnvName = (typeof ENVIRONMENTS)[number];

const cronPart = z.string().regex(/^[0-9*,/-]+$/, 'must be a cron field (digits, *, ",", "/", "-")');

export const envConfigSchema = z.strictObject({
  env: z.enum(ENVIRONMENTS),
  /** Stack name; also the prefix of alarm and dashboard names. */
  stackName: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/),
  /** CloudWatch namespace of the spec metrics (EMF). */
  namespace: z.string().min(1).max(255),
  /** Powertools `service` dimension shared by every handler: alarms read the per-service rollup. */
  serviceName: z.string().min(1).max(100),
  /** On-call addresses subscribed to the alert topic. */
  onCallEmails: z.array(z.email()).max(20),
  /** Name or ARN of a Secrets Manager secret holding the Slack incoming-webhook URL; unset = no Slack notifier. */
  slackWebhookSecret: z.string().min(1).optional(),
  /** SSM parameter prefix (no trailing slash). */
  parameterPrefix: z.string().regex(/^\/[A-Za-z0-9_.\-/]*[A-Za-z0-9_.-]$/),
  /** Migrations that get their own parameters under `<prefix>/<id>/…`. */
  migrations: z.array(z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/)).max(50),
  /** Report bucket name published in SSM (the report issue owns the bucket); unset = not published. */
  reportBucketName: z.string().min(3).max(63).optional(),
  /** Keep data (table, keys, logs) when the stack is deleted. */
  retainData: z.boolean(),
  /** Turn on DynamoDB deletion protection. */
  deletionProtection: z.boolean(),
  logRetentionDays: z.union([z.literal(7), z.literal(14), z.literal(30), z.literal(90), z.literal(180), z.literal(365)]),
  /** Activity entries expire (DynamoDB TTL) after this many days. */
  activityTtlDays: z.number().int().min(1).max(3650),
  /** Tracker health thresholds (the API's /health and the stalled alarm use the same number). */
  errorRatePercent: z.number().min(0).max(100),
  stallMinutes: z.number().int().min(5).max(1440),
  api: z.strictObject({
    throttleRateLimit: z.number().positive(),
    throttleBurstLimit: z.number().int().positive(),
    memoryMb: z.number().int().min(128).max(10240),
    timeoutSeconds: z.number().int().min(1).max(29),
  }),
  schedule: z.strictObject({
    /** IANA time zone of the schedules, e.g. Europe/Berlin. */
    timeZone: z.string().min(1),
    report: z.strictObject({ hour: cronPart, minute: cronPart }),
    validation: z.strictObject({ hour: cronPart, minute: cronPart }),
    /** Minutes between staleness sweeps (emits PhasesRunning/StalePhases even when no reporter talks). */
    sweepMinutes: z.number().int().min(1).max(60),
  }),
  /** Per-environment alarm overrides, keyed by spec alarm id. */
  alarms: z.record(z.string(), alarmOverrideSchema),
  /**
   * Deploy the search proxy (docs/search-proxy.md) with the stack: backend configs without URLs, the SSM
   * parameters holding the URLs, optional credentials secret and proxy settings (checked by the construct).
   */
  searchProxy: z
    .strictObject({
      primary: z.strictObject({ config: z.record(z.string(), z.unknown()), urlParameter: z.string().min(1) }),
      fallback: z.strictObject({ config: z.record(z.string(), z.unknown()), urlParameter: z.string().min(1) }),
      credentialsSecret: z.string().min(1).optional(),
      settings: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
});
export type EnvConfig = z.output<typeof envConfigSchema>;

const base = {
  namespace: 'MigrationMonitor',
  serviceName: 'migration-monitor',
  onCallEmails: [] as string[],
  parameterPrefix: '/migration',
  migrations: [] as string[],
  errorRatePercent: 10,
  api: { throttleRateLimit: 50, throttleBurstLimit: 100, memoryMb: 512, timeoutSeconds: 10 },
  schedule: {
    timeZone: 'Etc/UTC',
    report: { hour: '7', minute: '0' },
    validation: { hour: '*/6', minute: '15' },
    sweepMinutes: 5,
  },
};

export const CONFIGS: Record<EnvName, EnvConfig> = {
  dev: {
    ...base,
    env: 'dev',
    stackName: 'MigrationMonitoring-dev',
    namespace: 'MigrationMonitor/dev',
    retainData: false,
    deletionProtection: false,
    logRetentionDays: 7,
    activityTtlDays: 14,
    stallMinutes: 60,
    api: { ...base.api, throttleRateLimit: 10, throttleBurstLimit: 20 },
    // Dev pages nobody for slow proxies and tolerates more failing operations.
    alarms: { 'error-rate-high': { threshold: 25 }, 'proxy-latency-slo': { enabled: false } },
  },
  staging: {
    ...base,
    env: 'staging',
    stackName: 'MigrationMonitoring-staging',
    namespace: 'MigrationMonitor/staging',
    retainData: false,
    deletionProtection: true,
    logRetentionDays: 30,
    activityTtlDays: 30,
    stallMinutes: 30,
    alarms: { 'error-rate-high': { threshold: 15 } },
  },
  prod: {
    ...base,
    env: 'prod',
    stackName: 'MigrationMonitoring-prod',
    retainData: true,
    deletionProtection: true,
    logRetentionDays: 365,
    activityTtlDays: 180,
    stallMinutes: 30,
    errorRatePercent: 10,
    api: { ...base.api, throttleRateLimit: 100, throttleBurstLimit: 200 },
    alarms: { 'error-rate-high': { threshold: 10, evaluationPeriods: 2, datapointsToAlarm: 2 } },
  },
};

/** Thrown for a bad environment name or override: names the problem, exits synth with a message. */
export class ConfigError extends Error {}

/**
 * The alarm overrides the spec receives: the environment's own, plus the stalled alarm's window derived from
 * `stallMinutes` (5-minute periods), so the API's health and the alarm agree on what "stalled" means.
 */
export function alarmOverrides(cfg: EnvConfig): Record<string, AlarmOverride> {
  const stalled = ALARMS.find((a) => a.id === 'migration-stalled');
  const periods = Math.max(1, Math.ceil((cfg.stallMinutes * 60) / (stalled?.periodSeconds ?? 300)));
  return {
    ...cfg.alarms,
    'migration-stalled': { evaluationPeriods: periods, datapointsToAlarm: periods, ...cfg.alarms['migration-stalled'] },
  };
}

/** Minimal view of a CDK node's context, so this module does not need aws-cdk-lib. */
export interface ContextReader {
  tryGetContext(key: string): unknown;
}

/**
 * Resolve the environment from context (`-c env=prod`, default `dev`) and apply single-value overrides:
 * `-c onCallEmails=a@x.com,b@x.com`, `-c slackWebhookSecret=…`, `-c migrations=m1,m2`,
 * `-c reportBucketName=…`, `-c namespace=…`, `-c timeZone=Europe/Berlin`, `-c searchProxy='{"primary": …}'`.
 */
export function configFromContext(node: ContextReader): EnvConfig {
  const env = String(node.tryGetContext('env') ?? 'dev');
  if (!(ENVIRONMENTS as readonly string[]).includes(env)) {
    throw new ConfigError(`unknown environment "${env}": use -c env=${ENVIRONMENTS.join('|')}`);
  }
  const cfg: EnvConfig = structuredClone(CONFIGS[env as EnvName]);
  const str = (k: string) => {
    const v = node.tryGetContext(k);
    return v === undefined || v === null || v === '' ? undefined : String(v);
  };
  const list = (k: string) => {
    const v = node.tryGetContext(k);
    if (Array.isArray(v)) return v.map(String);
    const s = str(k);
    return s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean);
  };
  const emails = list('onCallEmails');
  if (emails) cfg.onCallEmails = emails;
  const migrations = list('migrations');
  if (migrations) cfg.migrations = migrations;
  cfg.slackWebhookSecret = str('slackWebhookSecret') ?? cfg.slackWebhookSecret;
  cfg.reportBucketName = str('reportBucketName') ?? cfg.reportBucketName;
  cfg.namespace = str('namespace') ?? cfg.namespace;
  cfg.schedule.timeZone = str('timeZone') ?? cfg.schedule.timeZone;
  const proxy = node.tryGetContext('searchProxy');
  if (proxy !== undefined && proxy !== null && proxy !== '') {
    try {
      cfg.searchProxy = typeof proxy === 'string' ? JSON.parse(proxy) : proxy;
    } catch (e) {
      throw new ConfigError(`invalid AWS stack config: searchProxy context is not JSON: ${(e as Error).message}`);
    }
  }
  return validateConfig(cfg);
}

export function validateConfig(cfg: unknown): EnvConfig {
  const r = envConfigSchema.safeParse(cfg);
  if (!r.success) throw new ConfigError(`invalid AWS stack config: ${formatZodError(r.error)}`);
  const unknown = Object.keys(r.data.alarms).filter((id) => !ALARMS.some((a) => a.id === id));
  if (unknown.length) throw new ConfigError(`invalid AWS stack config: unknown alarm id(s) ${unknown.join(', ')}`);
  try {
    Intl.DateTimeFormat('en', { timeZone: r.data.schedule.timeZone });
  } catch {
    throw new ConfigError(`invalid AWS stack config: schedule.timeZone "${r.data.schedule.timeZone}" is not an IANA time zone`);
  }
  return r.data;
}
