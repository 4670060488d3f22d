import { GcpResourceChecker } from '../../../lib/adapters/gcp/resource-checks';
import { serveHttp, type RunningServer } from '../../../lib/adapters/http/server';
import { json, router, type HttpRequest } from '../../../lib/core/http';

// No Cloud Storage emulator runs here (the Firebase one needs Java and a download): this drives the real
// @google-cloud/storage client, with apiEndpoint pointed at a small local HTTP server that answers the
// JSON API's buckets.get like Cloud Storage would.
let gcs: RunningServer;
const calls: HttpRequest[] = [];

beforeAll(async () => {
  gcs = await serveHttp(
    router([
      {
        method: 'GET',
        path: '/storage/v1/b/:bucket',
        handler: async (req, p) => {
          calls.push(req);
          if (p['bucket'] === 'mm-reports') return json(200, { kind: 'storage#bucket', name: 'mm-reports', location: 'EUROPE-WEST1', storageClass: 'STANDARD', projectNumber: '123' });
          if (p['bucket'] === 'locked') return json(403, { error: { code: 403, message: 'caller does not have storage.buckets.get access' } });
          return json(404, { error: { code: 404, message: 'The specified bucket does not exist.' } });
        },
      },
    ]),
  );
});
afterAll(() => gcs?.close());

describe('GCP resource checks, via a local server imitating the Cloud Storage JSON API', () => {
  const checker = new GcpResourceChecker({ projectId: 'demo' });
  const check = (name: string) => checker.check({ cloud: 'gcp', resource: 'gcs-bucket', name, apiEndpoint: gcs.url });

  it('bucket exists, not found, access denied', async () => {
    expect(await check('mm-reports')).toEqual({ ok: true, state: 'exists', details: { location: 'EUROPE-WEST1', storageClass: 'STANDARD', projectNumber: '123' } });
    expect(await check('nope')).toMatchObject({ ok: false, state: 'not found' });
    expect(await check('locked')).toMatchObject({ ok: false, state: 'access denied' });
    expect(calls[0]!.path).toBe('/storage/v1/b/mm-reports');
  });
});
