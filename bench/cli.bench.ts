/**
 * CLI start-up: `--help`, `--version` and `status` (against an in-memory tracker served from this process) of
 * the compiled CLI (`npm run build`), each in a fresh Node process, beside `node -e 0` measured in the same
 * run. Median of 7 wall-clock runs. Target: `--help` and `status` within 0.3 s of `node -e 0`.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FileStore } from '../lib/adapters/file/file-store';
import { serveHttp } from '../lib/adapters/http/server';
import { trackerApi } from '../lib/core/tracker/api';
import { Tracker } from '../lib/core/tracker/service';

const ROOT = path.join(__dirname, '..');
const BIN = path.join(ROOT, 'bin/migration-monitor.js');
const RUNS = 7;
const TARGET_EXTRA_MS = 300;

/** Asynchronously: the tracker answering `status` is served by this very process. */
async function median(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, args, { env, timeout: 60_000 }, (err, _out, stderr) => (err ? reject(new Error(`${args.join(' ')} failed: ${String(stderr).slice(-400)}`)) : resolve())),
    );
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(RUNS / 2)]!;
}

export async function run(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist/lib/cli/main.js'))) throw new Error('no compiled CLI: run `npm run build` first');
  const tracker = new Tracker({ store: FileStore.inMemory() });
  await tracker.initialize('default', {});
  const srv = await serveHttp(trackerApi({ tracker, token: 'bench' }));
  try {
    const env = { PATH: process.env['PATH'] ?? '', MIGRATION_MONITOR_COMPILED: '1', MIGRATION_MONITOR_URL: srv.url, MIGRATION_MONITOR_TOKEN: 'bench', NO_COLOR: '1' };
    const base = await median(['-e', '0'], env);
    console.log(`node -e 0 (baseline): ${base.toFixed(0)} ms; median of ${RUNS}; target: at most +${TARGET_EXTRA_MS} ms`);
    console.log('command        wall(ms)  extra(ms)  ratio  | dev path via tsx (ms)');
    for (const args of [['--help'], ['--version'], ['status'], ['alerts']]) {
      const ms = await median([BIN, ...args], env);
      const dev = await median([BIN, ...args], { ...env, MIGRATION_MONITOR_COMPILED: '0' });
      const extra = ms - base;
      console.log(`${args.join(' ').padEnd(13)} ${ms.toFixed(0).padStart(9)} ${extra.toFixed(0).padStart(10)} ${(ms / base).toFixed(2).padStart(6)}  | ${dev.toFixed(0).padStart(8)}   ${extra <= TARGET_EXTRA_MS ? 'ok' : 'OVER TARGET'}`);
    }
  } finally {
    await srv.close();
  }
}
