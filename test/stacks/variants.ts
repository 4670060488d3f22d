/**
 * The synthesized variants the deploy gates (cfn-lint, IAM evaluation, environments side by side) run on:
 * each environment as configured, and one with every optional part on.
 */
export const PROXY = {
  primary: { config: { kind: 'milvus', collection: 'docs', vectorField: 'embedding' }, urlParameter: '/migration/search/primary-url' },
  fallback: { config: { kind: 'opensearch', index: 'docs', vectorField: 'embedding' }, urlParameter: '/migration/search/fallback-url' },
  credentialsSecret: 'migration/search-credentials',
};

/** Every optional part on: search proxy, log ingest, keyless GCP role, Slack (alerts and reports), pager topic, report email, validation. */
export const EVERYTHING_CONTEXT: Record<string, unknown> = {
  env: 'prod',
  onCallEmails: 'oncall@example.com',
  pagerEndpoints: 'pager@acme.pagerduty.com,https://events.pagerduty.com/integration/0123456789abcdef/enqueue',
  slackWebhookSecret: 'migration/slack-webhook',
  migrations: 'tenant-a',
  searchProxy: JSON.stringify(PROXY),
  reportRecipients: 'team@example.com,cto@example.com',
  reportEmailFrom: 'reports@example.com',
  reportSlackWebhookSecret: 'migration/report-slack',
  validation: JSON.stringify({ configParameter: '/migration/validation-config', everyMinutes: 15, migrationId: 'tenant-a', connectors: ['postgres', 'redis'], resources: { dynamodbTables: ['orders'], s3Buckets: ['acme-data'], lambdaFunctions: ['orders-api'] } }),
  gcpServiceAccountIds: '103984732984732984732',
  logGroups: '/ecs/tenant-migrator,/migration/cutover',
  // the GitHub Actions deploy role stack (MigrationMonitoring-ci)
  ciRepository: 'acme/migration-monitor',
};

/** dev, staging, prod as a team would deploy them (staging and prod need on-call addresses), plus everything on. */
export const AWS_VARIANTS: Record<string, Record<string, unknown>> = {
  dev: { env: 'dev' },
  staging: { env: 'staging', onCallEmails: 'oncall@example.com' },
  prod: { env: 'prod', onCallEmails: 'oncall@example.com' },
  everything: EVERYTHING_CONTEXT,
};

/**
 * The feature flags and settings of cdk.json (what `cdk synth` runs with), so tests synthesize the same
 * template the CLI does. `env` is left to each variant.
 */
export function cdkJsonContext(): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { env: _env, ...context } = (require('../../cdk.json') as { context: Record<string, unknown> }).context;
  return context;
}
