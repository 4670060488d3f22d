/**
 * Log watcher throughput: how fast the analyzer gets through a log, beside a baseline that only splits the
 * same text into lines and JSON.parses the JSON ones (measured in the same run).
 * - noise: lines no pattern matches (most of a real log): parse + match only;
 * - events: "Bulk copy progress" lines, each one a tracker update on the in-memory embedded store;
 * - tail: the same mixed log read from a file by LogTailer (offsets, keys) and fed to the analyzer;
 * - profile: a pg_restore --verbose log through the built-in pg_restore profile (every line matches a rule;
 *   one in 50 starts a table, a tracker update; the rest are heartbeats, coalesced).
 * Sizes are bounded (BENCH_LOGWATCH_LINES, default 100,000 noise lines and 5,000 events).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '../lib/adapters/file/file-store';
import { LogTailer } from '../lib/adapters/file/log-tailer';
import { LogAnalyzer, parseLogWatchConfig, trackerSink } from '../lib/core/logwatch';
import { Tracker } from '../lib/core/tracker/service';

const NOISE = Number(process.env['BENCH_LOGWATCH_LINES'] ?? 100_000);
const EVENTS = Math.max(100, Math.round(NOISE / 20));

function noiseLine(i: number): string {
  return i % 2
    ? `2026-01-01T10:00:${String(i % 60).padStart(2, '0')}.000Z INFO eventsource.store appended batch=${i} size=${i % 500} latency_ms=${i % 37}`
    : JSON.stringify({ timestamp: '2026-01-01T10:00:00Z', level: 'DEBUG', logger: 'eventsource.db', message: 'connection pool stats', active: i % 10, idle: 5 });
}
const eventLine = (i: number, total: number) => `2026-01-01T10:00:00Z INFO Bulk copy progress migration_id=bench tenant_id=t1 events_count=${i + 1} events_total=${total}`;

function baseline(lines: string[]): number {
  const t0 = process.hrtime.bigint();
  let n = 0;
  for (const l of lines.join('\n').split('\n')) {
    if (l.startsWith('{')) n += Object.keys(JSON.parse(l) as object).length;
    else n += l.length;
  }
  if (n < 0) throw new Error('unreachable');
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function analyze(lines: string[], analyzer: LogAnalyzer, source: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (const [i, text] of lines.entries()) await analyzer.process({ text, source, key: `${source}:${i}` });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const fresh = () => {
  const tracker = new Tracker({ store: FileStore.inMemory() });
  return { tracker, analyzer: new LogAnalyzer({ sink: trackerSink(tracker) }) };
};
const rate = (n: number, s: number) => `${Math.round(n / s).toLocaleString('en-US')} lines/s`;

export async function run(): Promise<void> {
  const noise = Array.from({ length: NOISE }, (_, i) => noiseLine(i));
  const events = Array.from({ length: EVENTS }, (_, i) => eventLine(i, EVENTS));

  const base = baseline(noise);
  const n = fresh();
  const noiseS = await analyze(noise, n.analyzer, 'noise.log');
  process.stdout.write(`baseline (split + JSON.parse): ${rate(NOISE, base)}\n`);
  process.stdout.write(`noise (parse + match, no update): ${rate(NOISE, noiseS)}  = ${(base / noiseS).toFixed(3)} × baseline\n`);

  const e = fresh();
  const eventsS = await analyze(events, e.analyzer, 'events.log');
  const s = await e.tracker.get('bench');
  if (s.phases[0]!.progress !== 100) throw new Error(`expected the bulk copy at 100%, got ${s.phases[0]!.progress}`);
  process.stdout.write(`events (each a tracker update, in-memory store): ${rate(EVENTS, eventsS)}  = ${(EVENTS / eventsS / (NOISE / base)).toFixed(4)} × baseline; ${e.analyzer.stats().applied} updates\n`);

  const tables = Math.max(10, Math.round(NOISE / 50));
  const restore = Array.from({ length: NOISE }, (_, i) =>
    i % 50 === 0 ? `pg_restore: processing data for table "public.t${i / 50}"` : i % 50 < 25 ? `pg_restore: creating INDEX "public.idx_${i}"` : `pg_restore: creating CONSTRAINT "public.t${i % tables} t_pkey_${i}"`,
  );
  const pt = new Tracker({ store: FileStore.inMemory() });
  const pa = new LogAnalyzer({ sink: trackerSink(pt), config: parseLogWatchConfig({ profile: 'pg_restore', phase: 'restore', defaultMigrationId: 'bench', plan: [{ id: 'restore', name: 'Restore', estimatedDuration: 10 }] }) });
  const profileS = await analyze(restore, pa, 'restore.log');
  const ps = pa.stats();
  if (ps.matched !== NOISE) throw new Error(`the profile matched ${ps.matched} of ${NOISE} lines`);
  process.stdout.write(`profile (pg_restore --verbose through the pg_restore profile, ${tables} tables): ${rate(NOISE, profileS)}  = ${(base / profileS).toFixed(3)} × baseline; ${ps.applied} updates\n`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-logwatch-'));
  try {
    const file = path.join(dir, 'app.log');
    const mixed = noise.map((l, i) => (i % 20 === 0 ? eventLine(i / 20, EVENTS) : l));
    fs.writeFileSync(file, `${mixed.join('\n')}\n`);
    const bytes = fs.statSync(file).size;
    const t = fresh();
    const tailer = await LogTailer.open({ paths: [file], stateFile: path.join(dir, 'state.json') });
    const t0 = process.hrtime.bigint();
    const read = await tailer.poll(async (l) => void (await t.analyzer.process(l)));
    const tailS = Number(process.hrtime.bigint() - t0) / 1e9;
    if (read !== mixed.length) throw new Error(`tailer read ${read} of ${mixed.length} lines`);
    process.stdout.write(
      `tail (file → analyzer → tracker, 1 in 20 lines an update, ${(bytes / 1e6).toFixed(1)} MB): ${rate(read, tailS)}  = ${(base / tailS).toFixed(3)} × baseline; ${(bytes / 1e6 / tailS).toFixed(1)} MB/s\n`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) void run();
