import { Storage, type StorageOptions } from '@google-cloud/storage';
import type { ResourceChecker, ResourceSpec, ResourceStatus } from '../../core/validation/ports';

/**
 * GCP resources through the client libraries: a Cloud Storage bucket exists (its metadata can be read).
 * Uses Application Default Credentials; with `apiEndpoint` (an emulator or a private endpoint) the library
 * sends no credentials.
 */
export class GcpResourceChecker implements ResourceChecker {
  private readonly clients = new Map<string, Storage>();
  constructor(private readonly opts: Pick<StorageOptions, 'projectId' | 'credentials' | 'keyFilename'> = {}) {}

  async check(spec: ResourceSpec): Promise<ResourceStatus> {
    if (spec.cloud !== 'gcp') throw new Error(`GcpResourceChecker cannot check ${spec.cloud} resources`);
    const storage = this.storage(spec.projectId, spec.apiEndpoint);
    try {
      const [meta] = await storage.bucket(spec.name).getMetadata();
      return { ok: true, state: 'exists', details: { location: meta.location, storageClass: meta.storageClass, projectNumber: meta.projectNumber } };
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code === 404) return { ok: false, state: 'not found', details: {} };
      if (code === 403 || code === 401) return { ok: false, state: 'access denied', details: { error: (e as Error).message } };
      throw e;
    }
  }

  private storage(projectId?: string, apiEndpoint?: string): Storage {
    const key = `${projectId ?? ''}|${apiEndpoint ?? ''}`;
    let s = this.clients.get(key);
    if (!s) {
      s = new Storage({
        ...this.opts,
        ...(projectId ? { projectId } : {}),
        ...(apiEndpoint ? { apiEndpoint } : {}),
        retryOptions: { autoRetry: true, maxRetries: 2 },
      });
      this.clients.set(key, s);
    }
    return s;
  }
}
