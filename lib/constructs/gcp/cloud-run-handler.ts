import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Construct } from 'constructs';
import { AssetType, TerraformAsset, type ITerraformDependable } from 'cdktf';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object';
import { Cloudfunctions2Function } from '@cdktf/provider-google/lib/cloudfunctions2-function';
import { CloudRunV2Service } from '@cdktf/provider-google/lib/cloud-run-v2-service';
import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member';
import type { CloudRunAdapter } from '../../adapters/gcp/cloud-run';
import { bundleHandler, FUNCTION_ENTRY_POINT, GCP_NODE_RUNTIME } from './bundle';
import { deterministicZip } from './zip';
import { checkLabels, saMember, serviceAccountId, serviceName, type GcpPlacement } from './common';
import type { SecureBucket } from './report-bucket';
import type { HandlerSecrets } from './secrets';
import { findSecretLikeValues } from './secret-scan';
import { INGRESS_ALL_REASON } from './policy-checks';

/**
 * Network ingress. `internal` is the default; `internal-and-lb` adds Google Cloud load balancers (the search
 * proxy behind an HTTPS load balancer); `all` must carry the reason it is needed, which the policy tests read.
 */
export type Ingress = 'internal' | 'internal-and-lb' | { all: string };

export interface CloudRunHandlerProps {
  placement: GcpPlacement;
  /** Short purpose, e.g. `report`: names the service (`<prefix>-report`) and its service account. */
  purpose: string;
  /** Handler module to bundle (TypeScript), e.g. `lambda/report.ts`. */
  entry: string;
  /** Export of the handler module. Default `handler`. */
  exportName?: string;
  adapter: CloudRunAdapter;
  /**
   * A container image: deploy a Cloud Run v2 service running it. Without one, the handler is bundled and
   * deployed as a Cloud Run function (2nd gen) from `sourceBucket`.
   */
  image?: string;
  /** Bucket holding the zipped bundles (needed without `image`). */
  sourceBucket?: SecureBucket;
  /** Skip esbuild (unit tests): a placeholder bundle is zipped instead. */
  skipBundling?: boolean;
  /** Plain, non-secret settings. A value that looks like a secret is refused. */
  environment?: Record<string, string>;
  /** Environment variable name → secret id in `secrets`; mounted from Secret Manager (`latest` version). */
  secretEnv?: Record<string, string>;
  /**
   * Spans to Cloud Trace through its OTLP endpoint (telemetry.googleapis.com; the service account gets
   * roles/cloudtrace.agent). Without it, log lines still carry `logging.googleapis.com/trace` of Cloud Run's own
   * request trace. `sampleRatio` sets a parent-based ratio sampler (default: every trace).
   */
  tracing?: { sampleRatio?: number };
  secrets?: HandlerSecrets;
  ingress?: Ingress;
  memory?: string;
  timeoutSeconds?: number;
  maxInstances?: number;
  minInstances?: number;
  /** Service account the function build runs as (Cloud Build). Default: the project's default build account. */
  buildServiceAccount?: string;
  /** Cloud Run deletion protection (v2 service only). Default: on in prod. */
  deletionProtection?: boolean;
  /** Reach private addresses of a VPC (Memorystore): only private ranges go through it, the rest as before. */
  vpc?: HandlerVpc;
  /** Resources the handler needs before it starts (e.g. the secret version it mounts). */
  dependsOn?: ITerraformDependable[];
}

/**
 * How a handler reaches a VPC: a Serverless VPC Access connector (the only way for a Cloud Run function), or
 * Direct VPC egress on a network and subnetwork (a Cloud Run service, no connector VMs to pay for).
 */
export type HandlerVpc = { connector: string } | { network: string; subnetwork?: string };

