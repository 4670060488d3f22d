/**
 * A small stand-in for the GCS JSON API (no GCS emulator runs on this machine: the Firebase one needs Java
 * 21 and a download). It implements what the real @google-cloud/storage client sends for the sink:
 * multipart upload with `ifGenerationMatch`, media download and delete, with GCS's status codes (412 on a
 * failed precondition, 404 for a missing object) and the md5/crc32c the client validates uploads against.
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { CRC32C } from '@google-cloud/storage';

export interface StoredObject {
  data: Buffer;
  contentType: string;
  generation: number;
  metadata: Record<string, unknown>;
}

const crc32c = (data: Buffer): string => {
  const c = new CRC32C();
  c.update(data);
  return c.toString();
};

export async function startGcsStandIn() {
  const objects = new Map<string, StoredObject>();
  const requests: string[] = [];
  let generation = 1000;
  const error = (res: http.ServerResponse, code: number, message: string) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code, message, errors: [{ message, reason: code === 412 ? 'conditionNotMet' : 'notFound' }] } }));
  };
  const resource = (bucket: string, name: string, o: StoredObject) => ({
    kind: 'storage#object',
    bucket,
    name,
    generation: String(o.generation),
    size: String(o.data.length),
    contentType: o.contentType,
    md5Hash: createHash('md5').update(o.data).digest('base64'),
    crc32c: crc32c(o.data),
    ...o.metadata,
  });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        handle();
      } catch (e) {
        error(res, 500, `stand-in failed: ${(e as Error).message}`);
      }
    });
    const handle = () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      const body = Buffer.concat(chunks);
      let m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
      if (req.method === 'POST' && m && url.searchParams.get('uploadType') === 'multipart') {
        const bucket = m[1]!;
        const name = url.searchParams.get('name')!;
        const boundary = /boundary=([^;]+)/.exec(req.headers['content-type'] ?? '')?.[1];
        if (!boundary) return error(res, 400, 'multipart boundary missing');
        const parts = body.toString('latin1').split(`--${boundary}`).slice(1, -1);
        const parse = (p: string) => {
          const i = p.indexOf('\r\n\r\n') >= 0 ? p.indexOf('\r\n\r\n') + 4 : p.indexOf('\n\n') + 2;
          return Buffer.from(p.slice(i).replace(/\r?\n$/, ''), 'latin1');
        };
        const meta = JSON.parse(parse(parts[0]!).toString('utf8')) as Record<string, unknown>;
        const data = parse(parts[1]!);
        const key = `${bucket}/${name}`;
        const want = url.searchParams.get('ifGenerationMatch');
        const cur = objects.get(key);
        if (want !== null && String(cur?.generation ?? 0) !== want) return error(res, 412, 'At least one of the pre-conditions you specified did not hold.');
        const o: StoredObject = { data, contentType: String(meta['contentType'] ?? 'application/octet-stream'), generation: ++generation, metadata: { cacheControl: meta['cacheControl'] } };
        objects.set(key, o);
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(resource(bucket, name, o)));
      }
      m = /^\/(?:storage\/v1\/)?b\/([^/]+)\/o\/(.+)$/.exec(url.pathname); // STORAGE_EMULATOR_HOST clients omit /storage/v1
      if (m) {
        const key = `${m[1]}/${decodeURIComponent(m[2]!)}`;
        const o = objects.get(key);
        if (!o) return error(res, 404, 'No such object');
        if (req.method === 'DELETE') {
          objects.delete(key);
          res.writeHead(204);
          return res.end();
        }
        if (req.method === 'GET' && url.searchParams.get('alt') === 'media') {
          res.writeHead(200, { 'content-type': o.contentType, 'x-goog-hash': `crc32c=${crc32c(o.data)},md5=${createHash('md5').update(o.data).digest('base64')}` });
          return res.end(o.data);
        }
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify(resource(m[1]!, decodeURIComponent(m[2]!), o)));
        }
      }
      error(res, 404, `stand-in does not implement ${req.method} ${url.pathname}`);
    };
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    objects,
    requests,
    close: () => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())),
  };
}
