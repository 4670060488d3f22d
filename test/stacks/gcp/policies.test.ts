import { checkGcpPolicies } from '../../../lib/constructs/gcp/policy-checks';
import { configFor, stackJson } from './helpers';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));
const first = (json: Record<string, any>, type: string) => Object.values(json.resource[type])[0] as Record<string, any>;

describe('policy tests over the synthesized JSON', () => {
  const stacks = Object.fromEntries(['dev', 'staging', 'prod'].map((env) => [env, stackJson(configFor(env))]));

  it.each(['dev', 'staging', 'prod'])('%s stack passes every policy', (env) => {
    expect(checkGcpPolicies(stacks[env] as any)).toEqual([]);
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
});
