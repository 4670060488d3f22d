/**
 * A server for the tracker benchmark, in its own process so the load generator does not share its core.
 * argv[2]: bare | file | file-no-history | redis; argv[3]: data dir or Redis URL. Prints "READY <url>" when listening.
 */
import http from 'node:http';
import { FileStore } from '../../lib/adapters/file/file-store';
import { serveHttp } from '../../lib/adapters/http/server';
import { RedisStore } from '../../lib/adapters/redis/redis-store';
import { Tracker } from '../../lib/core/tracker/service';
import { trackerApi } from '../../lib/core/tracker/api';

async function main() {
  const [kind, arg] = process.argv.slice(2);
  if (kind === 'bare') {
    // Baseline: read the body, answer 200 with a small JSON, like the API does, but with no work.
    const srv = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end('{"ok":true}');
      });
    });
    srv.keepAliveTimeout = 65_000;
    srv.listen(0, '127.0.0.1', () => process.stdout.write(`READY http://127.0.0.1:${(srv.address() as { port: number }).port}\n`));
    return;
  }
  const store = kind === 'file' || kind === 'file-no-history' ? await FileStore.open(arg!) : await RedisStore.connect(arg!, { prefix: `bench${Date.now()}` });
  const tracker = new Tracker({ store, maxRetries: 1000, history: kind !== 'file-no-history' });
  await tracker.initialize('default', { reset: true });
  await tracker.apply('default', { action: 'start_phase', phaseId: 'initialization' });
  const srv = await serveHttp(trackerApi({ tracker }));
  process.stdout.write(`READY ${srv.url}\n`);
  process.on('SIGTERM', () => {
    void srv.close().then(() => store.close()).then(() => process.exit(0));
  });
}

void main();
