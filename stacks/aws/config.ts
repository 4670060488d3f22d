import { checkHealthSettings, onCallCheck } from '../../lib/config/environments';
import { ALARMS } from '../../lib/core/metrics/spec';
import { formatZodError } from '../../lib/core/validation-util';
import { CONFIGS, ConfigError, ENVIRONMENTS, envConfigSchema, type EnvConfig, type EnvName } from '../../lib/config/aws-settings';

/** The settings themselves live in lib/config/aws-settings.ts (MigrationMonitoring uses them); this file reads them from CDK context. */
export * from '../../lib/config/aws-settings';

/** Minimal view of a CDK node's context, so this module does not need aws-cdk-lib. */
export interface ContextReader {
  tryGetContext(key: string): unknown;
}

/**
 * Resolve the environment from context (`-c env=prod`, default `dev`) and apply single-value overrides:
 * `-c onCallEmails=a@x.com,b@x.com`, `-c pagerEndpoints=pager@x.com,https://events.pagerduty.com/…`, `-c slackWebhookSecret=…`, `-c migrations=m1,m2`,
 * `-c reportBucketName=…`, `-c namespace=…`, `-c alertRouting='{"renotifySeconds": 900}'`, `-c timeZone=Europe/Berlin`, `-c searchProxy='{"primary": …}'`;
 * reports: `-c reports=false`, `-c reportRecipients=a@x.com -c reportEmailFrom=reports@x.com`,
 * `-c reportSlackWebhookSecret=…`; validation: `-c validationConfigParameter=/migration/validation-config`
 * (`-c validationEveryMinutes=15`, `-c validationMigration=tenant-a`, `-c validationConnectors=postgres,redis`) or `-c validation='{…}'`;
 * `-c gcpServiceAccountIds=1039…,2048… [-c gcpAudience=…]`; `-c logGroups=/ecs/a,/ecs/b` or
 * `-c logSubscription='{"logGroups": […], "config": {…}}'`; tracing: `-c tracingLayerArn=arn:aws:lambda:…:layer:aws-otel-collector-arm64-ver-…:1`
 * (`-c tracingSampleRatio=0.1`).
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
  /** A JSON object given on the command line (a string) or in cdk.json (an object). */
  const json = (k: string): Record<string, unknown> | undefined => {
    const v = node.tryGetContext(k);
    if (v === undefined || v === null || v === '') return undefined;
    try {
      return typeof v === 'string' ? JSON.parse(v) : (v as Record<string, unknown>);
    } catch (e) {
      throw new ConfigError(`invalid AWS stack config: ${k} context is not JSON: ${(e as Error).message}`);
    }
  };
  const num = (k: string) => (str(k) === undefined ? undefined : Number(str(k)));
  const emails = list('onCallEmails');
  if (emails) cfg.onCallEmails = emails;
  const pager = list('pagerEndpoints');
  if (pager) cfg.pagerEndpoints = pager;
  const migrations = list('migrations');
  if (migrations) cfg.migrations = migrations;
  cfg.slackWebhookSecret = str('slackWebhookSecret') ?? cfg.slackWebhookSecret;
  const alertRouting = json('alertRouting');
  if (alertRouting) cfg.alertRouting = alertRouting as EnvConfig['alertRouting'];
  cfg.reportBucketName = str('reportBucketName') ?? cfg.reportBucketName;
  cfg.namespace = str('namespace') ?? cfg.namespace;
  cfg.schedule.timeZone = str('timeZone') ?? cfg.schedule.timeZone;
  cfg.searchProxy = (json('searchProxy') as EnvConfig['searchProxy']) ?? cfg.searchProxy;
  const tracingLayer = str('tracingLayerArn');
  if (tracingLayer) cfg.tracing = { ...cfg.tracing, collectorLayerArn: tracingLayer, ...(num('tracingSampleRatio') !== undefined ? { sampler: 'parentbased_traceidratio' as const, samplerArg: num('tracingSampleRatio') } : {}) };

  const reports = str('reports');
  if (reports !== undefined) {
    if (reports !== 'true' && reports !== 'false') throw new ConfigError(`invalid AWS stack config: reports context must be true or false, not "${reports}"`);
    cfg.reports.enabled = reports === 'true';
  }
  const recipients = list('reportRecipients');
  const from = str('reportEmailFrom');
  if (recipients || from) cfg.reports.email = { ...cfg.reports.email, via: cfg.reports.email?.via ?? 'ses', recipients: recipients ?? cfg.reports.email?.recipients ?? [], from: from ?? cfg.reports.email?.from ?? '' };
  cfg.reports.slackWebhookSecret = str('reportSlackWebhookSecret') ?? cfg.reports.slackWebhookSecret;

  const validation = json('validation') ?? (cfg.validation as Record<string, unknown> | undefined);
  const parameter = str('validationConfigParameter');
  const file = str('validationConfigFile');
  if (validation || parameter || file) {
    const v: Record<string, unknown> = { ...validation };
    if (parameter) v['configParameter'] = parameter;
    if (file) v['configFile'] = file;
    if (num('validationEveryMinutes') !== undefined) v['everyMinutes'] = num('validationEveryMinutes');
    if (str('validationMigration')) v['migrationId'] = str('validationMigration');
    if (list('validationConnectors')) v['connectors'] = list('validationConnectors');
    cfg.validation = v as EnvConfig['validation'];
  }

  const accounts = list('gcpServiceAccountIds');
  if (accounts) cfg.gcpKeyless = { ...cfg.gcpKeyless, serviceAccountIds: accounts, audience: str('gcpAudience') ?? cfg.gcpKeyless?.audience ?? 'sts.amazonaws.com' };

  const logSubscription = json('logSubscription') ?? (cfg.logSubscription as Record<string, unknown> | undefined);
  const logGroups = list('logGroups');
  if (logSubscription || logGroups) cfg.logSubscription = { ...logSubscription, ...(logGroups ? { logGroups } : {}) } as EnvConfig['logSubscription'];
  return validateConfig(cfg);
}

export function validateConfig(cfg: unknown): EnvConfig {
  const r = envConfigSchema.safeParse(cfg);
  if (!r.success) throw new ConfigError(`invalid AWS stack config: ${formatZodError(r.error)}`);
  const unknown = Object.keys(r.data.alarms).filter((id) => !ALARMS.some((a) => a.id === id));
  if (unknown.length) throw new ConfigError(`invalid AWS stack config: unknown alarm id(s) ${unknown.join(', ')}`);
  const health = checkHealthSettings(r.data, 'invalid AWS stack config: alarms.error-rate-high.threshold');
  if (health) throw new ConfigError(health);
  const onCall = onCallCheck(r.data.env, r.data.onCallEmails, 'onCallEmails (-c onCallEmails=oncall@example.com)');
  if (onCall.error) throw new ConfigError(`invalid AWS stack config: ${onCall.error}`);
  try {
    Intl.DateTimeFormat('en', { timeZone: r.data.schedule.timeZone });
  } catch {
    throw new ConfigError(`invalid AWS stack config: schedule.timeZone "${r.data.schedule.timeZone}" is not an IANA time zone`);
  }
  return r.data;
}
