import { ConfigError, CONFIGS, alarmOverrides, configFromContext } from '../../stacks/aws/config';

const ctx = (values: Record<string, unknown>) => ({ tryGetContext: (k: string) => values[k] });

describe('AWS stack config', () => {
  it('defaults to dev and differs per environment in retention, protection and thresholds', () => {
    expect(configFromContext(ctx({})).env).toBe('dev');
    const dev = configFromContext(ctx({ env: 'dev' }));
    const prod = configFromContext(ctx({ env: 'prod' }));
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

  it('names the problem for a bad environment, address or time zone', () => {
    expect(() => configFromContext(ctx({ env: 'qa' }))).toThrow(new ConfigError('unknown environment "qa": use -c env=dev|staging|prod'));
    expect(() => configFromContext(ctx({ onCallEmails: 'not-an-email' }))).toThrow(/onCallEmails\[0\]/);
    expect(() => configFromContext(ctx({ timeZone: 'Mars/Olympus' }))).toThrow(/schedule.timeZone "Mars\/Olympus" is not an IANA time zone/);
  });
});
