import { Storage, type StorageOptions } from '@google-cloud/storage';
import { checkReportKey, type PutResult, type ReportSink } from '../../core/report/ports';

export interface GcsReportSinkOptions {
  bucket: string;
  /** Key prefix inside the bucket, e.g. `reports/`. */
  prefix?: string;
  /** A configured client; default one from Application Default Credentials (the Cloud Run service account). */
  storage?: Storage;
  /** Options for the default client (e.g. `apiEndpoint` of a test server). */
  storageOptions?: StorageOptions;
}

const status = (e: unknown): number | undefined => {
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
};

/**
 * ReportSink on Google Cloud Storage. `put` is create-once with the precondition `ifGenerationMatch: 0`
 * ("only if no live object has this name"): a retried or doubled job writes each report once, and the
 * loser gets `created: false` (HTTP 412) without overwriting anything. The precondition also makes the
 * client's own retries safe. The handler's service account needs objectCreator (put), objectViewer (get)
 * and, for `replace`, objectUser limited to the mutable summary objects.
 */
export class GcsReportSink implements ReportSink {
  readonly channel = 'gcs';
  private readonly storage: Storage;
  private readonly prefix: string;

  constructor(private readonly opts: GcsReportSinkOptions) {
    if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(opts.bucket)) throw new Error(`invalid GCS bucket name "${opts.bucket}"`);
    this.prefix = opts.prefix ? checkReportKey(opts.prefix.replace(/\/+$/, '')) + '/' : '';
    this.storage = opts.storage ?? new Storage(opts.storageOptions);
  }

  private file(key: string) {
    return this.storage.bucket(this.opts.bucket).file(this.prefix + checkReportKey(key));
  }

  private location(key: string): string {
    return `gs://${this.opts.bucket}/${this.prefix}${key}`;
  }

  async put(key: string, body: string | Buffer, contentType: string): Promise<PutResult> {
    try {
      await this.file(key).save(typeof body === 'string' ? Buffer.from(body, 'utf8') : body, {
        resumable: false,
        contentType,
        metadata: { cacheControl: 'no-store' },
        preconditionOpts: { ifGenerationMatch: 0 },
      });
      return { created: true, location: this.location(key) };
    } catch (e) {
      if (status(e) === 412) return { created: false, location: this.location(key) };
      throw new Error(`GCS put ${this.location(key)} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async get(key: string): Promise<string | null> {
    try {
      const [buf] = await this.file(key).download();
      return buf.toString('utf8');
    } catch (e) {
      if (status(e) === 404) return null;
      throw new Error(`GCS get ${this.location(key)} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async replace(key: string, body: string, contentType: string): Promise<PutResult> {
    try {
      await this.file(key).save(Buffer.from(body, 'utf8'), { resumable: false, contentType, metadata: { cacheControl: 'no-store' } });
      return { created: true, location: this.location(key) };
    } catch (e) {
      throw new Error(`GCS replace ${this.location(key)} failed: ${(e as Error).message}`, { cause: e });
    }
  }
}
