/**
 * What the spans of a tracker update cost inside the process, apart from HTTP and export: the real tracker API
 * handler (`trackerApi`, the same routes, parsing, tracker and store calls as the server) called in-process by
 * 50 concurrent loops, with tracing off, `on:discard` (every span made and ended, then dropped) and
 * `on:encode` (also encoded as OTLP protobuf into a reused batch buffer, as the exporter does; nothing sent).
 * Each figure is one child process's CPU per update over a fixed count after a fixed warm-up; modes alternate
 * between processes. The children run `--single-threaded` (no concurrent compiler or GC threads, whose CPU
 * otherwise lands in the figure at random: off moved from 9.6 to 15.6 µs between identical runs; single-
 * threaded, by a few %) on one CPU (taskset), and the in-memory store keeps no activity (its growth would
 * bring major GCs that swamp the difference). Sending is not here: it needs real sockets and a busy event loop;
 * `npm run bench -- tracing` measures it in the server.
 *
 * `npx tsx bench/tracing-inprocess.ts [rounds] [updates]` (default 5 and 40,000); BENCH_NODE=/path/to/node.
 */
import { execFileSync } from 'node:child_process';
import { FileStore } from '../lib/adapters/file/file-store';
import { OtelTracer, type FinishedSpan } from '../lib/adapters/otel/tracer';
import { ProtoWriter, writeSpan } from '../lib/adapters/otel/otlp-proto';
import type { HttpRequest } from '../lib/core/http';
import type { CommitRequest } from '../lib/core/store';
import { setTracer } from '../lib/core/tracing';
import { trackerApi } from '../lib/core/tracker/api';
import { Tracker } from '../lib/core/tracker/service';
import { pinCpus } from './servers/spawn-ready';

const MODES = ['off', 'on:discard', 'on:encode'] as const;
type Mode = (typeof MODES)[number];
const WARMUP = 40_000;
/** Spans of one update on a store durable when its commit returns: server, parse, apply, load, commit. */
const SPANS_PER_UPDATE = 5;

/** One child: `child <mode> <updates>` prints its CPU µs per update over `updates` after the warm-up. */
async function child(mode: Mode, updates: number): Promise<void> {
  if (mode !== 'off') {
    const w = new ProtoWriter(128 * 1024);
    let n = 0;
    const onEnd =
      mode === 'on:discard'
        ? () => undefined
        : (s: FinishedSpan) => {
            writeSpan(w, s);
            if (++n === 512) (w.pos = 0), (n = 0); // the exporter's batches reuse their buffers too
          };
    setTracer(new OtelTracer({ processor: { onEnd, flush: async () => undefined, shutdown: async () => undefined } }));
  }
  const mem = FileStore.inMemory();
  // the same store, keeping no activity: all of it would stay in memory and grow the old generation
  const store = Object.assign(Object.create(mem) as FileStore, { commit: (req: CommitRequest) => mem.commit({ ...req, activity: [] }) });
  const tracker = new Tracker({ store, maxRetries: 1000 });
  await tracker.initialize('default', {});
  await tracker.apply('default', { action: 'start_phase', phaseId: 'initialization' });
  const handler = trackerApi({ tracker });
  const body = JSON.stringify({ action: 'update_metrics', increment: { successfulOperations: 1 } });
  const headers = { 'content-type': 'application/json', 'content-length': String(body.length), 'user-agent': 'bench' };
  const run = async (count: number) => {
    let left = count;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (left-- > 0) {
          const r = await handler({ method: 'POST', path: '/api/migration/progress', query: {}, headers, body } satisfies HttpRequest);
          if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body}`);
          if (left % 50 === 0) await new Promise((resolve) => setImmediate(resolve)); // let timers and I/O run, as a server does
        }
      }),
    );
  };
  await run(WARMUP);
  const c0 = process.cpuUsage();
  await run(updates);
  const c = process.cpuUsage(c0);
  process.stdout.write(`${(c.user + c.system) / updates}\n`);
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const updates = Number(process.argv[3] ?? 40_000);
  const node = process.env['BENCH_NODE'] ?? process.execPath;
  const pin = pinCpus(); // the children alone on one CPU, this process on the others
  const got: Record<Mode, number[]> = { off: [], 'on:discard': [], 'on:encode': [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 ? [...MODES].reverse() : MODES) {
      const argv = [node, '--single-threaded', '--import', 'tsx', __filename, 'child', mode, String(updates)];
      const out = pin ? execFileSync('taskset', ['-c', String(pin.server), ...argv]) : execFileSync(argv[0]!, argv.slice(1));
      got[mode].push(Number(out.toString().trim()));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const [off, discard, encode] = MODES.map((m) => median(got[m]));
  const version = execFileSync(node, ['-p', 'process.versions.node']).toString().trim();
  process.stdout.write(`Node ${version}, ${rounds} processes per mode (${pin ? `on CPU ${pin.server}` : 'not pinned'}, --single-threaded), ${updates} updates each after ${WARMUP} of warm-up; CPU µs per update, median (min–max):\n`);
  for (const m of MODES) process.stdout.write(`  ${m.padEnd(11)} ${median(got[m]).toFixed(2).padStart(6)}  (${Math.min(...got[m]).toFixed(2)}–${Math.max(...got[m]).toFixed(2)})\n`);
  const per = (us: number) => `${us.toFixed(2)} µs an update, ${((us / SPANS_PER_UPDATE) * 1000).toFixed(0)} ns a span`;
  process.stdout.write(`making the spans: ${per(discard! - off!)}; encoding them: ${per(encode! - discard!)}; off / on:encode ${(off! / encode!).toFixed(2)}\n`);
}

if (process.argv[2] === 'child') void child(process.argv[3] as Mode, Number(process.argv[4]));
else void main();
