import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

export interface CiDeployRoleProps {
  /** GitHub repository allowed to deploy, `owner/name`. */
  readonly repository: string;
  /** GitHub environments whose jobs may assume the role (deploys run behind them, with required reviewers). */
  readonly environments: readonly string[];
  /**
   * Let pull-request jobs assume the role too (for `cdk diff`, which only reads).
   * @default true
   */
  readonly pullRequests?: boolean;
  /**
   * Qualifier of the CDK bootstrap stack whose roles the CI may assume.
   * @default 'hnb659fds' (the CDK default)
   */
  readonly bootstrapQualifier?: string;
  /**
   * Create the account's GitHub OIDC provider (one per account); give its ARN instead when it exists.
   * @default - created
   */
  readonly existingProviderArn?: string;
}

/**
 * The role GitHub Actions assumes to deploy the stacks, without stored keys: trusted through GitHub's OIDC
 * provider for this repository's environment jobs (and pull requests, for diffs), and allowed nothing but
 * assuming the CDK bootstrap roles of this account and region (deploy, file publishing, lookup), which hold
 * the real permissions and are created by `cdk bootstrap`.
 */
export class CiDeployRole extends Construct {
  readonly role: iam.Role;
  readonly providerArn: string;

  constructor(scope: Construct, id: string, props: CiDeployRoleProps) {
    super(scope, id);
    if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(props.repository)) throw new Error(`CiDeployRole: repository must be owner/name, not "${props.repository}"`);
    if (props.environments.length === 0) throw new Error('CiDeployRole: name at least one GitHub environment');
    this.providerArn =
      props.existingProviderArn ??
      new iam.OidcProviderNative(this, 'GitHubOidc', { url: 'https://token.actions.githubusercontent.com', clientIds: ['sts.amazonaws.com'] }).oidcProviderArn;
    const subjects = props.environments.map((e) => `repo:${props.repository}:environment:${e}`);
    if (props.pullRequests ?? true) subjects.push(`repo:${props.repository}:pull_request`);
    this.role = new iam.Role(this, 'Role', {
      description: `GitHub Actions deploys of ${props.repository}: may only assume the CDK bootstrap roles`,
      maxSessionDuration: Duration.hours(1),
      assumedBy: new iam.WebIdentityPrincipal(this.providerArn, {
        StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
        StringLike: { 'token.actions.githubusercontent.com:sub': subjects },
      }),
    });
    const stack = Stack.of(this);
    const q = props.bootstrapQualifier ?? 'hnb659fds';
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AssumeCdkBootstrapRoles',
        actions: ['sts:AssumeRole', 'sts:TagSession'],
        resources: ['deploy', 'file-publishing', 'image-publishing', 'lookup'].map((kind) => `arn:${stack.partition}:iam::${stack.account}:role/cdk-${q}-${kind}-role-${stack.account}-${stack.region}`),
      }),
    );
  }
}
