import { LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { CiDeployIdentity } from '../../lib/constructs/gcp/ci-deploy-identity';

/**
 * The GitHub Actions deploy identity of a GCP project (once per project), its own Terraform stack:
 * `MM_CI_REPOSITORY=owner/name MM_GCP_PROJECT_NUMBER=… npm run synth:gcp`, then apply
 * `cdktf.out/stacks/migration-monitor-gcp-ci` once with your own credentials.
 */
export class GcpCiStack extends TerraformStack {
  constructor(scope: Construct, opts: { project: string; projectNumber: string; repository: string; region: string }) {
    super(scope, 'migration-monitor-gcp-ci');
    new LocalBackend(this, { path: 'terraform.migration-monitor-gcp-ci.tfstate' });
    new GoogleProvider(this, 'google', { project: opts.project, region: opts.region });
    const id = new CiDeployIdentity(this, 'ci', opts);
    new TerraformOutput(this, 'workload_identity_provider', { value: id.providerName, description: 'GCP_WORKLOAD_IDENTITY_PROVIDER of the GitHub workflows' });
    new TerraformOutput(this, 'deploy_service_account', { value: id.serviceAccountEmail, description: 'GCP_DEPLOY_SERVICE_ACCOUNT of the GitHub workflows' });
  }
}
