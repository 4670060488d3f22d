import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3ReportSink } from '../../../lib/adapters/aws/s3-report-sink';
import { startCapture, type CaptureServer } from '../../support/http-capture';
import { startS3rver, type RunningS3 } from '../../support/s3rver';

let s3: RunningS3;
beforeAll(async () => (s3 = await startS3rver(['reports'])));
afterAll(async () => s3?.stop());

/** A pass-through proxy in front of s3rver that records request headers (to see what goes on the wire). */
async function recordingProxy(target: string) {
  const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }> = [];
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('S3ReportSink against s3rver', () => {
  it('puts, gets and replaces objects under a prefix', async () => {
    const sink = new S3ReportSink({ bucket: 'reports', prefix: 'daily', client: s3.client() });
    const r = await sink.put('orders-db/2026-03-02.html', '<p>hi</p>', 'text/html; charset=utf-8');
    expect(r).toEqual({ created: true, location: 's3://reports/daily/orders-db/2026-03-02.html' });
    expect(await sink.get('orders-db/2026-03-02.html')).toBe('<p>hi</p>');
    expect(await sink.get('orders-db/missing.html')).toBeNull();
    await sink.replace('orders-db/latest.json', '{"v":1}', 'application/json');
    await sink.replace('orders-db/latest.json', '{"v":2}', 'application/json');
    expect(await sink.get('orders-db/latest.json')).toBe('{"v":2}');
  });

  it('writes the object once when a run is retried (the second put is skipped after HeadObject)', async () => {
    const sink = new S3ReportSink({ bucket: 'reports', client: s3.client() });
    expect((await sink.put('m/2026-03-03.md', 'first', 'text/markdown')).created).toBe(true);
    expect((await sink.put('m/2026-03-03.md', 'second', 'text/markdown')).created).toBe(false);
    expect(await sink.get('m/2026-03-03.md')).toBe('first');
  });

  it('sends PutObject with If-None-Match: * on the wire (seen through a recording proxy in front of s3rver)', async () => {
    const proxy = await recordingProxy(s3.endpoint);
    try {
      const sink = new S3ReportSink({ bucket: 'reports', client: s3.client(proxy.url) });
      await sink.put('m/2026-03-04.json', '{}', 'application/json');
      const put = proxy.seen.find((x) => x.method === 'PUT')!;
      expect(put.headers['if-none-match']).toBe('*');
      expect(put.headers['content-type']).toBe('application/json');
      // replace is unconditional
      await sink.replace('m/latest.json', '{}', 'application/json');
      expect(proxy.seen.filter((x) => x.method === 'PUT').at(-1)!.headers['if-none-match']).toBeUndefined();
    } finally {
      await proxy.stop();
    }
  });

  it('fails with the bucket and key named when the bucket does not exist', async () => {
    const sink = new S3ReportSink({ bucket: 'no-such-bucket', client: s3.client() });
    await expect(sink.put('m/x.md', 'x', 'text/markdown')).rejects.toThrow(/s3:\/\/no-such-bucket\/m\/x\.md/);
  });
});

describe('S3ReportSink conditional-write answers (replayed S3 responses: s3rver does not implement If-None-Match on PUT)', () => {
  let fake: CaptureServer;
  beforeEach(async () => (fake = await startCapture()));
  afterEach(async () => fake.stop());

  const sinkAt = (url: string) => new S3ReportSink({ bucket: 'reports', client: s3.client(url) });

  it('takes S3\'s 412 PreconditionFailed (another run created the key between HEAD and PUT) as "already there"', async () => {
    // HEAD → 404 (not there yet), PUT → 412 (a racing run won): S3's documented error body.
    fake.queue(
      { status: 404, body: '' },
      {
        status: 412,
        body: '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition><RequestId>R1</RequestId><HostId>H1</HostId></Error>',
        headers: { 'content-type': 'application/xml' },
      },
    );
    const p = sinkAt(fake.url).put('m/2026-03-05.md', 'x', 'text/markdown');
    expect(await p).toEqual({ created: false, location: 's3://reports/m/2026-03-05.md' });
    expect(fake.requests.map((r) => r.method)).toEqual(['HEAD', 'PUT']);
    expect(fake.requests[1]!.headers['if-none-match']).toBe('*');
  });

  it('retries S3\'s 409 ConditionalRequestConflict (a concurrent conditional write in flight), then reports the 412', async () => {
    const err = (status: number, code: string) => ({ status, body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>m</Message></Error>`, headers: { 'content-type': 'application/xml' } });
    fake.queue({ status: 404, body: '' }, err(409, 'ConditionalRequestConflict'), err(412, 'PreconditionFailed'));
    expect((await sinkAt(fake.url).put('m/2026-03-06.md', 'x', 'text/markdown')).created).toBe(false);
    expect(fake.requests.map((r) => r.method)).toEqual(['HEAD', 'PUT', 'PUT']);
  });
});
