/**
 * Validation benchmarks.
 *
 * 1. A 1,000-item sampled validation (seeded sample, records with 768-dim embeddings compared by L2) between
 *    two real PostgreSQL databases: own CPU time and wall time, against a naive validator measured in the
 *    same run (one query per sampled key on each side, the sample drawn by fetching every key) and against
 *    the seed figure (2 minutes for a 1K sample). Target: < 5 s of own time.
 * 2. A 1,000,000-vector (dim 768) streaming comparison from two generated, never materialized streams,
 *    with peak memory: the diff check merge-joins both sides batch by batch. Baseline: generating the two
 *    streams alone (what any comparison must at least pay), and what materializing both sides would take.
 *
 * 3. Checksum and diff between two real PostgreSQL servers (one per side, as in a migration), 100,000 rows ×
 *    768 floats per side generated in the databases: checksum wall time against a plain sequential scan of
 *    the table measured in the same run (every value read: `sum(array_length(embedding, 1))`, both sides at
 *    once), diff rows/s, the validator's peak RSS and each server's CPU (postmaster and its children, from
 *    /proc). Targets: checksum ≤ 3× the scan, diff ≥ 20,000 rows/s, RSS ≤ 512 MB.
 *
 * Sizes: BENCH_VALIDATION_ROWS (default 20,000 rows per database), BENCH_VALIDATION_VECTORS (default 1,000,000),
 * BENCH_VALIDATION_PG_ROWS (default 100,000). BENCH_VALIDATION_ONLY=pg runs only part 3.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from 'pg';
import { validationDeps } from '../lib/compose/validation-runtime';
import { validateConfig } from '../lib/core/validation/config';
import type { Key, Row, ScanOptions, SourceConnector } from '../lib/core/validation/connector';
import { runValidation } from '../lib/core/validation/engine';
import { BottomK } from '../lib/core/validation/hash';
import { compareRecords } from '../lib/core/validation/compare';
import { startPostgres } from '../test/support/postgres';

const ROWS = Number(process.env['BENCH_VALIDATION_ROWS'] ?? 20_000);
const VECTORS = Number(process.env['BENCH_VALIDATION_VECTORS'] ?? 1_000_000);
const DIM = 768;
const SAMPLE = 1000;
const SEED_FIGURE_MS = 120_000;

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;

async function measure<T>(fn: () => Promise<T>): Promise<{ value: T; wallMs: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  return { value, wallMs: performance.now() - t0, cpuMs: cpuMs(process.cpuUsage(c0)) };
}

export async function run(): Promise<void> {
  if (process.env['BENCH_VALIDATION_ONLY'] !== 'pg') {
    await sampledValidation();
    await streamingVectors();
  }
  await checksumAndDiffOnPostgres();
}

// ---------- 3. checksum and diff between two PostgreSQL servers ----------

const PG_ROWS = Number(process.env['BENCH_VALIDATION_PG_ROWS'] ?? 100_000);
const TICKS = 100; // USER_HZ on Linux

/** CPU seconds of a PostgreSQL server: the postmaster (with its reaped children) and its live children. */
function serverCpuSeconds(port: number): number {
  const procs = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  const stat = (pid: string) => {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return { ppid: f[1]!, utime: Number(f[11]), stime: Number(f[12]), cutime: Number(f[13]), cstime: Number(f[14]) };
    } catch {
      return null; // exited meanwhile
    }
  };
  const master = procs.find((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return cmd[0]!.endsWith('/postgres') && cmd.includes('-p') && cmd[cmd.indexOf('-p') + 1] === String(port);
    } catch {
      return false;
    }
  });
  if (!master) throw new Error(`no postmaster on port ${port}`);
  const m = stat(master)!;
  let ticks = m.utime + m.stime + m.cutime + m.cstime;
  for (const pid of procs) {
    const s = stat(pid);
    if (s && s.ppid === master) ticks += s.utime + s.stime;
  }
  return ticks / TICKS;
}

