import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CloudRunHandler } from '../../../lib/constructs/gcp/cloud-run-handler';
import { SecureBucket } from '../../../lib/constructs/gcp/report-bucket';
import { HandlerSecrets } from '../../../lib/constructs/gcp/secrets';
import { Schedules, dailyAt, everyMinutes } from '../../../lib/constructs/gcp/scheduler';
import { bundleHandler } from '../../../lib/constructs/gcp/bundle';
import { only, placement, resources, synthJson } from './synth-helpers';
import type { TerraformStack } from 'cdktf';

function handler(s: TerraformStack, extra: Partial<ConstructorParameters<typeof CloudRunHandler>[2]> = {}) {
  const sources = new SecureBucket(s, 'sources', { name: 'src', location: 'EU', env: 'prod', versioning: false });
  const secrets = new HandlerSecrets(s, 'secrets', { placement });
  return new CloudRunHandler(s, 'report', {
    placement,
    purpose: 'report',
    entry: 'lambda/report.ts',
    adapter: 'http',
    sourceBucket: sources,
    skipBundling: true,
    secrets,
    secretEnv: { TRACKER_TOKEN: 'tracker-api-credentials', SLACK_WEBHOOK_URL: 'slack-webhook' },
    environment: { MM_REPORT_BUCKET: 'reports' },
    ...extra,
  });
}

