import { findSecretLikeValues } from './secret-scan';

/**
 * Security policies over synthesized Terraform JSON (cdk.tf.json), independent of how it was produced: the
 * tests run them on every environment's stack, and a team can run them on its own synth output in CI.
 */
export interface Violation {
  rule: 'public-member' | 'bucket-access' | 'ingress-all' | 'scheduler-oidc' | 'shared-service-account' | 'secret-value' | 'invoker-not-scheduler';
  resource: string;
  message: string;
}

type Res = Record<string, any>;
type TfJson = { resource?: Record<string, Record<string, Res>> };

const PUBLIC = ['allUsers', 'allAuthenticatedUsers'];
/** Marker the constructs put in a description when ingress "all" was asked for with a reason. */
export const INGRESS_ALL_REASON = 'ingress-all-reason:';

function* each(json: TfJson, filter?: (type: string) => boolean): Generator<[string, string, Res]> {
  for (const [type, byName] of Object.entries(json.resource ?? {})) {
    if (filter && !filter(type)) continue;
    for (const [name, res] of Object.entries(byName)) yield [type, name, res];
  }
}

const first = <T>(v: T | T[] | undefined): T | undefined => (Array.isArray(v) ? v[0] : v);

/** `google_x.name` of the first Terraform reference in a value (`${google_x.name.uri}/path` → `google_x.name`); literals give undefined. */
const referencedResource = (v: unknown): string | undefined => (typeof v === 'string' ? /\$\{(google_[a-z0-9_]+\.[A-Za-z0-9_-]+)[.}]/.exec(v)?.[1] : undefined);

