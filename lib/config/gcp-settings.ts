import * as z from '../core/zod';
import { formatZodError } from '../core/validation-util';
import { ALARMS, alarmOverrideSchema } from '../core/metrics/spec';
import { parseLogWatchConfig } from '../core/logwatch/config';
import { findSecretLikeValues } from '../constructs/gcp/secret-scan';
import { ENVIRONMENT_SETTINGS, ENVIRONMENTS, alarmOverrides, onCallCheck, type EnvName as Environment } from './environments';

/**
 * Per-environment settings of the GCP monitoring stack, like the AWS stack's: `dev`, `staging`, `prod`.
 * Sources, later wins: the defaults below → a JSON file named by MM_GCP_CONFIG (`{"prod": {...}}`) →
 * environment variables (`MM_GCP_PROJECT`, or `MM_GCP_PROJECT_PROD` for one environment; see `ENV_VARS`).
 * No secret values: the schema has no field for one, and any value that looks like a credential is refused.
 */

const handlerSchema = z.strictObject({
  /** Handler module bundled with esbuild. */
  entry: z.string().check(z.minLength(1)),
  exportName: z.string().check(z.regex(/^[A-Za-z_$][\w$]*$/)),
  /** How the entry's export is called: a factory of a runtime-neutral HttpHandler (the only way). */
  adapter: z._default(z.literal('http'), 'http'),
  /** Run this container image on a Cloud Run service instead of deploying the bundle as a function. */
  image: z.optional(z.string().check(z.minLength(1))),
  memory: z.string().check(z.regex(/^\d+(Mi|Gi)$/)),
  timeoutSeconds: z.number().check(z.int(), z.gte(1), z.lte(3600)),
  maxInstances: z.number().check(z.int(), z.gte(1), z.lte(1000)),
  /** Plain settings for this handler (e.g. the search proxy's PRIMARY_BACKEND); secrets are refused. */
  environment: z.optional(z.record(z.string().check(z.regex(/^[A-Z_][A-Z0-9_]*$/, 'environment variable names are UPPER_SNAKE')), z.string())),
});

/** How the search proxy reaches a VPC (Memorystore has only a private IP). */
const proxyNetworkFields = {
  /** VPC network (name or `projects/<p>/global/networks/<n>`). Default `default`. */
  network: z.optional(z.string().check(z.minLength(1))),
  /** Subnetwork for Direct VPC egress (a proxy on a Cloud Run service, `handlers.searchProxy.image`). Default: the network's subnet of the same name. */
  subnetwork: z.optional(z.string().check(z.minLength(1))),
  /** An existing Serverless VPC Access connector (id) for the proxy function; without it one is created. */
  vpcConnector: z.optional(z.string().check(z.minLength(1))),
  /** The /28 range of the connector created. Default `10.8.0.0/28`. */
  connectorCidr: z.optional(z.string().check(z.regex(/^\d{1,3}(\.\d{1,3}){3}\/28$/, 'must be an unused /28 range, e.g. 10.8.0.0/28'))),
  /** Key of the operator switch (stage and breaker positions) in that Redis. Default `mm:search-proxy:switch`. */
  switchKey: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
};

/**
 * Where the GCP search proxies keep their shared breaker state, replay queue and operator switch (docs/search-proxy.md).
 * `memorystore` (the default): a Memorystore for Redis instance with AUTH and in-transit encryption, reached over the
 * VPC. `external`: your own Redis, its `redis://`/`rediss://` URL (with its password) put by you in the Secret Manager
 * secret `<namePrefix>-search-proxy-redis-url`. `none`: nothing shared (the queue is in memory, the stage is the
 * settings').
 */
export const searchProxyRedisSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('memorystore'),
    ...proxyNetworkFields,
    /** `BASIC` or `STANDARD_HA` (a replica with automatic failover). Default: `STANDARD_HA` in prod, else `BASIC`. */
    tier: z.optional(z.enum(['BASIC', 'STANDARD_HA'])),
    memorySizeGb: z.optional(z.number().check(z.int(), z.gte(1), z.lte(300))),
    /** Default `REDIS_7_2`. */
    redisVersion: z.optional(z.string().check(z.regex(/^REDIS_\d+_\d+$/))),
    /** `DIRECT_PEERING` (default) or `PRIVATE_SERVICE_ACCESS` (needs a service networking connection on the network). */
    connectMode: z.optional(z.enum(['DIRECT_PEERING', 'PRIVATE_SERVICE_ACCESS'])),
  }),
  z.strictObject({
    type: z.literal('external'),
    ...proxyNetworkFields,
    /** PEM of the CA of a `rediss://` server (public: not a secret). */
    ca: z.optional(z.string().check(z.regex(/-----BEGIN CERTIFICATE-----/, 'PEM certificate(s)'))),
  }),
  z.strictObject({ type: z.literal('none') }),
]);
export type SearchProxyRedisSettings = z.output<typeof searchProxyRedisSchema>;

