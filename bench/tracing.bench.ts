/**
 * What tracing costs: tracker update throughput (autocannon, in-memory store so the tracker's own work is all
 * there is) and search-proxy latency (sequential keep-alive client, hrtime per request, in-process backends)
 * with tracing off, on with every span exported (sampling 1.0), and on with a 10% trace-id ratio sampler, side
 * by side. Three processes: this one generates the load; the traced server; a collector that reads and discards
 * (bench/servers/otlp-sink.ts), so neither the load generator's nor the collector's CPU is counted against the
 * server. The figure to trust is the server's CPU time per update (its own /proc counters): throughput moves
 * with whatever else the machine runs. Modes alternate over rounds (median kept) so a busy moment does not
 * favour one. Targets: off = the untraced figures (no measurable cost); on ≤ 10% throughput lost.
 *
 * BENCH_NODE=/path/to/node runs the server (and collector) on another Node (Lambda and Cloud Run run Node 24);
 * BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each server run there; BENCH_TRACING_MODES=off,on picks modes.
 */
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { spawnReady, stopChild } from './servers/spawn-ready';

const ROUNDS = Number(process.env['BENCH_TRACING_ROUNDS'] ?? 3);
const SECONDS = Number(process.env['BENCH_TRACING_SECONDS'] ?? 5);
const LATENCY_REQUESTS = Number(process.env['BENCH_TRACING_LATENCY'] ?? 2000);
const NODE = process.env['BENCH_NODE'] ?? process.execPath;
const PROF = process.env['BENCH_CPU_PROF'];
const ALL_MODES = ['off', 'on', 'ratio:0.1'] as const;
type Mode = (typeof ALL_MODES)[number];
const MODES: Mode[] = process.env['BENCH_TRACING_MODES'] ? (process.env['BENCH_TRACING_MODES'].split(',') as Mode[]) : [...ALL_MODES];
const LABEL: Record<Mode, string> = { off: 'off', on: 'on, sampling 1.0', 'ratio:0.1': 'on, ratio 0.1' };

const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** CPU time (user + system) the process has used so far, in µs (Linux /proc; clock ticks of 10 ms). */
function cpuMicros(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

/**
 * Updates/s over a fixed duration, and the server's CPU µs per update (steadier than throughput on a machine
 * shared with other work). Not `amount`: autocannon notices that the amount is reached only on its 1-second
 * tick, which quantized the old figures to 1/2, 1/3, 1/4 … of the request count.
 */
async function trackerRps(url: string, pid: number): Promise<{ rps: number; cpuUs: number; updates: number }> {
  const opts = { url: `${url}/api/migration/progress`, method: 'POST' as const, body: JSON.stringify({ action: 'update_metrics', increment: { successfulOperations: 1 } }), headers: { 'content-type': 'application/json' }, connections: 50, timeout: 10 };
  await autocannon({ ...opts, amount: 2000 });
  const c0 = cpuMicros(pid);
  const t0 = process.hrtime.bigint();
  const r = await autocannon({ ...opts, duration: SECONDS });
  const cpu = cpuMicros(pid) - c0;
  return { rps: r['2xx'] / (Number(process.hrtime.bigint() - t0) / 1e9), cpuUs: cpu / r['2xx'], updates: r['2xx'] };
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<void> {
  const loadBefore = load();
  const sink = await spawnReady(path.join(__dirname, 'servers/otlp-sink.ts'), [], { node: NODE });
  const collectorCpu0 = cpuMicros(sink.child.pid!);
  let updates = 0;
  let collectorCpu = 0;
  let stats = { bytes: 0, requests: 0 };
  const got: Record<string, { rps: number[]; cpu: number[]; p50: number[]; p99: number[] }> = Object.fromEntries(MODES.map((m) => [m, { rps: [], cpu: [], p50: [], p99: [] }]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? [...MODES].reverse() : [...MODES];
      for (const mode of order) {
        const nodeArgs = PROF ? ['--cpu-prof', '--cpu-prof-dir', path.join(PROF, `${mode.replace(':', '-')}-${round}`)] : []; // one file per thread
        const s = await spawnReady(path.join(__dirname, 'servers/traced-server.ts'), [mode, sink.url], { node: NODE, nodeArgs });
        const [trackerUrl, proxyUrl] = s.url.split('|') as [string, string];
        try {
          const t = await trackerRps(trackerUrl, s.child.pid!);
          got[mode]!.rps.push(t.rps);
          got[mode]!.cpu.push(t.cpuUs);
          updates += t.updates;
          const l = await proxyLatency(proxyUrl);
          got[mode]!.p50.push(l.p50);
          got[mode]!.p99.push(l.p99);
        } finally {
          await stopChild(s.child);
        }
      }
    }
  } finally {
    collectorCpu = cpuMicros(sink.child.pid!) - collectorCpu0;
    stats = (await fetch(`${sink.url}/stats`).then((r) => r.json())) as typeof stats;
    await stopChild(sink.child);
  }
  const off = got[MODES[0]!]!;
  const base = { rps: median(off.rps), cpu: median(off.cpu), p99: median(off.p99) };
  process.stdout.write(`${ROUNDS} rounds, modes alternating, median kept; tracker: in-memory store, 50 connections; proxy: sequential, in-process backends.\n`);
  process.stdout.write(`server on Node ${execFileSync(NODE, ['-p', 'process.versions.node']).toString().trim()}; load average (1/5/15 min) ${loadBefore} before, ${load()} after, ${os.cpus().length} cores.\n`);
  process.stdout.write(`"cpu µs/upd": the server process's own CPU (user+system) per update; "cpu vs off": ${LABEL[MODES[0]!]}'s / this mode's (1.00 = no cost).\n`);
  process.stdout.write(`tracing              tracker upd/s  vs off  cpu µs/upd  cpu vs off | proxy p50 ms  p99 ms  p99 vs off\n`);
  for (const m of MODES) {
    const g = got[m]!;
    const rps = median(g.rps);
    const cpu = median(g.cpu);
    const p99 = median(g.p99);
    process.stdout.write(
      `${LABEL[m].padEnd(20)} ${rps.toFixed(0).padStart(13)}  ${(rps / base.rps).toFixed(2).padStart(6)}  ${cpu.toFixed(0).padStart(10)}  ${(base.cpu / cpu).toFixed(2).padStart(10)} | ${median(g.p50).toFixed(3).padStart(12)}  ${p99.toFixed(3).padStart(6)}  ${(p99 / base.p99).toFixed(2).padStart(10)}\n`,
    );
  }
  process.stdout.write(`collector (own process, not counted above): ${(stats.bytes / 1024).toFixed(0)} KB in ${stats.requests} exports, ${(collectorCpu / Math.max(updates, 1)).toFixed(1)} µs CPU per update. Target: on ≥ 0.90 of off.\n`);
}
