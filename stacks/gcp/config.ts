import { readFileSync } from 'node:fs';
import { ENVIRONMENTS, type EnvName as Environment } from '../../lib/config/environments';
import { deepMerge, GcpConfigError, gcpDefaults, validateGcpConfig, type GcpConfig } from '../../lib/config/gcp-settings';

/** The settings live in lib/config/gcp-settings.ts (GcpMigrationMonitoring uses them); this file reads them from MM_GCP_CONFIG and variables. */
export * from '../../lib/config/gcp-settings';

/** Environment variables read, per environment first (`<NAME>_<ENV>`, e.g. MM_GCP_PROJECT_PROD), then plain. */
export const ENV_VARS = {
  MM_GCP_PROJECT: 'project id',
  MM_GCP_REGION: 'region',
  MM_ALERT_EMAILS: 'comma-separated on-call e-mails (one "on-call" channel group, all severities)',
  MM_RUNBOOK_URL: 'runbook page linked from every alert',
  MM_TRACKER_URL: 'tracker API base URL',
  MM_TRACKER_AWS_ROLE_ARN: 'AWS role the handlers assume with their Google ID token',
  MM_TRACKER_AWS_REGION: 'AWS region of the tracker API',
  MM_TF_STATE_BUCKET: 'GCS bucket of the Terraform state (switches to the gcs backend)',
  MM_TF_STATE_PREFIX: 'state prefix in that bucket (default migration-monitor/<env>)',
  MM_REPORT_BUCKET: 'report bucket name',
  MM_LOG_INGEST_FILTER: 'Cloud Logging filter of the migration jobs\' logs (deploys log ingest: sink → Pub/Sub → log-ingest handler)',
} as const;

type Source = Record<string, string | undefined>;

/** Resolve one environment's config from defaults, an optional JSON file and environment variables. */
export function loadGcpConfig(envName: string, source: Source = process.env): GcpConfig {
  if (!(ENVIRONMENTS as readonly string[]).includes(envName)) throw new GcpConfigError(`unknown environment "${envName}": use MM_ENV=${ENVIRONMENTS.join('|')}`);
  const env = envName as Environment;
  let cfg: Record<string, any> = gcpDefaults(env);
  const file = source['MM_GCP_CONFIG'];
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new GcpConfigError(`cannot read MM_GCP_CONFIG ${file}: ${(e as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new GcpConfigError(`${file}: expected an object keyed by environment`);
    const unknownEnvs = Object.keys(parsed).filter((k) => !(ENVIRONMENTS as readonly string[]).includes(k));
    if (unknownEnvs.length) throw new GcpConfigError(`${file}: unknown environment key(s) ${unknownEnvs.join(', ')}`);
    cfg = deepMerge(cfg, (parsed as Record<string, unknown>)[env] ?? {});
  }
  const get = (k: keyof typeof ENV_VARS) => {
    const v = source[`${k}_${env.toUpperCase()}`] ?? source[k];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const project = get('MM_GCP_PROJECT');
  if (project) cfg['project'] = project;
  const region = get('MM_GCP_REGION');
  if (region) cfg['region'] = region;
  const emails = get('MM_ALERT_EMAILS');
  if (emails) cfg['alerts'] = { ...cfg['alerts'], channels: [{ purpose: 'on-call', emails: emails.split(',').map((e) => e.trim()).filter(Boolean), severities: ['critical', 'warning'] }] };
  const runbook = get('MM_RUNBOOK_URL');
  if (runbook) cfg['alerts'] = { ...cfg['alerts'], runbookUrl: runbook };
  const tracker = { ...cfg['tracker'] };
  tracker.apiUrl = get('MM_TRACKER_URL') ?? tracker.apiUrl;
  tracker.awsRoleArn = get('MM_TRACKER_AWS_ROLE_ARN') ?? tracker.awsRoleArn;
  tracker.awsRegion = get('MM_TRACKER_AWS_REGION') ?? tracker.awsRegion;
  cfg['tracker'] = tracker;
  const bucket = get('MM_REPORT_BUCKET');
  if (bucket) cfg['reportBucket'] = { ...cfg['reportBucket'], name: bucket };
  const logFilter = get('MM_LOG_INGEST_FILTER');
  if (logFilter) cfg['logIngest'] = { ...cfg['logIngest'], filter: logFilter };
  const stateBucket = get('MM_TF_STATE_BUCKET');
  if (stateBucket) cfg['backend'] = { type: 'gcs', bucket: stateBucket, prefix: get('MM_TF_STATE_PREFIX') ?? `migration-monitor/${env}` };
  return validateGcpConfig(cfg);
}