const INGRESS_FUNCTION: Record<string, string> = { internal: 'ALLOW_INTERNAL_ONLY', 'internal-and-lb': 'ALLOW_INTERNAL_AND_GCLB', all: 'ALLOW_ALL' };
const INGRESS_SERVICE: Record<string, string> = { internal: 'INGRESS_TRAFFIC_INTERNAL_ONLY', 'internal-and-lb': 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER', all: 'INGRESS_TRAFFIC_ALL' };

/**
 * One handler on Cloud Run with its own service account. The account gets nothing here but what the caller
 * grants (object creation on the report bucket, accessor on its own secrets); invokers are added one service
 * account at a time with `grantInvoker`, never `allUsers` or `allAuthenticatedUsers`.
 */
export class CloudRunHandler extends Construct {
  readonly serviceAccount: ServiceAccount;
  /** Cloud Run service name (a Cloud Run function's service has the function's name). */
  readonly serviceName: string;
  /** HTTPS URL of the service (the scheduler's target and OIDC audience). */
  readonly uri: string;
  readonly fn?: Cloudfunctions2Function;
  readonly service?: CloudRunV2Service;
  private readonly placement: GcpPlacement;

  constructor(scope: Construct, id: string, props: CloudRunHandlerProps) {
    super(scope, id);
    const { placement } = props;
    this.placement = placement;
    this.serviceName = serviceName(placement.namePrefix, props.purpose);
    const ingress = props.ingress ?? 'internal';
    if (typeof ingress === 'object' && !ingress.all.trim()) throw new Error(`${props.purpose}: ingress "all" needs a reason`);
    const ingressKey = typeof ingress === 'object' ? 'all' : ingress;
    const env = {
      MM_HANDLER: props.purpose,
      MM_ENV: placement.env,
      MM_RUNTIME: 'cloud-run',
      // the project of `logging.googleapis.com/trace` on log lines (Cloud Run does not set it)
      GOOGLE_CLOUD_PROJECT: placement.project,
      ...(props.tracing
        ? { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://telemetry.googleapis.com', ...(props.tracing.sampleRatio !== undefined ? { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: String(props.tracing.sampleRatio) } : {}) }
        : {}),
      ...(props.environment ?? {}),
    };
    const suspicious = findSecretLikeValues(env);
    if (suspicious.length) throw new Error(`${props.purpose}: environment values look like secrets (${suspicious.join(', ')}): put them in Secret Manager and use secretEnv`);
    for (const k of Object.keys(props.secretEnv ?? {})) if (k in env) throw new Error(`${props.purpose}: ${k} is both a plain and a secret environment variable`);
    const labels = checkLabels({ ...placement.labels, handler: props.purpose });
    const description = `migration-monitor ${props.purpose} handler${typeof ingress === 'object' ? ` (${INGRESS_ALL_REASON} ${ingress.all.trim()})` : ''}`;

    this.serviceAccount = new ServiceAccount(this, 'sa', {
      project: placement.project,
      accountId: serviceAccountId(placement.namePrefix, props.purpose),
      displayName: `migration-monitor ${props.purpose} handler (${placement.env})`,
      description: `Runs the ${props.purpose} handler; holds only the roles granted to it by the stack`,
    });
    // Writing spans is all roles/cloudtrace.agent allows (telemetry.traces.write, cloudtrace.traces.patch).
    if (props.tracing) new ProjectIamMember(this, 'trace-writer', { project: placement.project, role: 'roles/cloudtrace.agent', member: saMember(this.serviceAccount.email) });

    // Secret accessor grants first: a revision that cannot read its secrets fails to start.
    const secretEnv = Object.entries(props.secretEnv ?? {});
    if (secretEnv.length && !props.secrets) throw new Error(`${props.purpose}: secretEnv needs the secrets construct`);
    const grants: ITerraformDependable[] = [];
    const granted = new Set<string>();
    for (const [, secretId] of secretEnv) {
      if (granted.has(secretId)) continue;
      granted.add(secretId);
      grants.push(props.secrets!.grantAccess(secretId, props.purpose, this.serviceAccount.email));
    }
    const secretRefs = secretEnv.map(([name, secretId]) => ({ name, ref: props.secrets!.ref(secretId) }));
    const memory = props.memory ?? '512Mi';
    const timeoutSeconds = props.timeoutSeconds ?? 300;

    if (props.image) {
      this.service = new CloudRunV2Service(this, 'service', {
        project: placement.project,
        location: placement.region,
        name: this.serviceName,
        description,
        ingress: INGRESS_SERVICE[ingressKey],
        deletionProtection: props.deletionProtection ?? placement.env === 'prod',
        labels,
        template: {
          serviceAccount: this.serviceAccount.email,
          timeout: `${timeoutSeconds}s`,
          scaling: { maxInstanceCount: props.maxInstances ?? 3, minInstanceCount: props.minInstances ?? 0 },
          ...(props.vpc
            ? {
                vpcAccess: {
                  egress: 'PRIVATE_RANGES_ONLY',
                  ...('connector' in props.vpc ? { connector: props.vpc.connector } : { networkInterfaces: [{ network: props.vpc.network, ...(props.vpc.subnetwork ? { subnetwork: props.vpc.subnetwork } : {}) }] }),
                },
              }
            : {}),
          containers: [
            {
              image: props.image,
              resources: { limits: { memory, cpu: '1' } },
              env: [
                ...Object.entries(env).map(([name, value]) => ({ name, value })),
                ...secretRefs.map(({ name, ref }) => ({ name, valueSource: { secretKeyRef: { secret: ref.secretId, version: 'latest' } } })),
              ],
            },
          ],
        },
        dependsOn: [...grants, ...(props.dependsOn ?? [])],
      });
      this.uri = this.service.uri;
    } else {
      if (!props.sourceBucket) throw new Error(`${props.purpose}: a Cloud Run function needs sourceBucket (or give an image)`);
      if (props.vpc && !('connector' in props.vpc)) throw new Error(`${props.purpose}: a Cloud Run function reaches a VPC through a Serverless VPC Access connector (Direct VPC egress needs an image on a Cloud Run service)`);
      const dir = bundleHandler({ entry: props.entry, exportName: props.exportName ?? 'handler', adapter: props.adapter, name: props.purpose, skip: props.skipBundling });
      // Zipped here, not by TerraformAsset's ARCHIVE (which stamps entries with the build time): fixed
      // timestamps and order, so the same code gives the same object and Terraform plans no replacement.
      const zipDir = mkdtempSync(path.join(tmpdir(), `mm-zip-${props.purpose}-`));
      deterministicZip(dir, path.join(zipDir, 'source.zip'));
      const asset = new TerraformAsset(this, 'bundle', { path: path.join(zipDir, 'source.zip'), type: AssetType.FILE });
      const object = new StorageBucketObject(this, 'source', {
        bucket: props.sourceBucket.name,
        name: `${props.purpose}/${asset.assetHash}.zip`,
        source: asset.path,
      });
      this.fn = new Cloudfunctions2Function(this, 'function', {
        project: placement.project,
        location: placement.region,
        name: this.serviceName,
        description,
        labels,
        buildConfig: {
          runtime: GCP_NODE_RUNTIME,
          entryPoint: FUNCTION_ENTRY_POINT,
          serviceAccount: props.buildServiceAccount,
          source: { storageSource: { bucket: props.sourceBucket.name, object: object.name } },
        },
        serviceConfig: {
          serviceAccountEmail: this.serviceAccount.email,
          ingressSettings: INGRESS_FUNCTION[ingressKey],
          availableMemory: memory,
          timeoutSeconds,
          maxInstanceCount: props.maxInstances ?? 3,
          minInstanceCount: props.minInstances ?? 0,
          allTrafficOnLatestRevision: true,
          environmentVariables: env,
          secretEnvironmentVariables: secretRefs.map(({ name, ref }) => ({ key: name, projectId: ref.project, secret: ref.secretId, version: 'latest' })),
          ...(props.vpc && 'connector' in props.vpc ? { vpcConnector: props.vpc.connector, vpcConnectorEgressSettings: 'PRIVATE_RANGES_ONLY' } : {}),
        },
        dependsOn: [...grants, ...(props.dependsOn ?? [])],
      });
      this.uri = this.fn.serviceConfig.uri;
    }
  }

  /** Let exactly one service account invoke this handler (roles/run.invoker on this one service). */
  grantInvoker(id: string, serviceAccountEmail: string): CloudRunV2ServiceIamMember {
    return new CloudRunV2ServiceIamMember(this, `invoker-${id}`, {
      project: this.placement.project,
      location: this.placement.region,
      name: this.fn ? this.fn.name : this.service!.name,
      role: 'roles/run.invoker',
      member: saMember(serviceAccountEmail),
    });
  }
}
