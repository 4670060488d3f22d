/**
 * Instructions per tracker update with tracing off / on / ratio 0.1, counted by valgrind's callgrind: a count,
 * not a time, so it does not move with what else the machine runs (the timed bench does). The traced server
 * (bench/servers/traced-server.ts) runs under callgrind with instrumentation off; after a warm-up (JIT done)
 * it is switched on with callgrind_control for exactly N updates (50 connections), then off; the process's
 * total is the count of those N. `npx tsx bench/tracing-instructions.ts [N] [modes]` (valgrind needed;
 * BENCH_NODE as in tracing.bench.ts). Slow: minutes per mode.
 *
 * BENCH_TRACING_STORE picks the tracker's store (bench/servers/bench-store.ts: memory, file, dynamodb, redis).
 * Only the tracker process is counted, never the store's.
 * BENCH_TRACING_WARMUP_UPDATES: updates before counting (default 3000; fewer for the slow remote stores).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { startBenchStore, storeKind } from './servers/bench-store';
import { spawnReady, stopChild } from './servers/spawn-ready';

const N = Number(process.argv[2] ?? 2000);
const MODES = (process.argv[3] ?? 'off,on,ratio:0.1').split(',');
const NODE = process.env['BENCH_NODE'] ?? process.execPath;
const STORE = storeKind();
const WARMUP = Number(process.env['BENCH_TRACING_WARMUP_UPDATES'] ?? 3000);
// Extra flags for the server's Node: --single-threaded (no concurrent compiler or GC threads: the count then
// moves less between runs, but leaves out work those threads do); --perf-basic-prof (JIT code named in
// /tmp/perf-<pid>.map, so callgrind's output can be read by function).
const NODE_FLAGS = (process.env['BENCH_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);

async function main() {
  const sink = await spawnReady(path.join(__dirname, 'servers/otlp-sink.ts'), []);
  const store = await startBenchStore(STORE);
  const got: Record<string, number> = {};
  try {
    for (const mode of MODES) {
      const out = path.join(os.tmpdir(), `callgrind.tracing.${mode.replace(':', '-')}.${process.pid}`);
      const child = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`, NODE, ...NODE_FLAGS, '--import', 'tsx', path.join(__dirname, 'servers/traced-server.ts'), mode, sink.url, store.arg], { stdio: ['ignore', 'pipe', 'ignore'] });
      const url = await new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout!.on('data', (d: Buffer) => {
          text += d.toString();
          const m = /READY (\S+)/.exec(text);
          if (m) resolve(m[1]!.split('|')[0]!);
        });
        child.once('exit', (code) => reject(new Error(`traced-server under valgrind exited with ${code}`)));
      });
      const opts = { url: `${url}/api/migration/progress`, method: 'POST' as const, body: JSON.stringify({ action: 'update_metrics', increment: { successfulOperations: 1 } }), headers: { 'content-type': 'application/json' }, connections: 50, timeout: 60 };
      await autocannon({ ...opts, amount: WARMUP });
      execFileSync('callgrind_control', ['-i', 'on', String(child.pid)]);
      const r = await autocannon({ ...opts, amount: N });
      execFileSync('callgrind_control', ['-i', 'off', String(child.pid)]);
      await stopChild(child);
      const totals = /^totals: (\d+)/m.exec(readFileSync(out, 'utf8'));
      got[mode] = Number(totals![1]) / r['2xx'];
      process.stdout.write(`${mode}: ${r['2xx']} updates, ${(got[mode]! / 1000).toFixed(1)} k instructions per update\n`);
    }
  } finally {
    await stopChild(sink.child);
    await store.stop();
  }
  const off = got['off'];
  process.stdout.write(`store: ${STORE}; ${N} updates counted after ${WARMUP} of warm-up; server on ${NODE}\n`);
  if (off) for (const m of MODES) process.stdout.write(`${m.padEnd(10)} ${(got[m]! / 1000).toFixed(1).padStart(8)} k instr/update   off / this: ${(off / got[m]!).toFixed(3)}\n`);
}

void main();
