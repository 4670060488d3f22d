import { Construct } from 'constructs';
import { IamWorkloadIdentityPool } from '@cdktf/provider-google/lib/iam-workload-identity-pool';
import { IamWorkloadIdentityPoolProvider } from '@cdktf/provider-google/lib/iam-workload-identity-pool-provider';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member';

export interface CiDeployIdentityProps {
  readonly project: string;
  /** Number of the project (principal sets name the pool by project number). */
  readonly projectNumber: string;
  /** GitHub repository allowed to deploy, `owner/name`. */
  readonly repository: string;
  /**
   * Project roles the deploy service account holds: what `terraform apply` of the monitoring stack needs.
   * @default DEPLOY_ROLES
   */
  readonly roles?: readonly string[];
}

/** What applying the GCP monitoring stack touches: functions, Cloud Run, buckets, secrets, alerting, logging, scheduler, Pub/Sub, the proxies' Memorystore and VPC connector. */
export const DEPLOY_ROLES = [
  'roles/cloudfunctions.admin',
  'roles/run.admin',
  'roles/storage.admin',
  'roles/secretmanager.admin',
  'roles/monitoring.editor',
  'roles/logging.configWriter',
  'roles/cloudscheduler.admin',
  'roles/pubsub.admin',
  'roles/redis.admin',
  'roles/vpcaccess.admin',
  'roles/iam.serviceAccountAdmin',
  'roles/iam.serviceAccountUser',
  'roles/resourcemanager.projectIamAdmin',
] as const;

/**
 * Keyless deploys from GitHub Actions: a Workload Identity pool with a GitHub OIDC provider that accepts only
 * this repository's tokens, and a deploy service account that only that repository may impersonate.
 */
export class CiDeployIdentity extends Construct {
  readonly providerName: string;
  readonly serviceAccountEmail: string;

  constructor(scope: Construct, id: string, props: CiDeployIdentityProps) {
    super(scope, id);
    if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(props.repository)) throw new Error(`CiDeployIdentity: repository must be owner/name, not "${props.repository}"`);
    const pool = new IamWorkloadIdentityPool(this, 'pool', { project: props.project, workloadIdentityPoolId: 'mm-github', displayName: 'GitHub Actions (migration monitor)' });
    const provider = new IamWorkloadIdentityPoolProvider(this, 'provider', {
      project: props.project,
      workloadIdentityPoolId: pool.workloadIdentityPoolId,
      workloadIdentityPoolProviderId: 'github',
      displayName: 'GitHub OIDC',
      attributeMapping: { 'google.subject': 'assertion.sub', 'attribute.repository': 'assertion.repository', 'attribute.environment': 'assertion.environment' },
      attributeCondition: `assertion.repository == "${props.repository}"`,
      oidc: { issuerUri: 'https://token.actions.githubusercontent.com' },
    });
    const sa = new ServiceAccount(this, 'deployer', { project: props.project, accountId: 'mm-ci-deploy', displayName: `Deploys the migration monitor from ${props.repository}` });
    new ServiceAccountIamMember(this, 'wif-user', {
      serviceAccountId: sa.name,
      role: 'roles/iam.workloadIdentityUser',
      member: `principalSet://iam.googleapis.com/projects/${props.projectNumber}/locations/global/workloadIdentityPools/mm-github/attribute.repository/${props.repository}`,
    });
    for (const role of props.roles ?? DEPLOY_ROLES) {
      new ProjectIamMember(this, `role-${role.replace(/^roles\//, '').replace(/\./g, '-')}`, { project: props.project, role, member: `serviceAccount:${sa.email}` });
    }
    this.providerName = provider.name;
    this.serviceAccountEmail = sa.email;
  }
}
