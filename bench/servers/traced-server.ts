/**
 * A process for the tracing benchmark: the tracker API (in-memory store, so tracing's own cost is not hidden
 * behind fsync) and the search proxy (in-process demo backends) with tracing configured by argv, as the
 * composition does it from OTEL_*: `off`, `on` (every span exported), or `ratio:<r>` (parent-based trace-id
 * ratio); for diagnosis, `on:discard` (spans made, nothing encoded or sent) and `on:encode` (encoded, not sent). argv[3]: the collector URL. argv[4]: the store:
 * `memory` (default); `file`, the embedded store local mode runs (journal and group fsync, in a fresh temporary
 * directory); `dynamodb=<endpoint>`, what the Lambda tracker runs (a fresh table on that DynamoDB API, e.g.
 * dynalite); `redis=<url>`, what the Cloud Run tracker runs (keys under a fresh prefix). Prints `READY <tracker url>|<proxy url>`; stops on SIGTERM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DemoIndex } from '../../lib/adapters/demo/demo-backend';
import { DynamoDbProgressStore } from '../../lib/adapters/aws/dynamodb-store';
import { createProgressTable, dynaliteClient } from '../../test/adapters/aws/dynalite-table';
import { FileStore } from '../../lib/adapters/file/file-store';
import { RedisStore } from '../../lib/adapters/redis/redis-store';
import type { ProgressStore } from '../../lib/core/store';
import { serveHttp } from '../../lib/adapters/http/server';
import { installTracing } from '../../lib/compose/tracing';
import { OtelTracer, type FinishedSpan } from '../../lib/adapters/otel/tracer';
import { ProtoWriter, writeSpan } from '../../lib/adapters/otel/otlp-proto';
import { setTracer } from '../../lib/core/tracing';
import { searchProxy } from '../../lib/core/search/proxy';
import type { VectorBackend } from '../../lib/core/search/query';
import { Tracker } from '../../lib/core/tracker/service';
import { trackerApi } from '../../lib/core/tracker/api';

async function main() {
  const [mode, collector, storeKind = 'memory'] = process.argv.slice(2) as [string, string, string?];
  const env: NodeJS.ProcessEnv = mode === 'off' || mode.startsWith('on:') ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: collector, ...(mode.startsWith('ratio:') ? { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: mode.slice(6) } : {}) };
  if (mode === 'on:discard' || mode === 'on:encode') {
    // Diagnosis: every span made and ended (and with on:encode, encoded), nothing sent: what export adds is the rest.
    const w = new ProtoWriter(128 * 1024);
    let n = 0;
    const onEnd = mode === 'on:discard' ? () => undefined : (s: FinishedSpan) => {
      writeSpan(w, s);
      if (++n === 512) (w.pos = 0), (n = 0); // one buffer, reused, as the exporter's batches reuse theirs
    };
    setTracer(new OtelTracer({ processor: { onEnd, flush: async () => undefined, shutdown: async () => undefined } }));
  } else installTracing(env, 'local', 'bench');
  const dir = storeKind === 'file' ? mkdtempSync(path.join(os.tmpdir(), 'mm-bench-store-')) : null;
  const store = await openStore(storeKind, dir);
  const tracker = new Tracker({ store, maxRetries: 1000 });
  await tracker.initialize('default', {});
  await tracker.apply('default', { action: 'start_phase', phaseId: 'initialization' });
  const api = await serveHttp(trackerApi({ tracker }));
  const index = new DemoIndex({ size: 1000, dimensions: 8 });
  const backend: VectorBackend = { description: 'in-process demo index', search: async (q) => index.search(q) };
  const proxy = await serveHttp(searchProxy({ primary: backend, fallback: backend, settings: { deadlineMs: 10_000, primaryTimeoutMs: 5_000 } }).handler);
  process.stdout.write(`READY ${api.url}|${proxy.url}\n`);
  process.on('SIGTERM', () =>
    void Promise.all([api.close(), proxy.close()])
      .then(() => store.close())
      .then(() => {
        if (dir) rmSync(dir, { recursive: true, force: true });
        process.exit(0);
      }),
  );
}

async function openStore(kind: string, dir: string | null): Promise<ProgressStore> {
  if (dir) return FileStore.open(dir);
  if (kind === 'memory') return FileStore.inMemory();
  const [name, at] = [kind.slice(0, kind.indexOf('=')), kind.slice(kind.indexOf('=') + 1)];
  if (name === 'dynamodb') {
    // the client and table the store's tests use on dynalite (static credentials: the SDK signs every request, as on Lambda)
    const client = dynaliteClient(at);
    return new DynamoDbProgressStore({ tableName: await createProgressTable(client, 'bench'), client });
  }
  if (name === 'redis') return RedisStore.connect(at, { prefix: `bench${process.pid}` });
  throw new Error(`unknown store ${kind}: memory, file, dynamodb=<endpoint> or redis=<url>`);
}

void main();
