/**
 * The tracer's own cost per tracker update, in one process: the six spans of an update (server, parse, apply,
 * load, commit, durable; their attributes as the real code sets them) made, ended and encoded into an OTLP
 * protobuf batch, against the same async calls with no tracer. No HTTP, no store: what tracing adds and nothing
 * else. `npx tsx bench/span-micro.ts [updates]`.
 */
import { OtelTracer, type FinishedSpan } from '../lib/adapters/otel/tracer';
import { ProtoWriter, writeSpan } from '../lib/adapters/otel/otlp-proto';
import type { Span } from '../lib/core/tracing';

const N = Number(process.argv[2] ?? 200_000);
let w = new ProtoWriter();
let n = 0;
const tracer = new OtelTracer({
  processor: {
    onEnd(s: FinishedSpan) {
      writeSpan(w, s);
      if (++n === 512) (w = new ProtoWriter()), (n = 0);
    },
    flush: async () => undefined,
    shutdown: async () => undefined,
  },
});
const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const work = async () => 1;

async function traced(i: number): Promise<number> {
  return tracer.childSpan(undefined, 'POST', { kind: 'server', traceparent: i % 2 ? TP : undefined }, async (server: Span) => {
    server.setAttributes({ 'http.request.method': 'POST', 'url.path': '/api/migration/progress', 'migration.service': 'tracker-api', 'user_agent.original': 'autocannon' });
    server.updateName('POST /api/migration/progress');
    server.setAttribute('http.route', '/api/migration/progress');
    await tracer.childSpan(server, 'migration.tracker.parse', { attributes: { 'migration.id': 'default' } }, work);
    const r = await tracer.childSpan(server, 'migration.tracker.apply', { attributes: { 'migration.id': 'default', 'migration.operation': 'update_metrics' } }, async (apply) => {
      await tracer.childSpan(apply, 'load memory', { kind: 'client', attributes: { 'db.system.name': 'memory', 'db.operation.name': 'load', 'migration.id': 'default' } }, work);
      await tracer.childSpan(apply, 'commit memory', { kind: 'client', attributes: { 'db.system.name': 'memory', 'db.operation.name': 'commit', 'migration.id': 'default' } }, work);
      return tracer.childSpan(apply, 'migration.tracker.durable', { attributes: { 'migration.id': 'default', 'migration.store': 'memory' } }, work);
    });
    server.setAttribute('http.response.status_code', 200);
    return r;
  });
}
async function plain(): Promise<number> {
  const f = async () => {
    await work();
    const r = await (async () => {
      await work();
      await work();
      return work();
    })();
    return r;
  };
  return f();
}

async function time(fn: (i: number) => Promise<number>, count: number): Promise<number> {
  const t0 = process.cpuUsage();
  for (let i = 0; i < count; i++) await fn(i);
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / count; // ns per update
}

async function main() {
  await time(traced, N / 4);
  await time(plain, N / 4);
  const rows: Array<[number, number]> = [];
  for (let r = 0; r < 5; r++) rows.push([await time(plain, N), await time(traced, N)]);
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  const p = med(rows.map((r) => r[0]));
  const t = med(rows.map((r) => r[1]));
  process.stdout.write(`Node ${process.versions.node}: plain ${(p / 1000).toFixed(2)} µs/update, traced ${(t / 1000).toFixed(2)} µs/update: tracing adds ${((t - p) / 1000).toFixed(2)} µs (${((t - p) / 6000).toFixed(2)} µs a span); rounds ${rows.map((r) => ((r[1] - r[0]) / 1000).toFixed(2)).join(' ')}\n`);
}
void main();