describe('CloudRunHandler (Cloud Run function, 2nd gen)', () => {
  it('deploys the zipped bundle from the source bucket with its own service account, internal ingress and secrets from Secret Manager', () => {
    const json = synthJson((s) => handler(s));
    const fn = only(json, 'google_cloudfunctions2_function');
    expect(fn.name).toBe('mm-prod-report');
    expect(fn.build_config).toMatchObject({ runtime: 'nodejs24', entry_point: 'mmHandler' });
    expect(fn.build_config.source.storage_source.object).toMatch(/^\$\{google_storage_bucket_object\./);
    expect(fn.service_config).toMatchObject({
      ingress_settings: 'ALLOW_INTERNAL_ONLY',
      service_account_email: expect.stringMatching(/^\$\{google_service_account\..*\.email\}$/),
      environment_variables: { MM_HANDLER: 'report', MM_ENV: 'prod', MM_RUNTIME: 'cloud-run', MM_REPORT_BUCKET: 'reports' },
      secret_environment_variables: [
        { key: 'TRACKER_TOKEN', project_id: 'test-project', secret: 'mm-prod-tracker-api-credentials', version: 'latest' },
        { key: 'SLACK_WEBHOOK_URL', project_id: 'test-project', secret: 'mm-prod-slack-webhook', version: 'latest' },
      ],
    });
    // the revision starts only after it can read its secrets
    expect(fn.depends_on).toHaveLength(2);
    expect(only(json, 'google_storage_bucket_object').name).toMatch(/^report\/[0-9A-F]+\.zip$/i);
    const sa = only(json, 'google_service_account');
    expect(sa.account_id).toBe('mm-prod-report');
    const accessors = resources(json, 'google_secret_manager_secret_iam_member').map(([, r]) => r);
    expect(accessors).toHaveLength(2);
    for (const a of accessors) expect(a).toMatchObject({ role: 'roles/secretmanager.secretAccessor', member: expect.stringMatching(/^serviceAccount:\$\{google_service_account\./) });
    // secrets are declared without any version: no value in the configuration or the state
    expect(resources(json, 'google_secret_manager_secret')).toHaveLength(3); // tracker credentials, Slack webhook, validation config
    expect(resources(json, 'google_secret_manager_secret_version')).toHaveLength(0);
  });

  it('grants run.invoker on its own service to one service account', () => {
    const json = synthJson((s) => handler(s).grantInvoker('ops', 'ops@test-project.iam.gserviceaccount.com'));
    expect(only(json, 'google_cloud_run_v2_service_iam_member')).toMatchObject({
      name: expect.stringMatching(/^\$\{google_cloudfunctions2_function\.[A-Za-z0-9_]+\.name\}$/),
      role: 'roles/run.invoker',
      member: 'serviceAccount:ops@test-project.iam.gserviceaccount.com',
      location: 'europe-west1',
    });
  });

  it('opens to a load balancer only when asked, and to all only with a reason', () => {
    const lb = synthJson((s) => handler(s, { ingress: 'internal-and-lb' }));
    expect(only(lb, 'google_cloudfunctions2_function').service_config.ingress_settings).toBe('ALLOW_INTERNAL_AND_GCLB');
    expect(() => synthJson((s) => handler(s, { ingress: { all: ' ' } }))).toThrow(/ingress "all" needs a reason/);
  });

  it('runs a supplied image as a Cloud Run v2 service, secrets mounted by reference', () => {
    const json = synthJson((s) => handler(s, { image: 'europe-docker.pkg.dev/p/r/report:1.0.0' }));
    expect(resources(json, 'google_cloudfunctions2_function')).toHaveLength(0);
    const svc = only(json, 'google_cloud_run_v2_service');
    expect(svc).toMatchObject({ name: 'mm-prod-report', ingress: 'INGRESS_TRAFFIC_INTERNAL_ONLY', deletion_protection: true, location: 'europe-west1' });
    const c = svc.template.containers[0];
    expect(c.image).toBe('europe-docker.pkg.dev/p/r/report:1.0.0');
    expect(c.env).toEqual(
      expect.arrayContaining([
        { name: 'MM_HANDLER', value: 'report' },
        { name: 'TRACKER_TOKEN', value_source: { secret_key_ref: { secret: 'mm-prod-tracker-api-credentials', version: 'latest' } } },
      ]),
    );
    expect(svc.template.service_account).toMatch(/^\$\{google_service_account\./);
  });

  it('refuses a secret in a plain environment variable, naming it', () => {
    expect(() => synthJson((s) => handler(s, { environment: { SLACK: 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX' } }))).toThrow(/SLACK: Slack webhook URL/);
    expect(() => synthJson((s) => handler(s, { secretEnv: { X: 'nope' } }))).toThrow(/unknown secret "nope"/);
  });
});

describe('bundleHandler', () => {
  it('bundles a handler and the Cloud Run entry into one index.js that exports the Functions Framework entry point', () => {
    const dir = bundleHandler({ entry: path.join(__dirname, 'fixtures/echo-handler.ts'), exportName: 'handler', adapter: 'http', name: 'echo' });
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    expect(pkg.main).toBe('index.js');
    const mod = require(path.join(dir, 'index.js'));
    expect(typeof mod.mmHandler).toBe('function');
    expect(existsSync(path.join(dir, 'index.js'))).toBe(true);
  });

  it('names a missing entry file', () => {
    expect(() => bundleHandler({ entry: 'lambda/does-not-exist.ts', exportName: 'handler', adapter: 'http', name: 'x' })).toThrow(/lambda\/does-not-exist.ts does not exist/);
  });
});

describe('Schedules', () => {
  it('calls the handler with an OIDC token from a dedicated scheduler account that alone may invoke it', () => {
    const json = synthJson((s) => {
      const h = handler(s);
      new Schedules(s, 'schedules', {
        placement,
        timeZone: 'Europe/Berlin',
        jobs: [
          { id: 'daily-report', description: 'Daily status report', target: h, cron: dailyAt(7), body: { kind: 'daily' } },
          { id: 'validation', description: 'Validation', target: h, cron: everyMinutes(15), retryCount: 1 },
        ],
      });
    });
    const jobs = resources(json, 'google_cloud_scheduler_job').map(([, j]) => j);
    expect(jobs).toHaveLength(2);
    const daily = jobs.find((j) => j.name === 'mm-prod-daily-report')!;
    expect(daily).toMatchObject({
      schedule: '0 7 * * *',
      time_zone: 'Europe/Berlin',
      region: 'europe-west1',
      retry_config: { retry_count: 3, min_backoff_duration: '30s', max_backoff_duration: '600s', max_doublings: 3 },
      http_target: {
        http_method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        oidc_token: { service_account_email: expect.stringMatching(/^\$\{google_service_account\.schedules_sa/), audience: expect.stringMatching(/service_config\[0\]\.uri|service_config\.0\.uri/) },
      },
    });
    expect(JSON.parse(Buffer.from(daily.http_target.body, 'base64').toString())).toEqual({ kind: 'daily' });
    expect(jobs.find((j) => j.name === 'mm-prod-validation')!.schedule).toBe('*/15 * * * *');
    // one invoker grant per target service, to the scheduler account only
    const invokers = resources(json, 'google_cloud_run_v2_service_iam_member').map(([, r]) => r);
    expect(invokers).toHaveLength(1);
    expect(invokers[0]!.member).toMatch(/^serviceAccount:\$\{google_service_account\.schedules_sa/);
  });

  it('validates cron, time zone, retries and deadlines', () => {
    expect(everyMinutes(5)).toBe('*/5 * * * *');
    expect(everyMinutes(120)).toBe('0 */2 * * *');
    expect(() => everyMinutes(7)).toThrow(/does not divide an hour/);
    expect(() => dailyAt(24)).toThrow(/invalid time/);
    const mk = (p: object, tz = 'Etc/UTC') => () =>
      synthJson((s) => new Schedules(s, 'x', { placement, timeZone: tz, jobs: [{ id: 'j', description: 'd', target: handler(s), cron: '0 7 * * *', ...p }] }));
    expect(mk({}, 'not a zone')).toThrow(/invalid time zone/);
    expect(mk({ cron: 'daily' })).toThrow(/not a 5-field unix-cron/);
    expect(mk({ retryCount: 9 })).toThrow(/retryCount must be 0-5/);
    expect(mk({ attemptDeadlineSeconds: 5 })).toThrow(/attemptDeadlineSeconds must be 15-1800/);
  });
});
