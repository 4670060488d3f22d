import { checkGcpPolicies } from '../../../lib/constructs/gcp/policy-checks';
import { configFor, stackJson } from './helpers';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));
const LOG_FILTER = { MM_LOG_INGEST_FILTER: 'resource.type="cloud_run_job" AND resource.labels.job_name="tenant-migrator"' };
const first = (json: Record<string, any>, type: string) => Object.values(json.resource[type])[0] as Record<string, any>;

describe('policy tests over the synthesized JSON', () => {
  const stacks = Object.fromEntries(['dev', 'staging', 'prod'].map((env) => [env, stackJson(configFor(env))]));

  it.each(['dev', 'staging', 'prod'])('%s stack passes every policy', (env) => {
    expect(checkGcpPolicies(stacks[env] as any)).toEqual([]);
  });

  const withLogs = stackJson(configFor('prod', LOG_FILTER));
  it('prod stack with log ingest passes every policy (the push subscription\'s account may invoke log-ingest)', () => {
    expect(Object.keys(withLogs.resource.google_pubsub_subscription)).toHaveLength(2);
    expect(checkGcpPolicies(withLogs as any)).toEqual([]);
  });

  const prod = stacks['prod']!;
  const rules = (json: Record<string, any>) => checkGcpPolicies(json as any).map((v) => v.rule);

  it('fails on a public IAM member', () => {
    const j = clone(prod);
    first(j, 'google_cloud_run_v2_service_iam_member').member = 'allUsers';
    expect(rules(j)).toContain('public-member');
    const k = clone(prod);
    first(k, 'google_storage_bucket_iam_member').member = 'allAuthenticatedUsers';
    expect(rules(k)).toEqual(['public-member']);
  });

  it('fails on a bucket without UBLA or enforced public access prevention', () => {
    const j = clone(prod);
    first(j, 'google_storage_bucket').public_access_prevention = 'inherited';
    expect(rules(j)).toEqual(['bucket-access']);
    const k = clone(prod);
    delete first(k, 'google_storage_bucket').uniform_bucket_level_access;
    expect(rules(k)).toEqual(['bucket-access']);
  });

  it('fails on ingress all without a reason, passes with one', () => {
    const j = clone(prod);
    const fn = first(j, 'google_cloudfunctions2_function');
    fn.service_config.ingress_settings = 'ALLOW_ALL';
    expect(rules(j)).toEqual(['ingress-all']);
    fn.description += ' (ingress-all-reason: public status page)';
    expect(rules(j)).toEqual([]);
  });

  it('fails on a scheduler job without OIDC', () => {
    const j = clone(prod);
    delete first(j, 'google_cloud_scheduler_job').http_target.oidc_token;
    expect(rules(j)).toContain('scheduler-oidc');
  });

  it('fails when two handlers share a service account', () => {
    const j = clone(prod);
    const fns = Object.values(j.resource.google_cloudfunctions2_function) as Record<string, any>[];
    fns[1]!.service_config.service_account_email = fns[0]!.service_config.service_account_email;
    expect(rules(j)).toEqual(['shared-service-account']);
  });

  it('fails on a secret value in the configuration', () => {
    const j = clone(prod);
    first(j, 'google_cloudfunctions2_function').service_config.environment_variables.SLACK = 'https://hooks.slack.com/services/T0000/B0000/abcdefghijkl';
    expect(rules(j)).toEqual(['secret-value']);
    const k = clone(prod);
    k.resource.google_secret_manager_secret_version = { v: { secret: 'x', secret_data: 'hunter2' } };
    expect(rules(k)).toEqual(['secret-value']);
  });

  it('fails when someone other than the scheduler may invoke a handler', () => {
    const j = clone(prod);
    first(j, 'google_cloud_run_v2_service_iam_member').member = 'serviceAccount:someone@acme-migration.iam.gserviceaccount.com';
    expect(rules(j)).toEqual(['invoker-not-scheduler']);
  });

  describe('invokers with log ingest', () => {
    const invokers = (json: Record<string, any>) => json.resource.google_cloud_run_v2_service_iam_member as Record<string, Record<string, any>>;
    const logPushGrant = (json: Record<string, any>) => Object.entries(invokers(json)).find(([n]) => n.startsWith('log-ingest_invoker-log-push'))!;
    const pushSub = (json: Record<string, any>) => (Object.values(json.resource.google_pubsub_subscription) as Record<string, any>[]).find((s) => s.push_config)!;
    const violations = (json: Record<string, any>) => checkGcpPolicies(json as any).map((v) => `${v.rule} ${v.resource}`);

    it('fails when another account may invoke log-ingest', () => {
      const j = clone(withLogs);
      logPushGrant(j)[1].member = 'serviceAccount:someone@acme-migration.iam.gserviceaccount.com';
      expect(violations(j)).toEqual([`invoker-not-scheduler google_cloud_run_v2_service_iam_member.${logPushGrant(j)[0]}`]);
    });

    it('fails when the push account may invoke a handler its subscription does not push to', () => {
      const j = clone(withLogs);
      const [, grant] = logPushGrant(j);
      const report = Object.values(invokers(j)).find((g) => String(g.name).includes('report_function'))!;
      invokers(j)['report_invoker-log-push'] = { ...grant, name: report.name };
      expect(violations(j)).toEqual(['invoker-not-scheduler google_cloud_run_v2_service_iam_member.report_invoker-log-push']);
    });

    it('fails when the subscription pushes elsewhere, or with another account, than the grant on log-ingest', () => {
      const elsewhere = clone(withLogs);
      pushSub(elsewhere).push_config.push_endpoint = pushSub(elsewhere).push_config.push_endpoint.replace(/log-ingest_function_[0-9A-F]+/, (m: string) => m.replace('log-ingest', 'report'));
      expect(rules(elsewhere)).toEqual(['invoker-not-scheduler']);
      const literal = clone(withLogs);
      pushSub(literal).push_config.push_endpoint = 'https://mm-prod-log-ingest-abc.a.run.app';
      expect(rules(literal)).toEqual(['invoker-not-scheduler']);
      const otherAccount = clone(withLogs);
      pushSub(otherAccount).push_config.oidc_token.service_account_email = 'someone@acme-migration.iam.gserviceaccount.com';
      expect(rules(otherAccount)).toEqual(['invoker-not-scheduler']);
    });
  });
});
