import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** The IAM policy variable that resolves to the Google token's `sub` (the service account's unique id). */
export const GOOGLE_SUBJECT_VARIABLE = '${accounts.google.com:sub}';

export interface GcpKeylessRoleProps {
  /**
   * Unique ids (21-digit numbers, not e-mails) of the GCP service accounts allowed to assume the role: the
   * `*_service_account_unique_id` outputs of the GCP stack.
   */
  googleServiceAccountIds: string[];
  /** `execute-api:Invoke` ARNs of the tracker API; nothing else is allowed. Give this or `trackerApi`. */
  trackerInvokeArns?: string[];
  /** The tracker API construct: its `grantInvoke` gives the role execute-api:Invoke on that API only. */
  trackerApi?: { grantInvoke(grantee: iam.IGrantable): iam.Grant };
  /** Audience the GCP handlers request their ID token for (`MM_TRACKER_AWS_AUDIENCE`). Default `sts.amazonaws.com`. */
  audience?: string;
  roleName?: string;
  /** 1-12 hours. Default 1 hour. */
  maxSessionDuration?: Duration;
}

/**
 * The AWS half of the keyless link from GCP: an IAM role that trusts Google's identity provider
 * (`accounts.google.com`) for the named GCP service accounts only, and may only invoke the tracker API.
 *
 * For service-account ID tokens (which carry `azp`), AWS maps `accounts.google.com:aud` to the token's
 * `azp` (the account's unique id), `accounts.google.com:oaud` to its `aud` (the requested audience), and
 * `accounts.google.com:sub` to `sub` (the unique id again). The trust policy pins all three, and pins the role
 * session name to the token's `sub` with the policy variable `${accounts.google.com:sub}` (`sts:RoleSessionName`
 * is checked on AssumeRoleWithWebIdentity): the caller cannot pick its session name, so the principal the tracker
 * records, `assumed-role/<role>/<session>`, names the verified Google service account (its unique id). IAM has
 * no condition key for the token's `email` claim, so the unique id is the name that can be verified.
 */
export class GcpKeylessRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: GcpKeylessRoleProps) {
    super(scope, id);
    const ids = [...new Set(props.googleServiceAccountIds)];
    if (!ids.length) throw new Error('GcpKeylessRole: give at least one GCP service account unique id');
    for (const sa of ids) {
      if (!/^\d{10,25}$/.test(sa)) throw new Error(`GcpKeylessRole: "${sa}" is not a GCP service account unique id (a number such as 103984732984732984732; e-mails are not accepted by AWS conditions)`);
    }
    const arns = props.trackerInvokeArns ?? [];
    if (!arns.length && !props.trackerApi) throw new Error('GcpKeylessRole: give the tracker API (trackerApi) or its invoke ARN(s)');
    const audience = props.audience ?? 'sts.amazonaws.com';
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      description: 'Assumed by the migration-monitor GCP handlers with their Google ID token; may only call the tracker API',
      maxSessionDuration: props.maxSessionDuration ?? Duration.hours(1),
      assumedBy: new iam.WebIdentityPrincipal('accounts.google.com', {
        StringEquals: {
          'accounts.google.com:aud': ids,
          'accounts.google.com:sub': ids,
          'accounts.google.com:oaud': audience,
          // The recorded actor is the verified identity: the session must be named after the token's subject.
          'sts:RoleSessionName': GOOGLE_SUBJECT_VARIABLE,
        },
      }),
      inlinePolicies: arns.length
        ? { TrackerApiInvoke: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ actions: ['execute-api:Invoke'], resources: arns })] }) }
        : undefined,
    });
    props.trackerApi?.grantInvoke(this.role);
  }

  get roleArn(): string {
    return this.role.roleArn;
  }
}
