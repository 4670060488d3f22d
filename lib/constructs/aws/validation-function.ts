import * as path from 'node:path';
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CONNECTOR_TYPES, DEFAULT_BUNDLED_CONNECTORS, type ConnectorType } from '../../core/validation/config';
import { HandlerFunction, PROJECT_ROOT, type HandlerDefaults } from './handler-function';

/** AWS resources the checks read: a dynamodb connector's table, an aws-resource check's table, bucket or function. */
export interface ValidationResources {
  /** DescribeTable (aws-resource), Scan and BatchGetItem (dynamodb connector), DescribeTimeToLive and DescribeContinuousBackups (schema check). */
  dynamodbTables?: string[];
  /** HeadBucket (aws-resource), which needs s3:ListBucket. */
  s3Buckets?: string[];
  /** GetFunction (aws-resource). Names, in this account and region. */
  lambdaFunctions?: string[];
}

/** The esbuild defines that leave out the drivers of the connector types not listed (see lib/adapters/validation-deps.ts). */
export function validationBundleDefine(connectors: readonly ConnectorType[] = DEFAULT_BUNDLED_CONNECTORS): Record<string, string> {
  const unknown = connectors.filter((c) => !(CONNECTOR_TYPES as readonly string[]).includes(c));
  if (unknown.length) throw new Error(`ValidationFunction: unknown connector type(s) ${unknown.join(', ')} (known: ${CONNECTOR_TYPES.join(', ')})`);
  const define: Record<string, string> = {};
  if (!connectors.includes('postgres')) define['process.env.MM_BUNDLE_OMIT_POSTGRES'] = '"true"';
  if (!connectors.includes('redis')) define['process.env.MM_BUNDLE_OMIT_REDIS'] = '"true"';
  return define;
}

export interface ValidationFunctionProps {
  handlerDefaults: HandlerDefaults;
  /** SSM parameter holding the checks config (YAML or JSON, String or SecureString with the aws/ssm key). */
  configParameter: string;
  /** Post runs to the tracker API (SigV4, as this function's role) for this migration. */
  tracker?: { url: string; migrationId: string; grantInvoke(grantee: iam.IGrantable): iam.Grant };
  /** Store each run's report (JSON + Markdown) in S3 through this grant, under `prefix` (e.g. the report bucket's `validation/`). */
  reports?: { bucketName: string; prefix: string; grant(role: iam.Role, prefix: string): void };
  resources?: ValidationResources;
  /**
   * Connector types the checks config uses: only their drivers are bundled, which keeps the bundle and
   * its cold start small. A config that uses another type is refused before any check runs, with a
   * message naming the setting to change. Default: DEFAULT_BUNDLED_CONNECTORS (dynamodb, http-json, file, postgres).
   */
  connectors?: readonly ConnectorType[];
  /** Up to 15 minutes; a longer run stops 20 s before, saves its place and resumes on the next schedule. */
  timeout?: Duration;
  memoryMb?: number;
}

export const VALIDATION_ENTRY = path.join(PROJECT_ROOT, 'lambda/validate.ts');

/**
 * Scheduled validation on AWS: lambda/validate.ts with its checks config read from Parameter Store at each
 * cold start, one run at a time. The role may read that one parameter and only the AWS resources named in
 * `resources`; databases reached over the network (postgres, redis, HTTP) need no IAM but network access.
 */
export class ValidationFunction extends Construct {
  readonly handler: HandlerFunction;
  /** The connector types whose drivers this function's bundle carries. */
  readonly connectors: readonly ConnectorType[];

  constructor(scope: Construct, id: string, props: ValidationFunctionProps) {
    super(scope, id);
    if (!/^\/[A-Za-z0-9_.\-/]*[A-Za-z0-9_.-]$/.test(props.configParameter)) {
      throw new Error(`ValidationFunction: configParameter "${props.configParameter}" must be an SSM parameter name starting with /`);
    }
    const reportPrefix = props.reports?.prefix ?? 'validation';
    this.connectors = props.connectors ?? DEFAULT_BUNDLED_CONNECTORS;
    this.handler = new HandlerFunction(this, 'Handler', {
      ...props.handlerDefaults,
      entry: VALIDATION_ENTRY,
      description: 'Migration validation: checks from Parameter Store, results to metrics, tracker and S3',
      timeout: props.timeout ?? Duration.minutes(5),
      memorySize: props.memoryMb ?? 1024,
      // Checkpoints are per execution environment (/tmp): one run at a time, so a cut-short run resumes where it stopped.
      reservedConcurrentExecutions: 1,
      define: validationBundleDefine(this.connectors),
      environment: {
        VALIDATION_CONFIG_PARAMETER: props.configParameter,
        ...(props.tracker
          ? { MIGRATION_MONITOR_URL: props.tracker.url, MIGRATION_MONITOR_SIGV4: 'true', MIGRATION_MONITOR_MIGRATION: props.tracker.migrationId }
          : {}),
        ...(props.reports ? { MM_REPORT_SINK: 's3', MM_REPORT_BUCKET: props.reports.bucketName, MM_REPORT_PREFIX: reportPrefix } : {}),
      },
    });
    const role = this.handler.role;
    const stack = Stack.of(this);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadChecksConfig',
        actions: ['ssm:GetParameter'],
        resources: [stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: props.configParameter.slice(1) })],
      }),
    );
    const r = props.resources ?? {};
    if (r.dynamodbTables?.length) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadCheckedTables',
          actions: ['dynamodb:DescribeTable', 'dynamodb:DescribeTimeToLive', 'dynamodb:DescribeContinuousBackups', 'dynamodb:Scan', 'dynamodb:BatchGetItem'],
          resources: r.dynamodbTables.map((t) => stack.formatArn({ service: 'dynamodb', resource: 'table', resourceName: t })),
        }),
      );
    }
    if (r.s3Buckets?.length) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'HeadCheckedBuckets', actions: ['s3:ListBucket'], resources: r.s3Buckets.map((b) => `arn:${stack.partition}:s3:::${b}`) }));
    }
    if (r.lambdaFunctions?.length) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'GetCheckedFunctions',
          actions: ['lambda:GetFunction'],
          resources: r.lambdaFunctions.map((f) => stack.formatArn({ service: 'lambda', resource: 'function', resourceName: f, arnFormat: ArnFormat.COLON_RESOURCE_NAME })),
        }),
      );
    }
    props.tracker?.grantInvoke(role);
    props.reports?.grant(role, reportPrefix);
  }
}
