import { Construct } from 'constructs';
import { SecretManagerSecret } from '@cdktf/provider-google/lib/secret-manager-secret';
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member';
import { checkLabels, saMember, type GcpPlacement } from './common';

export interface SecretSpec {
  /** Short id, e.g. `tracker-api-credentials`; the secret is named `<namePrefix>-<id>`. */
  id: string;
  description: string;
}

/** The secrets the handlers read by default: the tracker API credentials and the Slack webhook. */
export const DEFAULT_SECRETS: SecretSpec[] = [
  { id: 'tracker-api-credentials', description: 'Bearer token (or JSON credentials) for the migration tracker API' },
  { id: 'slack-webhook', description: 'Slack incoming-webhook URL for report and alert messages' },
  { id: 'validation-config', description: 'Validation checks config (YAML/JSON); may hold connector credentials, so it is a secret' },
];

export interface HandlerSecretsProps {
  placement: GcpPlacement;
  secrets?: SecretSpec[];
  /** CMEK for the secret payloads. */
  kmsKeyName?: string;
}

/** What a handler needs to mount one secret: never the value, only where it lives. */
export interface SecretRef {
  id: string;
  /** The Secret Manager secret id (short name). */
  secretId: string;
  project: string;
  /** The Terraform resource, for accessor grants. */
  resource: SecretManagerSecret;
}

/**
 * Secret Manager secrets, created EMPTY: no secret version is ever declared here, so no value is in code,
 * in the Terraform state or in an environment variable of the configuration. Operators add the value out of
 * band (`gcloud secrets versions add <name> --data-file=-`), and each handler gets
 * `roles/secretmanager.secretAccessor` on the secrets it uses and on nothing else.
 */
export class HandlerSecrets extends Construct {
  private readonly refs = new Map<string, SecretRef>();

  constructor(scope: Construct, id: string, props: HandlerSecretsProps) {
    super(scope, id);
    const { placement } = props;
    for (const spec of props.secrets ?? DEFAULT_SECRETS) {
      if (!/^[a-z][a-z0-9-]{0,40}$/.test(spec.id)) throw new Error(`secret id "${spec.id}": lowercase letters, digits and hyphens, starting with a letter`);
      if (this.refs.has(spec.id)) throw new Error(`secret "${spec.id}" is declared twice`);
      const secretId = `${placement.namePrefix}-${spec.id}`;
      const resource = new SecretManagerSecret(this, spec.id, {
        project: placement.project,
        secretId,
        labels: checkLabels({ ...placement.labels, secret: spec.id }),
        annotations: { description: spec.description },
        replication: props.kmsKeyName ? { auto: { customerManagedEncryption: { kmsKeyName: props.kmsKeyName } } } : { auto: {} },
      });
      this.refs.set(spec.id, { id: spec.id, secretId, project: placement.project, resource });
    }
  }

  get ids(): string[] {
    return [...this.refs.keys()];
  }

  ref(id: string): SecretRef {
    const r = this.refs.get(id);
    if (!r) throw new Error(`unknown secret "${id}" (declared: ${this.ids.join(', ') || 'none'})`);
    return r;
  }

  /** Give one service account read access to one secret's versions. */
  grantAccess(secretId: string, who: string, serviceAccountEmail: string): SecretManagerSecretIamMember {
    const r = this.ref(secretId);
    return new SecretManagerSecretIamMember(this, `${secretId}-accessor-${who}`, {
      project: r.project,
      secretId: r.resource.secretId,
      role: 'roles/secretmanager.secretAccessor',
      member: saMember(serviceAccountEmail),
    });
  }
}
