/**
 * The tracing benchmark's collector, in a process of its own so that what it spends is counted neither against
 * the traced server nor against the load generator: it reads each `POST /v1/traces` body without parsing it
 * (JSON or protobuf alike) and answers 200. `GET /stats` → `{ bytes, requests }` received so far. Prints
 * `READY <url>`; stops on SIGTERM.
 */
import http from 'node:http';

let bytes = 0;
let requests = 0;
const srv = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes, requests }));
    return;
  }
  req.on('data', (c: Buffer) => (bytes += c.length));
  req.on('end', () => {
    requests++;
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/json', 'content-length': 0 }).end();
  });
});
srv.listen(0, '127.0.0.1', () => process.stdout.write(`READY http://127.0.0.1:${(srv.address() as { port: number }).port}\n`));
process.on('SIGTERM', () => process.exit(0));
