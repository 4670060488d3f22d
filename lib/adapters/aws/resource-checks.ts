import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { ResourceChecker, ResourceSpec, ResourceStatus } from '../../core/validation/ports';

/** Static credentials as the SDK clients take them. */
type AwsCredentialIdentity = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

export interface AwsResourceCheckerOptions {
  /** Default region when a check names none (else AWS_REGION, else us-east-1). */
  region?: string;
  /** Explicit credentials (tests); default: the SDK's provider chain (Lambda role, profile, env). */
  credentials?: AwsCredentialIdentity;
}

type AwsSpec = Extract<ResourceSpec, { cloud: 'aws' }>;


/**
 * AWS resources through the SDK: a DynamoDB table is ACTIVE (DescribeTable), an S3 bucket exists and is
 * reachable with our credentials (HeadBucket), a Lambda function is Active and its last update did not fail
 * (GetFunction). "Not found" and "access denied" are answers (the check fails), other errors propagate.
 */
export class AwsResourceChecker implements ResourceChecker {
  private readonly clients = new Map<string, DynamoDBClient | S3Client | LambdaClient>();
  constructor(private readonly opts: AwsResourceCheckerOptions = {}) {}

  async check(spec: ResourceSpec, signal?: AbortSignal): Promise<ResourceStatus> {
    if (spec.cloud !== 'aws') throw new Error(`AwsResourceChecker cannot check ${spec.cloud} resources`);
    const region = spec.region ?? this.opts.region ?? process.env['AWS_REGION'] ?? 'us-east-1';
    try {
      switch (spec.resource) {
        case 'dynamodb-table': {
          const r = await this.client(spec, region, (c) => new DynamoDBClient(c)).send(new DescribeTableCommand({ TableName: spec.name }), { abortSignal: signal });
          const t = r.Table;
          return { ok: t?.TableStatus === 'ACTIVE', state: t?.TableStatus ?? 'UNKNOWN', details: { region, itemCount: t?.ItemCount, sizeBytes: t?.TableSizeBytes, arn: t?.TableArn } };
        }
        case 's3-bucket': {
          const r = await this.client(spec, region, (c) => new S3Client({ ...c, forcePathStyle: !!spec.endpoint })).send(new HeadBucketCommand({ Bucket: spec.name }), { abortSignal: signal });
          return { ok: true, state: 'exists', details: { region: r.BucketRegion ?? region } };
        }
        case 'lambda-function': {
          const r = await this.client(spec, region, (c) => new LambdaClient(c)).send(new GetFunctionCommand({ FunctionName: spec.name }), { abortSignal: signal });
          const c = r.Configuration;
          const ok = c?.State === 'Active' && c?.LastUpdateStatus !== 'Failed';
          return {
            ok,
            state: c?.State ?? 'UNKNOWN',
            details: { region, lastUpdateStatus: c?.LastUpdateStatus, stateReason: c?.StateReason, runtime: c?.Runtime, arn: c?.FunctionArn },
          };
        }
      }
    } catch (e) {
      const err = e as { name?: string; $metadata?: { httpStatusCode?: number }; message?: string };
      const status = err.$metadata?.httpStatusCode;
      if (err.name === 'ResourceNotFoundException' || err.name === 'NotFound' || err.name === 'NoSuchBucket' || status === 404) {
        return { ok: false, state: 'not found', details: { region } };
      }
      if (status === 403 || err.name === 'AccessDeniedException' || err.name === 'Forbidden') {
        return { ok: false, state: 'access denied', details: { region, error: err.message } };
      }
      throw e;
    }
  }

  close(): void {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }

  private client<T extends DynamoDBClient | S3Client | LambdaClient>(
    spec: AwsSpec,
    region: string,
    make: (cfg: { region: string; endpoint?: string; credentials?: AwsCredentialIdentity; maxAttempts: number }) => T,
  ): T {
    const key = `${spec.resource}|${region}|${spec.endpoint ?? ''}`;
    let c = this.clients.get(key) as T | undefined;
    if (!c) {
      c = make({ region, maxAttempts: 3, ...(spec.endpoint ? { endpoint: spec.endpoint } : {}), ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}) });
      this.clients.set(key, c);
    }
    return c;
  }
}
