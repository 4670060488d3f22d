import { GcsReportSink } from '../../../lib/adapters/gcp/gcs-report-sink';
import { startGcsStandIn } from './gcs-stand-in';

describe('GcsReportSink (real @google-cloud/storage client against a GCS JSON API stand-in)', () => {
  let gcs: Awaited<ReturnType<typeof startGcsStandIn>>;
  let sink: GcsReportSink;
  beforeAll(async () => {
    gcs = await startGcsStandIn();
    sink = new GcsReportSink({ bucket: 'mm-reports', prefix: 'reports', storageOptions: { apiEndpoint: gcs.url, projectId: 'test', retryOptions: { autoRetry: false } } });
  });
  afterAll(() => gcs.close());

  it('creates once with ifGenerationMatch=0; a retried put of the same key writes nothing', async () => {
    expect(await sink.put('m1/2026-03-02.md', '# Report', 'text/markdown')).toEqual({ created: true, location: 'gs://mm-reports/reports/m1/2026-03-02.md' });
    expect(await sink.put('m1/2026-03-02.md', '# Different', 'text/markdown')).toEqual({ created: false, location: 'gs://mm-reports/reports/m1/2026-03-02.md' });
    expect(gcs.objects.get('mm-reports/reports/m1/2026-03-02.md')!.data.toString()).toBe('# Report');
    expect(gcs.requests.filter((r) => r.startsWith('POST')).every((r) => r.includes('ifGenerationMatch=0'))).toBe(true);
    expect(gcs.objects.get('mm-reports/reports/m1/2026-03-02.md')).toMatchObject({ contentType: 'text/markdown', metadata: { cacheControl: 'no-store' } });
  });

  it('lets exactly one of several concurrent writers create the object', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => sink.put('m1/race.json', JSON.stringify({ writer: i }), 'application/json')));
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('reads objects back, null for a missing one', async () => {
    expect(await sink.get('m1/2026-03-02.md')).toBe('# Report');
    expect(await sink.get('m1/nope.md')).toBeNull();
  });

  it('replaces the mutable summary unconditionally', async () => {
    await sink.replace('m1/latest.json', '{"v":1}', 'application/json');
    await sink.replace('m1/latest.json', '{"v":2}', 'application/json');
    expect(await sink.get('m1/latest.json')).toBe('{"v":2}');
    const replaces = gcs.requests.filter((r) => r.includes('latest.json') && r.startsWith('POST'));
    expect(replaces.some((r) => r.includes('ifGenerationMatch'))).toBe(false);
  });

  it('refuses keys that escape the prefix and reports other failures with the location', async () => {
    await expect(sink.put('../x', 'a', 'text/plain')).rejects.toThrow(/invalid report key/);
    expect(() => new GcsReportSink({ bucket: 'Bad_Bucket' })).toThrow(/invalid GCS bucket name/);
    const broken = new GcsReportSink({ bucket: 'mm-reports', storageOptions: { apiEndpoint: 'http://127.0.0.1:1', projectId: 'test', retryOptions: { autoRetry: false } } });
    await expect(broken.put('k', 'a', 'text/plain')).rejects.toThrow(/GCS put gs:\/\/mm-reports\/k failed/);
  });
});
