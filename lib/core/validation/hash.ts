import { createHash } from 'node:crypto';
import { keyText, type FieldSelection, type Key, type RangeChecksum } from './connector';

export type { FieldSelection };

/**
 * Canonical JSON for record values: object keys sorted, bytes as base64, bigint and Date as text, null and
 * undefined alike (a NULL column and an absent DynamoDB attribute are the same thing to a migration).
 */
export function canonical(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? (Object.is(v, -0) ? '0' : String(v)) : 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (v instanceof Uint8Array) return JSON.stringify(`b64:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}`);
  if (ArrayBuffer.isView(v)) return `[${Array.from(v as unknown as ArrayLike<number>, (x) => canonical(x)).join(',')}]`;
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v instanceof Set) return canonical([...v].map(canonical).sort());
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined && o[k] !== null)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(String(v));
}

export function projectedFields(data: Record<string, unknown>, sel: FieldSelection): string[] {
  if (sel.fields) return sel.fields;
  return Object.keys(data)
    .filter((f) => !sel.ignore.includes(f) && data[f] !== undefined && data[f] !== null)
    .sort();
}

/** The canonical text of a record's projection (what the engine checksums). */
export function projectionText(key: Key, data: Record<string, unknown>, sel: FieldSelection): string {
  let s = `${JSON.stringify(key)}|`;
  for (const f of projectedFields(data, sel)) s += `${JSON.stringify(f)}=${canonical(data[f])};`;
  return s;
}

/**
 * Order-independent checksum of a set of rows: count plus XOR and sum of 32-bit words of each row's md5.
 * Rows arrive in any order (unordered connectors) and ranges combine without re-reading.
 */
export class ChecksumAccumulator {
  private n = 0;
  private x1 = 0;
  private x2 = 0;
  private s1 = 0;
  private s2 = 0;
  constructor(private readonly sel: FieldSelection) {}

  add(key: Key, data: Record<string, unknown>): void {
    const d = createHash('md5').update(projectionText(key, data, this.sel)).digest();
    this.n += 1;
    this.x1 = (this.x1 ^ d.readUInt32BE(0)) >>> 0;
    this.x2 = (this.x2 ^ d.readUInt32BE(4)) >>> 0;
    this.s1 = (this.s1 + d.readUInt32BE(8)) >>> 0;
    this.s2 = (this.s2 + d.readUInt32BE(12)) >>> 0;
  }

  result(): RangeChecksum {
    const hex = (x: number) => x.toString(16).padStart(8, '0');
    return { count: this.n, digest: this.n ? hex(this.x1) + hex(this.x2) + hex(this.s1) + hex(this.s2) : 'empty', kind: ENGINE_CHECKSUM_KIND };
  }
}

export const ENGINE_CHECKSUM_KIND = 'engine-md5-v1';

/**
 * The seeded sampling rank of a key: md5 of `${seed}:${key}` in lower-case hex. The sample of size n is the
 * n keys with the smallest rank, so every connector (and SQL, `md5($seed || ':' || key::text)`) agrees on it. A
 * composite key's text is its parts joined by U+001F (SQL: `concat_ws(chr(31), a::text, b::text)`).
 */
export const sampleRank = (seed: string, key: Key): string => createHash('md5').update(`${seed}:${keyText(key)}`).digest('hex');

/** A binary heap ordered by `cmp` (smallest first). */
export class Heap<T> {
  private readonly a: T[] = [];
  constructor(private readonly cmp: (x: T, y: T) => number) {}
  get size(): number {
    return this.a.length;
  }
  peek(): T | undefined {
    return this.a[0];
  }
  push(v: T): void {
    const a = this.a;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.cmp(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.a;
    if (!a.length) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.cmp(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.cmp(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
  /** Remaining items in heap order (destructive). */
  drain(): T[] {
    const out: T[] = [];
    while (this.a.length) out.push(this.pop()!);
    return out;
  }
}

/** Keeps the n keys with the smallest sample rank, in O(n) memory. */
export class BottomK {
  private readonly heap = new Heap<{ rank: string; key: Key }>((x, y) => (x.rank < y.rank ? 1 : x.rank > y.rank ? -1 : 0));
  constructor(
    private readonly n: number,
    private readonly seed: string,
  ) {}
  add(key: Key): void {
    if (this.n <= 0) return;
    const rank = sampleRank(this.seed, key);
    if (this.heap.size < this.n) this.heap.push({ rank, key });
    else if (rank < this.heap.peek()!.rank) {
      this.heap.pop();
      this.heap.push({ rank, key });
    }
  }
  /** The sample, smallest rank first. */
  keys(): Key[] {
    return this.heap.drain().reverse().map((x) => x.key);
  }
}
