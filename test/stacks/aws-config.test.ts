import { ConfigError, CONFIGS, alarmOverrides, configFromContext } from '../../stacks/aws/config';

const ctx = (values: Record<string, unknown>) => ({ tryGetContext: (k: string) => values[k] });

describe('AWS stack config', () => {
  it('defaults to dev and differs per environment in retention, protection and thresholds', () => {
    expect(configFromContext(ctx({})).env).toBe('dev');
    const dev = configFromContext(ctx({ env: 'dev' }));
    const prod = configFromContext(ctx({ env: 'prod', onCallEmails: 'oncall@example.com' }));
    expect(dev.retainData).toBe(false);
    expect(prod.retainData).toBe(true);
    expect(dev.deletionProtection).toBe(false);
    expect(prod.deletionProtection).toBe(true);
    expect(alarmOverrides(dev)['error-rate-high']?.threshold).not.toBe(alarmOverrides(prod)['error-rate-high']?.threshold);
  });

  it('takes on-call addresses, Slack secret, migrations and time zone from context', () => {
    const c = configFromContext(ctx({ env: 'staging', onCallEmails: 'a@example.com, b@example.com', slackWebhookSecret: 'migration/slack', migrations: 'm1,m2', timeZone: 'Europe/Berlin' }));
    expect(c.onCallEmails).toEqual(['a@example.com', 'b@example.com']);
    expect(c.slackWebhookSecret).toBe('migration/slack');
    expect(c.migrations).toEqual(['m1', 'm2']);
    expect(c.schedule.timeZone).toBe('Europe/Berlin');
  });

  it('derives the stalled alarm window from stallMinutes (5-minute periods)', () => {
    const o = alarmOverrides({ ...CONFIGS.dev, stallMinutes: 60 });
    expect(o['migration-stalled']).toEqual({ evaluationPeriods: 12, datapointsToAlarm: 12 });
  });

  it('has the daily report on by default, and takes its email, Slack and on/off from context', () => {
    const dev = configFromContext(ctx({}));
    expect(dev.reports).toMatchObject({ enabled: true, prefix: 'reports', format: 'html', retentionDays: 30 });
    expect(dev.reports.email).toBeUndefined();
    expect(configFromContext(ctx({ env: 'prod', onCallEmails: 'oncall@example.com' })).reports.retentionDays).toBe(730);
    const c = configFromContext(ctx({ reportRecipients: 'a@example.com,b@example.com', reportEmailFrom: 'reports@example.com', reportSlackWebhookSecret: 'migration/report-slack' }));
    expect(c.reports.email).toEqual({ from: 'reports@example.com', recipients: ['a@example.com', 'b@example.com'], via: 'ses' });
    expect(c.reports.slackWebhookSecret).toBe('migration/report-slack');
    expect(configFromContext(ctx({ reports: 'false' })).reports.enabled).toBe(false);
    expect(() => configFromContext(ctx({ reports: 'no' }))).toThrow(/reports context must be true or false, not "no"/);
    expect(() => configFromContext(ctx({ reportRecipients: 'a@example.com' }))).toThrow(/reports.email.from/);
  });

  it('turns on validation, the GCP keyless role and the log subscription from context, with defaults', () => {
    expect(configFromContext(ctx({})).validation).toBeUndefined();
    const v = configFromContext(ctx({ validationConfigParameter: '/migration/validation-config', validationEveryMinutes: '15', validationMigration: 'tenant-a' })).validation;
    // connectors unset: ValidationFunction's default (DEFAULT_BUNDLED_CONNECTORS with a parameter, the config's types with a file)
    expect(v).toEqual({ configParameter: '/migration/validation-config', everyMinutes: 15, migrationId: 'tenant-a', timeoutSeconds: 300, memoryMb: 1024, resources: { dynamodbTables: [], s3Buckets: [], lambdaFunctions: [] } });
    expect(configFromContext(ctx({ validationConfigFile: 'checks.yaml' })).validation).toMatchObject({ configFile: 'checks.yaml', everyMinutes: 60 });
    expect(() => configFromContext(ctx({ validationConfigFile: 'checks.yaml', validationConfigParameter: '/v' }))).toThrow(/validation\.configFile: give exactly one of configFile and configParameter/);
    expect(() => configFromContext(ctx({ validation: { everyMinutes: 15 } }))).toThrow(/give exactly one of configFile and configParameter/);
    const j = configFromContext(ctx({ validation: { configParameter: '/v', resources: { dynamodbTables: ['orders'] } } })).validation;
    expect(j).toMatchObject({ everyMinutes: 60, resources: { dynamodbTables: ['orders'] } });
    expect(() => configFromContext(ctx({ validation: '{"configParameter": "/v", "everyMinutes": 1}' }))).toThrow(/validation.everyMinutes/);
    expect(() => configFromContext(ctx({ validation: '{nope' }))).toThrow(/validation context is not JSON/);
    // the connector types whose drivers the validation bundle carries
    expect(configFromContext(ctx({ validationConfigParameter: '/v', validationConnectors: 'postgres, redis' })).validation?.connectors).toEqual(['postgres', 'redis']);
    expect(() => configFromContext(ctx({ validationConfigParameter: '/v', validationConnectors: 'postgres,mongodb' }))).toThrow(/validation\.connectors\[1\]: .*"postgres"\|"dynamodb"\|"redis"\|"http-json"\|"file"/);

    const g = configFromContext(ctx({ gcpServiceAccountIds: '103984732984732984732, 113984732984732984733' })).gcpKeyless;
    expect(g).toEqual({ serviceAccountIds: ['103984732984732984732', '113984732984732984733'], audience: 'sts.amazonaws.com' });
    expect(() => configFromContext(ctx({ gcpServiceAccountIds: 'report@p.iam.gserviceaccount.com' }))).toThrow(/not an e-mail/);

    expect(configFromContext(ctx({ logGroups: '/ecs/a,/ecs/b' })).logSubscription).toEqual({ logGroups: ['/ecs/a', '/ecs/b'] });
    const l = configFromContext(ctx({ logSubscription: '{"logGroups": ["/ecs/a"], "config": {"phaseMap": {"bulk-copy": "database"}}}', logGroups: '/ecs/c' })).logSubscription;
    expect(l).toEqual({ logGroups: ['/ecs/c'], config: { phaseMap: { 'bulk-copy': 'database' } } });
    expect(() => configFromContext(ctx({ logGroups: 'bad group!' }))).toThrow(/logSubscription.logGroups\[0\]: must be a CloudWatch log group name/);
  });

  it('names the problem for a bad environment, address or time zone', () => {
    expect(() => configFromContext(ctx({ env: 'qa' }))).toThrow(new ConfigError('unknown environment "qa": use -c env=dev|staging|prod'));
    expect(() => configFromContext(ctx({ onCallEmails: 'not-an-email' }))).toThrow(/onCallEmails\[0\]/);
    expect(() => configFromContext(ctx({ timeZone: 'Mars/Olympus' }))).toThrow(/schedule.timeZone "Mars\/Olympus" is not an IANA time zone/);
  });
});