export const gcpConfigSchema = z.strictObject({
  env: z.enum(ENVIRONMENTS),
  /** Terraform stack name. */
  stackName: z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/)),
  /** Project id; unset = the stack declares a `project_id` Terraform variable (`TF_VAR_project_id`). */
  project: z.optional(z.string().check(z.regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a GCP project id'))),
  region: z.string().check(z.regex(/^[a-z]+-[a-z]+\d+$/, 'must be a GCP region such as europe-west1')),
  /** Prefix of every resource name. */
  namePrefix: z.string().check(z.regex(/^[a-z][a-z0-9-]{1,14}$/, 'must be 2-15 lowercase letters, digits or hyphens')),
  labels: z.record(z.string(), z.string()),
  reportBucket: z.strictObject({
    /** Globally unique; default `<project>-<namePrefix>-reports`. */
    name: z.optional(z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/))),
    location: z.string().check(z.minLength(2)),
    nearlineAfterDays: z.number().check(z.int(), z.gte(0)),
    deleteAfterDays: z.number().check(z.int(), z.gte(0)),
    retentionDays: z.optional(z.number().check(z.int(), z.gte(1))),
    lockRetention: z.boolean(),
    /** CMEK for reports and secrets. */
    kmsKeyName: z.optional(z.string().check(z.regex(/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/))),
    forceDestroy: z.boolean(),
  }),
  handlers: z.strictObject({ report: handlerSchema, validate: handlerSchema, searchProxy: handlerSchema, logIngest: handlerSchema }),
  /**
   * Track migrations from the logs they already write (docs/log-tracking.md): a Cloud Logging sink → Pub/Sub →
   * the log-ingest handler (`handlers.logIngest`). Deployed only when this section (or MM_LOG_INGEST_FILTER) is set.
   */
  logIngest: z.optional(z
    .strictObject({
      /** Cloud Logging filter selecting the migration jobs' logs, e.g. `resource.type="cloud_run_job" AND resource.labels.job_name="tenant-migrator"`. */
      filter: z.string().check(z.trim(), z.minLength(1, 'must select the migration jobs\' logs (an empty filter would export every log of the project)')),
      /** Sink only the entries carrying a well-known event's text. Default: true unless `watch` adds patterns or drops the defaults. */
      wellKnownEventsOnly: z.optional(z.boolean()),
      /** Pub/Sub deliveries before a message goes to the dead-letter topic (5-100, default 10). */
      maxDeliveryAttempts: z.optional(z.number().check(z.int(), z.gte(5), z.lte(100))),
      /** The log analyzer's config (patterns, phaseMap, fields...), given to the handler as LOG_WATCH_CONFIG; checked at synth. */
      watch: z.optional(z.record(z.string(), z.unknown())),
    })),
  /** Where the report handler delivers (lambda/report.ts REPORT_OUTPUTS): `gcs` archives in the report bucket. */
  reportOutputs: z.array(z.enum(['gcs', 'email', 'slack'])).check(z.minLength(1)),
  /** The search proxies' shared Redis (breaker state, replay queue, operator switch). Default `{type: 'memorystore'}`. */
  searchProxyRedis: z._default(searchProxyRedisSchema, { type: 'memorystore' as const }),
  /** Put the search proxy behind an HTTPS load balancer on this domain (ingress internal + load balancer). */
  searchProxyLoadBalancer: z.optional(z.strictObject({ domain: z.string().check(z.minLength(3)), securityPolicy: z.optional(z.string().check(z.minLength(1))) })),
  schedules: z.strictObject({
    timeZone: z.string().check(z.minLength(1)),
    reportHour: z.number().check(z.int(), z.gte(0), z.lte(23)),
    reportMinute: z.number().check(z.int(), z.gte(0), z.lte(59)),
    validationEveryMinutes: z.number().check(z.int(), z.gte(1), z.lte(1440)),
    /** JSON event the daily report job sends. */
    reportEvent: z.record(z.string(), z.unknown()),
    validationEvent: z.record(z.string(), z.unknown()),
  }),
  alerts: z.strictObject({
    channels: z.array(z.strictObject({ purpose: z.string(), emails: z.array(z.email()).check(z.maxLength(20)), severities: z.array(z.enum(['critical', 'warning'])).check(z.minLength(1)) })),
    runbookUrl: z.optional(z.url()),
    overrides: z.record(z.string(), alarmOverrideSchema),
  }),
  /** Where the tracker API (on AWS) is and the role the handlers assume to call it without keys. */
  tracker: z.strictObject({
    apiUrl: z.optional(z.url()),
    awsRoleArn: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'must be an IAM role ARN'))),
    awsRegion: z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/)),
  }),
  /** Service account the function builds run as; default the project's build account. */
  buildServiceAccount: z.optional(z.email()),
  /** Spans of every handler to Cloud Trace (OTLP, docs/tracing.md); unset = only the trace field on log lines. */
  tracing: z.optional(z.strictObject({ sampleRatio: z.optional(z.number().check(z.gte(0), z.lte(1))) })),
  backend: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('local'), path: z.optional(z.string().check(z.minLength(1))) }),
    z.strictObject({ type: z.literal('gcs'), bucket: z.string().check(z.minLength(3)), prefix: z.string().check(z.minLength(1)) }),
  ]),
});
export type GcpConfig = z.output<typeof gcpConfigSchema>;