export function checkGcpPolicies(json: TfJson): Violation[] {
  const out: Violation[] = [];
  const add = (rule: Violation['rule'], type: string, name: string, message: string) => out.push({ rule, resource: `${type}.${name}`, message });

  // 1. no public IAM member, in members, bindings or whole policies
  for (const [type, name, r] of each(json, (t) => t.includes('_iam_'))) {
    const members: string[] = [...(r['member'] ? [r['member']] : []), ...(Array.isArray(r['members']) ? r['members'] : [])];
    const policy = typeof r['policy_data'] === 'string' ? r['policy_data'] : '';
    for (const p of PUBLIC) {
      if (members.includes(p) || policy.includes(`"${p}"`)) add('public-member', type, name, `grants ${r['role'] ?? 'a role'} to ${p}`);
    }
  }

  // 2. buckets: uniform bucket-level access and enforced public access prevention
  for (const [type, name, r] of each(json, (t) => t === 'google_storage_bucket')) {
    if (r['uniform_bucket_level_access'] !== true) add('bucket-access', type, name, 'uniform_bucket_level_access is not true');
    if (r['public_access_prevention'] !== 'enforced') add('bucket-access', type, name, `public_access_prevention is "${r['public_access_prevention'] ?? 'inherited'}", not "enforced"`);
  }

  // 3. ingress "all" only with a recorded reason
  const reasoned = (r: Res) => typeof r['description'] === 'string' && r['description'].includes(INGRESS_ALL_REASON);
  for (const [type, name, r] of each(json, (t) => t === 'google_cloud_run_v2_service' || t === 'google_cloudfunctions2_function' || t === 'google_cloud_run_service')) {
    const ingress =
      type === 'google_cloud_run_v2_service'
        ? (r['ingress'] ?? 'INGRESS_TRAFFIC_ALL')
        : type === 'google_cloudfunctions2_function'
          ? (first(r['service_config'])?.['ingress_settings'] ?? 'ALLOW_ALL')
          : (first(r['metadata'])?.['annotations']?.['run.googleapis.com/ingress'] ?? 'all');
    if ((ingress === 'INGRESS_TRAFFIC_ALL' || ingress === 'ALLOW_ALL' || ingress === 'all') && !reasoned(r)) {
      add('ingress-all', type, name, `ingress ${ingress} without a reason (description "${INGRESS_ALL_REASON} ...")`);
    }
  }

  // 4. scheduler HTTP jobs authenticate with OIDC
  const schedulerAccounts = new Set<string>();
  for (const [type, name, r] of each(json, (t) => t === 'google_cloud_scheduler_job')) {
    const target = first(r['http_target']);
    if (!target) continue;
    const oidc = first(target['oidc_token']);
    if (!oidc?.['service_account_email']) add('scheduler-oidc', type, name, 'HTTP target without an OIDC token');
    else schedulerAccounts.add(oidc['service_account_email']);
  }

  // 5. one service account per handler
  const owners = new Map<string, string>();
  for (const [type, name, r] of each(json, (t) => t === 'google_cloud_run_v2_service' || t === 'google_cloudfunctions2_function')) {
    const sa = type === 'google_cloud_run_v2_service' ? first(r['template'])?.['service_account'] : first(r['service_config'])?.['service_account_email'];
    if (!sa) {
      add('shared-service-account', type, name, 'runs as the default compute service account (no service account set)');
      continue;
    }
    const prev = owners.get(sa);
    if (prev) add('shared-service-account', type, name, `shares its service account with ${prev}`);
    else owners.set(sa, `${type}.${name}`);
  }

  // 6. a handler's invokers are the scheduler account, or the account whose OIDC token a Pub/Sub push
  //    subscription sends to that very handler (log ingest); nobody else
  const pushAccounts = new Map<string, Set<string>>(); // target resource address → accounts
  for (const [, , r] of each(json, (t) => t === 'google_pubsub_subscription')) {
    const push = first(r['push_config']);
    const email = first(push?.['oidc_token'])?.['service_account_email'];
    const target = referencedResource(push?.['push_endpoint']);
    if (typeof email === 'string' && target) pushAccounts.set(target, (pushAccounts.get(target) ?? new Set()).add(email));
  }
  for (const [type, name, r] of each(json, (t) => t.endsWith('_iam_member') && (t.startsWith('google_cloud_run') || t.startsWith('google_cloudfunctions')))) {
    if (r['role'] !== 'roles/run.invoker' && r['role'] !== 'roles/cloudfunctions.invoker') continue;
    if (PUBLIC.includes(r['member'])) continue; // rule 1 reports it
    const email = String(r['member'] ?? '').replace(/^serviceAccount:/, '');
    const target = referencedResource(r['name'] ?? r['service'] ?? r['cloud_function']);
    if (schedulerAccounts.has(email) || (target && pushAccounts.get(target)?.has(email))) continue;
    add('invoker-not-scheduler', type, name, `${r['member']} may invoke, but signs neither a scheduler job's token nor the token of a push subscription to this handler`);
  }

  // 7. no secret values: no secret version with literal data, nothing that looks like a credential. A variable
  //    is allowed, and a write-only copy of another resource's attribute (a Memorystore AUTH string): the value is
  //    in no configuration, and the write-only argument keeps it out of the version's state.
  for (const [type, name, r] of each(json, (t) => t === 'google_secret_manager_secret_version' || t === 'google_secret_manager_regional_secret_version')) {
    const variable = (v: unknown) => typeof v === 'string' && /^\$\{var\.[A-Za-z0-9_-]+\}$/.test(v);
    const resourceAttribute = (v: unknown) => typeof v === 'string' && /^\$\{google_[a-z0-9_]+\.[A-Za-z0-9_-]+\.[a-z0-9_]+\}$/.test(v);
    if (typeof r['secret_data'] === 'string' && !variable(r['secret_data'])) add('secret-value', type, name, 'secret version with a literal value (it lands in the state): add versions out of band');
    if (typeof r['secret_data_wo'] === 'string' && !variable(r['secret_data_wo']) && !resourceAttribute(r['secret_data_wo'])) add('secret-value', type, name, 'secret version with a literal value: add versions out of band');
  }
  for (const [type, name, r] of each(json)) {
    for (const hit of findSecretLikeValues(r)) add('secret-value', type, name, hit);
  }
  return out;
}
