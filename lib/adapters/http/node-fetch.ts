import http from 'node:http';
import https from 'node:https';
import type { FetchLike } from './tracker-client';

/**
 * A FetchLike on node:http/https. The CLI uses it because Node's global fetch loads undici on first use
 * (~100 ms of a short command's start-up); the answers are the same for the tracker's small JSON bodies.
 */
export const nodeHttpFetch: FetchLike = (url, init) =>
  new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? https : http).request(u, { method: init.method, headers: init.headers, signal: init.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: { get: (name: string) => [res.headers[name.toLowerCase()]].flat()[0] ?? null },
          text: async () => text,
        });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
