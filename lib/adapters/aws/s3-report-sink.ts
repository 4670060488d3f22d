import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { checkReportKey, type PutResult, type ReportSink } from '../../core/report/ports';

export interface S3ReportSinkOptions {
  bucket: string;
  /** Key prefix, e.g. `reports/`. */
  prefix?: string;
  client?: S3Client;
  /** SSE-KMS key; without it the bucket's default encryption applies. */
  kmsKeyId?: string;
}

/**
 * Reports in an S3 bucket. Create-once is S3's conditional write: `PutObject` with `If-None-Match: *`
 * answers 412 PreconditionFailed when the key exists (and 409 ConditionalRequestConflict while a
 * concurrent conditional write to the key is in flight; it is retried and then sees the 412). That is what
 * makes two racing runs write the object once.
 *
 * A HeadObject first skips the upload when the object is already there (the common retried-run case).
 * It is also what keeps sequential re-runs idempotent on s3rver (the local S3 the tests use), which ignores
 * `If-None-Match` on PUT: on s3rver two runs racing between HEAD and PUT would both write. Real S3 does not
 * have that gap.
 */
export class S3ReportSink implements ReportSink {
  readonly channel = 's3';
  private readonly client: S3Client;
  private readonly prefix: string;

  constructor(private readonly opts: S3ReportSinkOptions) {
    this.client = opts.client ?? new S3Client({});
    this.prefix = opts.prefix ? opts.prefix.replace(/^\/+/, '').replace(/\/*$/, '/') : '';
  }

  async put(key: string, body: string, contentType: string): Promise<PutResult> {
    const Key = this.keyOf(key);
    const location = this.locationOf(Key);
    if (await this.exists(Key)) return { created: false, location };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new PutObjectCommand({ ...this.putParams(Key, body, contentType), IfNoneMatch: '*' }));
        return { created: true, location };
      } catch (e) {
        const status = httpStatus(e);
        if (status === 412) return { created: false, location };
        if (status === 409 && attempt < 3) {
          await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
          continue;
        }
        throw wrap(e, `PutObject s3://${this.opts.bucket}/${Key}`);
      }
    }
  }

  async replace(key: string, body: string, contentType: string): Promise<PutResult> {
    const Key = this.keyOf(key);
    try {
      await this.client.send(new PutObjectCommand(this.putParams(Key, body, contentType)));
    } catch (e) {
      throw wrap(e, `PutObject s3://${this.opts.bucket}/${Key}`);
    }
    return { created: true, location: this.locationOf(Key) };
  }

  async get(key: string): Promise<string | null> {
    const Key = this.keyOf(key);
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key }));
      return (await r.Body?.transformToString('utf-8')) ?? '';
    } catch (e) {
      if (httpStatus(e) === 404) return null;
      throw wrap(e, `GetObject s3://${this.opts.bucket}/${Key}`);
    }
  }

  private async exists(Key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key }));
      return true;
    } catch (e) {
      if (httpStatus(e) === 404) return false;
      throw wrap(e, `HeadObject s3://${this.opts.bucket}/${Key}`);
    }
  }

  private putParams(Key: string, Body: string, ContentType: string) {
    return {
      Bucket: this.opts.bucket,
      Key,
      Body,
      ContentType,
      ...(this.opts.kmsKeyId ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: this.opts.kmsKeyId } : {}),
    };
  }

  private keyOf(key: string): string {
    return this.prefix + checkReportKey(key);
  }

  private locationOf(Key: string): string {
    return `s3://${this.opts.bucket}/${Key}`;
  }
}

function httpStatus(e: unknown): number | undefined {
  if (e instanceof S3ServiceException) return e.$metadata?.httpStatusCode;
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function wrap(e: unknown, what: string): Error {
  const status = httpStatus(e);
  const name = (e as Error)?.name ?? 'Error';
  return new Error(`${what} failed${status ? ` (HTTP ${status})` : ''}: ${name}: ${(e as Error)?.message ?? String(e)}`);
}
