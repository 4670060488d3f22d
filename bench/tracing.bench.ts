/**
 * What tracing costs: tracker update throughput (autocannon, in-memory store so the tracker's own work is all
 * there is) and search-proxy latency (sequential keep-alive client, hrtime per request, in-process backends)
 * with tracing off, on with every span exported (sampling 1.0), and on with a 10% trace-id ratio sampler, side
 * by side. Three processes: this one generates the load; the traced server; a collector that reads and discards
 * (bench/servers/otlp-sink.ts), so neither the load generator's nor the collector's CPU is counted against the
 * server. The figure to trust is the server's CPU time per update (its own /proc counters): throughput moves
 * with whatever else the machine runs. Modes alternate within each round and each ratio is taken within its
 * round (this mode's figure over off's, measured seconds apart), then the median over rounds is kept, so a busy
 * minute on a shared machine moves both sides of a ratio and not one. The server runs alone on one CPU and
 * everything else on the others (taskset; pinCpus in servers/spawn-ready.ts), and each run is measured after the
 * JIT has settled (WARMUP_UPDATES). Targets: off = the untraced figures (no measurable cost); on ≤ 10% throughput lost.
 *
 * BENCH_NODE=/path/to/node runs the server (and collector) on another Node (Lambda and Cloud Run run Node 24);
 * BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each server run there; BENCH_TRACING_MODES=off,on picks modes;
 * BENCH_TRACING_STORE=file|dynamodb|redis runs the tracker on that store instead of memory
 * (bench/servers/bench-store.ts: what local mode, Lambda and Cloud Run run).
 */
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { startBenchStore, storeKind } from './servers/bench-store';
import { cpuMicros, cpuTimes, pinCpus, spawnReady, stopChild } from './servers/spawn-ready';

const ROUNDS = Number(process.env['BENCH_TRACING_ROUNDS'] ?? 5);
const SECONDS = Number(process.env['BENCH_TRACING_SECONDS'] ?? 4);
/**
 * Warm-up before each measured run: at least WARMUP_UPDATES updates (V8 keeps recompiling the hot path for
 * ~35,000 of them, and tracing's code is more to compile: on Redis, at ~4,500 updates/s, a 2-second warm-up
 * measured 0.77 of off where runs warmed past 40,000 updates measured 0.82–0.92), in 2-second runs, but at most
 * WARMUP_MAX seconds (BENCH_TRACING_WARMUP; a slow store: DynamoDB on dynalite takes ~200 updates/s).
 */
const WARMUP_UPDATES = Number(process.env['BENCH_TRACING_WARMUP_UPDATES'] ?? 40_000);
const WARMUP_MAX = Number(process.env['BENCH_TRACING_WARMUP'] ?? 12);
const LATENCY_REQUESTS = Number(process.env['BENCH_TRACING_LATENCY'] ?? 2000);
const NODE = process.env['BENCH_NODE'] ?? process.execPath;
const PROF = process.env['BENCH_CPU_PROF'];
const STORE = storeKind();
const ALL_MODES = ['off', 'on', 'ratio:0.1'] as const;
/** `on:discard` (spans made, not encoded) and `on:encode` (encoded, not sent): diagnosis, by BENCH_TRACING_MODES only. */
type Mode = (typeof ALL_MODES)[number] | 'on:discard' | 'on:encode';
const MODES: Mode[] = process.env['BENCH_TRACING_MODES'] ? (process.env['BENCH_TRACING_MODES'].split(',') as Mode[]) : [...ALL_MODES];
const LABEL: Record<Mode, string> = { off: 'off', on: 'on, sampling 1.0', 'ratio:0.1': 'on, ratio 0.1', 'on:discard': 'on, nothing encoded', 'on:encode': 'on, encoded, not sent' };

const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/**
 * Updates/s over a fixed duration, and the server's CPU µs per update (steadier than throughput on a machine
 * shared with other work). Not `amount`: autocannon notices that the amount is reached only on its 1-second
 * tick, which quantized the old figures to 1/2, 1/3, 1/4 … of the request count.
 */
async function trackerRps(url: string, pid: number): Promise<{ rps: number; cpuUs: number; sysUs: number; updates: number }> {
  const opts = { url: `${url}/api/migration/progress`, method: 'POST' as const, body: JSON.stringify({ action: 'update_metrics', increment: { successfulOperations: 1 } }), headers: { 'content-type': 'application/json' }, connections: 50, timeout: 10 };
  // until the JIT is done with the hot path: its compiler threads' CPU counts too
  let warmed = 0;
  for (const t0 = Date.now(); warmed < WARMUP_UPDATES && Date.now() - t0 < WARMUP_MAX * 1000; ) warmed += (await autocannon({ ...opts, duration: 2 }))['2xx'];
  warmups.push(warmed);
  const c0 = cpuTimes(pid);
  const t0 = process.hrtime.bigint();
  const r = await autocannon({ ...opts, duration: SECONDS });
  const c1 = cpuTimes(pid);
  const cpu = c1.user - c0.user + c1.sys - c0.sys;
  return { rps: r['2xx'] / (Number(process.hrtime.bigint() - t0) / 1e9), cpuUs: cpu / r['2xx'], sysUs: (c1.sys - c0.sys) / r['2xx'], updates: r['2xx'] };
}