async function checksumAndDiffOnPostgres(): Promise<void> {
  const [a, b] = await Promise.all([startPostgres(), startPostgres()]);
  try {
    const urls = [await a.createDatabase('source'), await b.createDatabase('target')];
    const load = await measure(() =>
      Promise.all(
        urls.map(async (url, side) => {
          const c = new Client({ connectionString: url });
          await c.connect();
          await c.query(
            `CREATE TABLE items AS SELECT g AS id, 'item ' || g AS name, (g * 7919 % 100000) / 100.0 AS price,
               ARRAY(SELECT sin(g * 1000 + i)::real FROM generate_series(1, ${DIM}) i) AS embedding FROM generate_series(1, $1) g`,
            [PG_ROWS],
          );
          await c.query('ALTER TABLE items ADD PRIMARY KEY (id)');
          if (side === 1) {
            // planted: 3 deleted, 2 orphans, 4 changed names, 5 vectors moved 1e-3
            await c.query('DELETE FROM items WHERE id IN (17, 25000, 77777)');
            await c.query(`INSERT INTO items SELECT id, 'orphan', 0, NULL FROM unnest(ARRAY[${PG_ROWS + 1}, ${PG_ROWS + 2}]) id`);
            await c.query(`UPDATE items SET name = name || ' (edited)' WHERE id IN (5, 500, 5000, 50000)`);
            await c.query(`UPDATE items SET embedding[1] = embedding[1] + 0.001 WHERE id IN (6, 600, 6000, 60000, 90000)`);
          }
          await c.query('VACUUM ANALYZE items');
          await c.end();
        }),
      ),
    );
    process.stdout.write(`generated 2 × ${PG_ROWS.toLocaleString()} rows × ${DIM} floats on two PostgreSQL servers in ${(load.wallMs / 1000).toFixed(1)} s\n`);

    const scanBoth = () =>
      Promise.all(
        urls.map(async (url) => {
          const c = new Client({ connectionString: url });
          await c.connect();
          await c.query('SELECT sum(array_length(embedding, 1)), count(name), sum(price) FROM items');
          await c.end();
        }),
      );
    await scanBoth(); // warm the caches for every measurement alike
    const scan = await measure(scanBoth);

    const cfg = (kind: 'checksum' | 'diff') =>
      validateConfig({
        connectors: { src: { type: 'postgres', url: urls[0]!, table: 'items', key: 'id' }, dst: { type: 'postgres', url: urls[1]!, table: 'items', key: 'id' } },
        checks: [{ name: kind, kind, source: 'src', target: 'dst', vector: { field: 'embedding', epsilon: 1e-4 }, ...(kind === 'diff' ? { batchSize: 5000 } : {}) }],
      });
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const timed = async (kind: 'checksum' | 'diff') => {
      const cpu0 = [serverCpuSeconds(a.port), serverCpuSeconds(b.port)];
      const m = await measure(() => runValidation(cfg(kind), validationDeps(cfg(kind))));
      const cpu = [serverCpuSeconds(a.port) - cpu0[0]!, serverCpuSeconds(b.port) - cpu0[1]!];
      const ev = m.value.checks[0]!.evidence as Record<string, unknown>;
      if (m.value.checks[0]!.error) throw new Error(`${kind}: ${m.value.checks[0]!.error}`);
      return { ...m, cpu, ev, summary: m.value.checks[0]!.summary };
    };
    const scanCpu0 = [serverCpuSeconds(a.port), serverCpuSeconds(b.port)];
    await scanBoth();
    const scanCpu = [serverCpuSeconds(a.port) - scanCpu0[0]!, serverCpuSeconds(b.port) - scanCpu0[1]!];
    const ck = await timed('checksum');
    const df = await timed('diff');
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const rate = Number(df.ev['compared']) / (df.wallMs / 1000);
    const sec = (x: number) => `${(x / 1000).toFixed(2)} s`;
    process.stdout.write(
      [
        `baseline: plain sequential scan of both tables (every value read, in parallel): ${sec(scan.wallMs)} wall; DB CPU source ${scanCpu[0]!.toFixed(2)} s, target ${scanCpu[1]!.toFixed(2)} s`,
        `checksum (${ck.ev['mode']}, ${ck.ev['checksumKind']}): ${sec(ck.wallMs)} wall = ${(ck.wallMs / scan.wallMs).toFixed(2)}× the scan (target ≤ 3×); ` +
          `validator CPU ${sec(ck.cpuMs)}; DB CPU source ${ck.cpu[0]!.toFixed(2)} s, target ${ck.cpu[1]!.toFixed(2)} s; ${ck.ev['checksums'] !== undefined ? `${ck.ev['checksums']} range checksums, ` : ''}${ck.ev['rowsFetched']} full rows read`,
        `  ${ck.summary}`,
        `diff (${df.ev['mode']}): ${Number(df.ev['compared']).toLocaleString()} keys in ${sec(df.wallMs)} = ${Math.round(rate).toLocaleString()} rows/s (target ≥ 20,000); ` +
          `validator CPU ${sec(df.cpuMs)}; DB CPU source ${df.cpu[0]!.toFixed(2)} s, target ${df.cpu[1]!.toFixed(2)} s; ${df.ev['rowsFetched']} full rows read`,
        `  ${df.summary}`,
        `validator peak RSS: ${mb(peak)} (target ≤ 512 MB)`,
        '',
      ].join('\n'),
    );
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

// ---------- 1. sampled validation against PostgreSQL ----------

async function sampledValidation(): Promise<void> {
  const pg = await startPostgres();
  try {
    const urls = [await pg.createDatabase('bench_source'), await pg.createDatabase('bench_target')];
    const load = await measure(async () => {
      for (const url of urls) {
        const c = new Client({ connectionString: url });
        await c.connect();
        await c.query('CREATE TABLE items (id integer PRIMARY KEY, name text, price numeric(10,2), embedding real[])');
        await c.query(
          `INSERT INTO items SELECT g, 'item ' || g, (g * 7919 % 100000) / 100.0,
             ARRAY(SELECT sin(g * 1000 + i)::real FROM generate_series(1, ${DIM}) i) FROM generate_series(1, $1) g`,
          [ROWS],
        );
        if (url === urls[1]) {
          // planted: 1% of rows missing, 0.5% with a moved embedding, 0.5% with a changed price
          await c.query('DELETE FROM items WHERE id % 100 = 17');
          await c.query('UPDATE items SET embedding[5] = embedding[5] + 0.5 WHERE id % 200 = 3');
          await c.query('UPDATE items SET price = price + 1 WHERE id % 200 = 101');
        }
        await c.query('ANALYZE items');
        await c.end();
      }
    });
    process.stdout.write(`loaded 2 × ${ROWS.toLocaleString()} rows (dim ${DIM}) into PostgreSQL in ${(load.wallMs / 1000).toFixed(1)} s\n`);

    const cfg = validateConfig({
      connectors: {
        src: { type: 'postgres', url: urls[0], table: 'items', key: 'id' },
        dst: { type: 'postgres', url: urls[1], table: 'items', key: 'id' },
      },
      checks: [{ name: 'sample', kind: 'sample', source: 'src', target: 'dst', sampleSize: SAMPLE, seed: 'bench', vector: { field: 'embedding', epsilon: 1e-4 } }],
    });
    const { createConnector } = await import('../lib/compose/validation-runtime');
    const ours = await measure(() => runValidation(cfg, { createConnector }));
    const ev = ours.value.checks[0]!.evidence as { compared: number; missing: number; changed: number; successRate: number; sampleMethod: string };
    if (ev.compared !== SAMPLE) throw new Error(`expected ${SAMPLE} compared records, got ${ev.compared}`);

    const naive = await measure(() => naiveSample(urls[0]!, urls[1]!));
    if (naive.value.missing !== ev.missing || naive.value.changed !== ev.changed) {
      throw new Error(`the naive validator disagrees: ${JSON.stringify(naive.value)} vs ${JSON.stringify({ missing: ev.missing, changed: ev.changed })}`);
    }
    process.stdout.write(
      [
        `sampled validation, ${SAMPLE} of ${ROWS.toLocaleString()} records, dim ${DIM}, PostgreSQL ↔ PostgreSQL (sample ${ev.sampleMethod}):`,
        `  found ${ev.missing} missing, ${ev.changed} changed, success rate ${ev.successRate}%`,
        `  ours:  own CPU ${ours.cpuMs.toFixed(0)} ms, wall ${ours.wallMs.toFixed(0)} ms   (target: < 5,000 ms of own time: ${ours.cpuMs < 5000 ? 'met' : 'MISSED'})`,
        `  naive (all keys fetched for the sample, one query per key per side): own CPU ${naive.cpuMs.toFixed(0)} ms, wall ${naive.wallMs.toFixed(0)} ms → ours is ${(naive.wallMs / ours.wallMs).toFixed(1)}× faster (wall)`,
        `  seed figure 2 min per 1K sample → ours is ${(SEED_FIGURE_MS / ours.wallMs).toFixed(0)}× faster (wall)`,
        '',
      ].join('\n'),
    );
  } finally {
    await pg.stop();
  }
}

/** What a straightforward validator does: fetch every key, sample in memory, then one query per key per side. */
async function naiveSample(srcUrl: string, dstUrl: string): Promise<{ missing: number; changed: number }> {
  const src = new Client({ connectionString: srcUrl });
  const dst = new Client({ connectionString: dstUrl });
  await src.connect();
  await dst.connect();
  try {
    const keys = (await src.query('SELECT id FROM items')).rows.map((r: { id: number }) => r.id);
    const bk = new BottomK(SAMPLE, 'bench');
    for (const k of keys) bk.add(k);
    let missing = 0;
    let changed = 0;
    const spec = { ignore: [], numberTolerance: 0, vector: { field: 'embedding', epsilon: 1e-4 } };
    for (const k of bk.keys()) {
      const a = (await src.query('SELECT name, price::float8 AS price, embedding FROM items WHERE id = $1', [k])).rows[0];
      const b = (await dst.query('SELECT name, price::float8 AS price, embedding FROM items WHERE id = $1', [k])).rows[0];
      if (!b) missing += 1;
      else if (!compareRecords(a, b, spec).equal) changed += 1;
    }
    return { missing, changed };
  } finally {
    await src.end();
    await dst.end();
  }
}

// ---------- 2. streaming comparison of 1M vectors ----------

/** Rows generated on demand, in key order: never more than one batch in memory. */
class GeneratedVectors implements SourceConnector {
  readonly ordered = true;
  constructor(
    readonly label: string,
    private readonly n: number,
    private readonly variant: 'source' | 'target',
  ) {}
  async count() {
    return this.n;
  }
  async *scan(opts: ScanOptions): AsyncGenerator<Row[]> {
    let batch: Row[] = [];
    const first = typeof opts.after === 'number' ? opts.after + 1 : 1;
    for (let id = first; id <= this.n; id++) {
      const row = this.row(id);
      if (!row) continue;
      batch.push(row);
      if (batch.length >= opts.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }
  private row(id: number): Row | null {
    if (this.variant === 'target' && id % 100_000 === 7) return null; // missing in the target
    const v = vectorFor(id);
    if (this.variant === 'target' && id % 50_000 === 11) v[3]! += 0.01; // moved beyond epsilon
    if (this.variant === 'target' && id % 50_000 === 13) v[3]! += 1e-7; // within epsilon
    return { key: id, data: { embedding: v } };
  }
  async get(): Promise<Row[]> {
    throw new Error('not used');
  }
  async keyRange() {
    return { min: 1 as Key, max: this.n as Key };
  }
  async close() {}
}

/** A deterministic pseudo-random vector per id (xorshift32). */
function vectorFor(id: number): Float32Array {
  const v = new Float32Array(DIM);
  let x = (id * 2654435761) >>> 0 || 1;
  for (let i = 0; i < DIM; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    v[i] = (x >>> 0) / 4294967296 - 0.5;
  }
  return v;
}

async function streamingVectors(): Promise<void> {
  let peakHeap = 0;
  let peakRss = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
  };
  global.gc?.();
  const before = process.memoryUsage();
  const timer = setInterval(sample, 50);
  try {
    const generateBoth = (n: number) =>
      measure(async () => {
        let count = 0;
        for (const side of [new GeneratedVectors('s', n, 'source'), new GeneratedVectors('t', n, 'target')]) {
          for await (const b of side.scan({ batchSize: 1000 })) count += b.length;
        }
        return count;
      });
    await generateBoth(Math.min(VECTORS, 20_000)); // warm-up, not measured
    const conns: Record<string, SourceConnector> = { src: new GeneratedVectors('generated-source', VECTORS, 'source'), dst: new GeneratedVectors('generated-target', VECTORS, 'target') };
    const cfg = validateConfig({
      connectors: { src: { type: 'file', path: 'unused.jsonl', key: 'id' }, dst: { type: 'file', path: 'unused.jsonl', key: 'id' } },
      checks: [{ name: 'vectors', kind: 'diff', source: 'src', target: 'dst', vector: { field: 'embedding', epsilon: 1e-4 }, batchSize: 1000, checkpointEvery: 100_000 }],
    });
    const ours = await measure(() => runValidation(cfg, { createConnector: (n) => conns[n]! }));
    sample();
    // baseline: just generating both streams (after ours, so both run on a warm JIT)
    const gen = await generateBoth(VECTORS);
    const ev = ours.value.checks[0]!.evidence as { compared: number; missing: number; changed: number; vectors: { compared: number; overEpsilon: number; maxDistance: number } };
    const expectedMissing = Math.floor((VECTORS - 7) / 100_000) + 1;
    const expectedMoved = Math.floor((VECTORS - 11) / 50_000) + 1;
    if (ev.missing !== expectedMissing || ev.vectors.overEpsilon !== expectedMoved) {
      throw new Error(`unexpected findings: ${JSON.stringify({ missing: ev.missing, overEpsilon: ev.vectors.overEpsilon })}, expected ${expectedMissing} missing, ${expectedMoved} moved`);
    }
    const rusage = process.resourceUsage();
    const materialized = 2 * VECTORS * DIM * 4;
    process.stdout.write(
      [
        `streaming compare, ${VECTORS.toLocaleString()} vectors × dim ${DIM} per side (generated, never materialized):`,
        `  found ${ev.missing} missing and ${ev.vectors.overEpsilon} vectors beyond epsilon (max L2 ${ev.vectors.maxDistance}), ${ev.vectors.compared.toLocaleString()} vectors compared`,
        `  ours: wall ${(ours.wallMs / 1000).toFixed(1)} s, own CPU ${(ours.cpuMs / 1000).toFixed(1)} s, ${Math.round(VECTORS / (ours.wallMs / 1000)).toLocaleString()} vectors/s`,
        `  baseline, generating both streams only: wall ${(gen.wallMs / 1000).toFixed(1)} s, own CPU ${(gen.cpuMs / 1000).toFixed(1)} s → the comparison adds ${(((ours.cpuMs - gen.cpuMs) / gen.cpuMs) * 100).toFixed(0)}% CPU on top (CPU, not wall: a busy machine skews wall time)`,
        `  memory: heap before ${mb(before.heapUsed)}, peak heap ${mb(peakHeap)}, peak RSS ${mb(peakRss)} (sampled every 50 ms), maxRSS ${mb(rusage.maxRSS * 1024)}`,
        `  materializing both sides would hold ${mb(materialized)} of floats: peak RSS is ${((peakRss / materialized) * 100).toFixed(1)}% of that`,
        `  bounded: ${peakRss < 1024 * 1024 * 1024 ? 'yes' : 'NO'} (peak RSS under 1 GB)`,
        '',
      ].join('\n'),
    );
  } finally {
    clearInterval(timer);
  }
}
