import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareKeys, inRange, type Key, type KeyRange, type Row } from '../../core/validation/connector';
import { Heap } from '../../core/validation/hash';
import type { SortedRows, Spooler } from '../../core/validation/ports';
import { assertUnique, duplicateKey, MemorySpooler } from '../../core/validation/streams';
import { readLines } from './lines';

export interface FileSpoolerOptions {
  /** Rows held in memory before a sorted run is written to disk. */
  memoryRows?: number;
  /** Parent of the temporary directory (default the OS temp dir). */
  dir?: string;
  /** Every this many rows of the merged file, its key and byte offset are kept for range seeks. */
  indexEvery?: number;
}

/**
 * External merge sort for unordered connectors (DynamoDB scans, Redis, APIs): rows are buffered up to
 * `memoryRows`, sorted and written as runs of JSON lines, then k-way merged into one sorted file with a
 * sparse index. Memory: `memoryRows` rows while reading, one row per run while merging. Small inputs
 * never touch the disk.
 */
export class FileSpooler implements Spooler {
  private readonly memoryRows: number;
  private readonly indexEvery: number;
  constructor(private readonly opts: FileSpoolerOptions = {}) {
    this.memoryRows = opts.memoryRows ?? 100_000;
    this.indexEvery = opts.indexEvery ?? 1000;
  }

  async sort(rows: AsyncIterable<Row[]>, opts: { label: string; signal?: AbortSignal }): Promise<SortedRows> {
    let buf: Row[] = [];
    let dir: string | undefined;
    const runs: string[] = [];
    const spill = async () => {
      dir ??= await mkdtemp(join(this.opts.dir ?? tmpdir(), 'mm-spool-'));
      buf.sort((a, b) => compareKeys(a.key, b.key));
      assertUnique(buf, opts.label);
      const path = join(dir, `run-${runs.length}.jsonl`);
      const out = createWriteStream(path);
      for (const r of buf) await write(out, serialize(r));
      await finish(out);
      runs.push(path);
      buf = [];
    };
    try {
      for await (const batch of rows) {
        opts.signal?.throwIfAborted();
        for (const r of batch) buf.push(r);
        if (buf.length >= this.memoryRows) await spill();
      }
      if (!runs.length) {
        const mem = await new MemorySpooler().sort(single(buf), opts);
        return mem;
      }
      if (buf.length) await spill();
      return await this.merge(dir!, runs, opts.label);
    } catch (e) {
      if (dir) await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  private async merge(dir: string, runs: string[], label: string): Promise<SortedRows> {
    const path = join(dir, 'sorted.jsonl');
    const out = createWriteStream(path);
    const index: Array<{ key: Key; offset: number }> = [];
    const heads = runs.map((r) => readLines(r));
    const heap = new Heap<{ row: Row; line: string; src: number }>((a, b) => compareKeys(a.row.key, b.row.key));
    const pull = async (i: number) => {
      const n = await heads[i]!.next();
      if (!n.done) heap.push({ row: deserialize(n.value), line: n.value, src: i });
    };
    for (let i = 0; i < heads.length; i++) await pull(i);
    let offset = 0;
    let count = 0;
    let prev: Key | undefined;
    while (heap.size) {
      const top = heap.pop()!;
      if (prev !== undefined && compareKeys(top.row.key, prev) === 0) throw duplicateKey(label, prev);
      prev = top.row.key;
      if (count % this.indexEvery === 0) index.push({ key: top.row.key, offset });
      await write(out, top.line);
      offset += Buffer.byteLength(top.line) + 1;
      count += 1;
      await pull(top.src);
    }
    await finish(out);
    for (const r of runs) await rm(r, { force: true });
    return {
      count,
      scan: (range, batchSize) => scanFile(path, index, range, batchSize),
      close: () => rm(dir, { recursive: true, force: true }),
    };
  }
}

async function* scanFile(path: string, index: Array<{ key: Key; offset: number }>, range: KeyRange, batchSize: number): AsyncGenerator<Row[]> {
  let start = 0;
  if (range.after !== undefined) {
    // last indexed key <= after: every row before it is out of range
    let lo = 0;
    let hi = index.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareKeys(index[mid]!.key, range.after) <= 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) start = index[lo - 1]!.offset;
  }
  let batch: Row[] = [];
  for await (const line of readLines(path, start)) {
    const row = deserialize(line);
    if (!inRange(row.key, range)) {
      if (range.through !== undefined && compareKeys(row.key, range.through) > 0) break;
      continue;
    }
    batch.push(row);
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

async function* single(rows: Row[]): AsyncGenerator<Row[]> {
  yield rows;
}

/** JSON with bytes and bigints kept: `{"$b64": ...}`, `{"$big": ...}`. */
export function serialize(r: Row): string {
  return JSON.stringify([r.key, r.data], function (this: Record<string, unknown>, k: string, v: unknown) {
    const orig = this[k];
    if (orig instanceof Uint8Array) return { $b64: Buffer.from(orig.buffer, orig.byteOffset, orig.byteLength).toString('base64') };
    if (typeof orig === 'bigint') return { $big: orig.toString() };
    return v;
  });
}

export function deserialize(line: string): Row {
  const [key, data] = JSON.parse(line, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o['$b64'] === 'string' && Object.keys(o).length === 1) return new Uint8Array(Buffer.from(o['$b64'], 'base64'));
      if (typeof o['$big'] === 'string' && Object.keys(o).length === 1) return BigInt(o['$big']);
    }
    return v;
  }) as [Key, Record<string, unknown>];
  return { key, data };
}

function write(out: WriteStream, line: string): Promise<void> | void {
  if (out.write(`${line}\n`)) return;
  return new Promise((resolve, reject) => {
    const done = (e?: Error) => {
      out.off('drain', done);
      out.off('error', done);
      if (e) reject(e);
      else resolve();
    };
    out.on('drain', done);
    out.on('error', done);
  });
}

function finish(out: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    out.once('error', reject);
    out.end(() => resolve());
  });
}