export class GcpConfigError extends Error {}

const handler = (entry: string, memory = '512Mi', timeoutSeconds = 300) => ({ entry, exportName: 'handler', adapter: 'http' as const, memory, timeoutSeconds, maxInstances: 3 });

/** The preset of an environment (before MM_GCP_CONFIG and variables, or a construct's props, apply). */
export function gcpDefaults(env: Environment): GcpConfig {
  return {
    env,
    stackName: `migration-monitor-gcp-${env}`,
    region: 'europe-west1',
    namePrefix: `mm-${env}`,
    labels: {},
    reportBucket: { location: 'EU', nearlineAfterDays: env === 'dev' ? 0 : 30, deleteAfterDays: env === 'dev' ? 30 : 365, lockRetention: false, forceDestroy: env === 'dev' },
    handlers: {
      // The Cloud Run shells (cloud-run/*.ts), served by lib/adapters/gcp/cloud-run.ts.
      report: handler('cloud-run/report.ts'),
      validate: handler('cloud-run/validate.ts', '1Gi', 900),
      searchProxy: { ...handler('cloud-run/search-proxy.ts', '512Mi', 30), maxInstances: env === 'prod' ? 20 : 5 },
      // One instance (one request at a time): a migration's lines apply in the order they arrive, as on AWS.
      logIngest: { ...handler('cloud-run/log-ingest.ts', '512Mi', 60), maxInstances: 1 },
    },
    reportOutputs: ['gcs', 'slack'],
    searchProxyRedis: { type: 'memorystore' },
    schedules: { timeZone: 'Etc/UTC', reportHour: 7, reportMinute: 0, validationEveryMinutes: env === 'dev' ? 60 : 15, reportEvent: {}, validationEvent: {} },
    // Same thresholds per environment as the AWS stack (lib/config/environments.ts).
    alerts: { channels: [], overrides: alarmOverrides(ENVIRONMENT_SETTINGS[env]) },
    tracker: { awsRegion: 'eu-west-1' },
    backend: { type: 'local' },
  };
}

export function validateGcpConfig(cfg: unknown): GcpConfig {
  const secrets = findSecretLikeValues(cfg);
  if (secrets.length) throw new GcpConfigError(`the GCP config must not hold secret values (put them in Secret Manager): ${secrets.join('; ')}`);
  const r = gcpConfigSchema.safeParse(cfg);
  if (!r.success) throw new GcpConfigError(`invalid GCP stack config: ${formatZodError(r.error)}`);
  const unknown = Object.keys(r.data.alerts.overrides).filter((id) => !ALARMS.some((a) => a.id === id));
  if (unknown.length) throw new GcpConfigError(`invalid GCP stack config: unknown alarm id(s) in alerts.overrides: ${unknown.join(', ')}`);
  try {
    Intl.DateTimeFormat('en', { timeZone: r.data.schedules.timeZone });
  } catch {
    throw new GcpConfigError(`invalid GCP stack config: schedules.timeZone "${r.data.schedules.timeZone}" is not an IANA time zone`);
  }
  if (r.data.reportBucket.forceDestroy && r.data.env !== 'dev') throw new GcpConfigError(`invalid GCP stack config: reportBucket.forceDestroy is only allowed in dev`);
  if (r.data.logIngest) {
    // The handler calls the tracker API: without its URL it would fail every cold start.
    if (!r.data.tracker.apiUrl) throw new GcpConfigError('invalid GCP stack config: logIngest needs tracker.apiUrl (MM_TRACKER_URL): the log-ingest handler reports to the tracker API');
    try {
      parseLogWatchConfig(r.data.logIngest.watch ?? {});
    } catch (e) {
      throw new GcpConfigError(`invalid GCP stack config: logIngest.watch: ${(e as Error).message}`);
    }
  }
  const onCall = onCallCheck(r.data.env, r.data.alerts.channels.flatMap((c) => c.emails), 'MM_ALERT_EMAILS (or alerts.channels in MM_GCP_CONFIG)');
  if (onCall.error) throw new GcpConfigError(`invalid GCP stack config: ${onCall.error}`);
  return r.data;
}

export function deepMerge(a: Record<string, any>, b: unknown): Record<string, any> {
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new GcpConfigError('config sections must be objects');
  const out: Record<string, any> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object' && !Array.isArray(a[k]) ? deepMerge(a[k], v) : v;
  }
  return out;
}