async function proxyLatency(url: string): Promise<{ p50: number; p99: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const body = JSON.stringify({ vector: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], topK: 5 });
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const req = http.request(`${url}/search`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
      });
      req.on('error', reject);
      req.end(body);
    });
  for (let i = 0; i < 200; i++) await once();
  const ms: number[] = [];
  for (let i = 0; i < LATENCY_REQUESTS; i++) ms.push(await once());
  agent.destroy();
  ms.sort((a, b) => a - b);
  return { p50: ms[Math.floor(ms.length * 0.5)]!, p99: ms[Math.floor(ms.length * 0.99)]! };
}

const warmups: number[] = [];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<void> {
  const loadBefore = load();
  const pin = pinCpus(); // the server alone on one CPU; this process, the collector and the store on the rest
  const sink = await spawnReady(path.join(__dirname, 'servers/otlp-sink.ts'), [], { node: NODE });
  const store = await startBenchStore(STORE);
  const collectorCpu0 = cpuMicros(sink.child.pid!);
  let updates = 0;
  let collectorCpu = 0;
  let stats = { bytes: 0, requests: 0 };
  const got: Record<string, { rps: number[]; cpu: number[]; sys: number[]; p50: number[]; p99: number[] }> = Object.fromEntries(MODES.map((m) => [m, { rps: [], cpu: [], sys: [], p50: [], p99: [] }]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? [...MODES].reverse() : [...MODES];
      for (const mode of order) {
        const nodeArgs = PROF ? ['--cpu-prof', '--cpu-prof-dir', path.join(PROF, `${mode.replace(':', '-')}-${round}`)] : []; // one file per thread
        const s = await spawnReady(path.join(__dirname, 'servers/traced-server.ts'), [mode, sink.url, store.arg], { node: NODE, nodeArgs, cpu: pin?.server });
        const [trackerUrl, proxyUrl] = s.url.split('|') as [string, string];
        try {
          const t = await trackerRps(trackerUrl, s.child.pid!);
          got[mode]!.rps.push(t.rps);
          got[mode]!.cpu.push(t.cpuUs);
          got[mode]!.sys.push(t.sysUs);
          updates += t.updates;
          if (LATENCY_REQUESTS > 0) {
            const l = await proxyLatency(proxyUrl);
            got[mode]!.p50.push(l.p50);
            got[mode]!.p99.push(l.p99);
          }
        } finally {
          await stopChild(s.child);
        }
      }
    }
  } finally {
    collectorCpu = cpuMicros(sink.child.pid!) - collectorCpu0;
    stats = (await fetch(`${sink.url}/stats`).then((r) => r.json())) as typeof stats;
    await stopChild(sink.child);
    await store.stop();
  }
  const off = got[MODES[0]!]!;
  /** The median over rounds of this mode's figure / off's in the same round. */
  const ratio = (g: number[], o: number[]) => median(g.map((x, i) => x / o[i]!));
  process.stdout.write(`${ROUNDS} rounds of ${SECONDS} s (each after a warm-up of ${Math.min(...warmups)}–${Math.max(...warmups)} updates: at least ${WARMUP_UPDATES}, at most ${WARMUP_MAX} s), modes alternating; figures: median over rounds; "vs off": median of the per-round ratios. Tracker: ${STORE === 'memory' ? 'in-memory' : STORE} store, 50 connections; proxy: sequential, in-process backends.\n`);
  process.stdout.write(`server on Node ${execFileSync(NODE, ['-p', 'process.versions.node']).toString().trim()}; load average (1/5/15 min) ${loadBefore} before, ${load()} after, ${os.cpus().length} cores; ${pin ? `server pinned to CPU ${pin.server}, load generator, collector and store to ${pin.others}` : 'not pinned (one CPU, or no taskset)'}.\n`);
  process.stdout.write(`"cpu µs/upd": the server process's own CPU (user+system) per update; "cpu vs off": off's / this mode's (1.00 = no cost).\n`);
  process.stdout.write(`tracing              tracker upd/s  vs off  cpu µs/upd (of it system)  cpu vs off | proxy p50 ms  p99 ms  p99 vs off\n`);
  // BENCH_TRACING_LATENCY=0 times no proxy searches: its columns read "–"
  const ms = (xs: number[], digits: number, width: number) => (xs.length ? median(xs).toFixed(digits) : '–').padStart(width);
  for (const m of MODES) {
    const g = got[m]!;
    process.stdout.write(
      `${LABEL[m].padEnd(20)} ${median(g.rps).toFixed(0).padStart(13)}  ${ratio(g.rps, off.rps).toFixed(2).padStart(6)}  ${median(g.cpu).toFixed(0).padStart(10)} ${`(${median(g.sys).toFixed(0)})`.padStart(15)}  ${(1 / ratio(g.cpu, off.cpu)).toFixed(2).padStart(10)} | ${ms(g.p50, 3, 12)}  ${ms(g.p99, 3, 6)}  ${(g.p99.length ? ratio(g.p99, off.p99).toFixed(2) : '–').padStart(10)}\n`,
    );
  }
  for (const m of MODES.slice(1)) process.stdout.write(`cpu vs off, each round, ${LABEL[m]}: ${got[m]!.cpu.map((c, i) => (off.cpu[i]! / c).toFixed(2)).join(' ')}\n`);
  process.stdout.write(`collector (own process, not counted above): ${(stats.bytes / 1024).toFixed(0)} KB in ${stats.requests} exports, ${(collectorCpu / Math.max(updates, 1)).toFixed(1)} µs CPU per update. Target: on ≥ 0.90 of off.\n`);
}
