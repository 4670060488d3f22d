import { canonical, type FieldSelection } from './hash';

/** How two versions of one record are compared. */
export interface CompareSpec extends FieldSelection {
  /** A field holding an embedding, compared by L2 distance instead of equality. */
  vector?: { field: string; epsilon: number };
  /** Numbers equal when |a - b| <= this (0 = exact). */
  numberTolerance: number;
}

export interface RecordComparison {
  equal: boolean;
  /** Fields whose values differ (the vector field appears here when over epsilon or malformed). */
  changed: string[];
  /** L2 distance of the vector field, when both sides have one of the same dimension. */
  vectorDistance?: number;
  /** The vector field is missing, malformed or of another dimension on one side. */
  vectorProblem?: string;
}

export function compareRecords(src: Record<string, unknown>, tgt: Record<string, unknown>, spec: CompareSpec): RecordComparison {
  const fields = spec.fields ?? unionFields(src, tgt, spec.ignore);
  const changed: string[] = [];
  let vectorDistance: number | undefined;
  let vectorProblem: string | undefined;
  for (const f of fields) {
    const a = src[f];
    const b = tgt[f];
    if (spec.vector && f === spec.vector.field) {
      const va = toVector(a);
      const vb = toVector(b);
      if (va === null && vb === null) continue;
      if (va === null || vb === null || va.length !== vb.length) {
        vectorProblem =
          va === null || vb === null
            ? `vector missing or malformed on the ${va === null ? 'source' : 'target'}`
            : `dimension ${va.length} on the source, ${vb.length} on the target`;
        changed.push(f);
        continue;
      }
      vectorDistance = l2(va, vb);
      if (!(vectorDistance <= spec.vector.epsilon)) changed.push(f);
      continue;
    }
    if (!valuesEqual(a, b, spec.numberTolerance)) changed.push(f);
  }
  return { equal: changed.length === 0, changed, ...(vectorDistance !== undefined ? { vectorDistance } : {}), ...(vectorProblem ? { vectorProblem } : {}) };
}

function unionFields(a: Record<string, unknown>, b: Record<string, unknown>, ignore: string[]): string[] {
  const s = new Set<string>();
  for (const k of Object.keys(a)) if (!ignore.includes(k)) s.add(k);
  for (const k of Object.keys(b)) if (!ignore.includes(k)) s.add(k);
  return [...s].sort();
}

function valuesEqual(a: unknown, b: unknown, tol: number): boolean {
  if (typeof a === 'number' && typeof b === 'number') return tol > 0 ? Math.abs(a - b) <= tol : a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (a === b) return true;
  return canonical(a) === canonical(b);
}

/** Euclidean (L2) distance of two vectors of equal length. */
export function l2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return Math.sqrt(s);
}

/**
 * Read an embedding from what stores hold: a number array, a typed array, float32 little-endian bytes
 * (DynamoDB binary, Redis strings), or text as JSON `[1,2]`, pgvector `[1,2]` or a PostgreSQL array `{1,2}`.
 * Null when absent or not a vector.
 */
export function toVector(v: unknown): ArrayLike<number> | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.every((x) => typeof x === 'number') ? (v as number[]) : v.every((x) => typeof x === 'string' && x.trim() !== '' && Number.isFinite(Number(x))) ? v.map(Number) : null;
  if (v instanceof Float32Array || v instanceof Float64Array) return v;
  if (v instanceof Uint8Array) {
    if (v.byteLength % 4 !== 0) return null;
    const out = new Float32Array(v.byteLength / 4);
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
    return out;
  }
  if (typeof v === 'string') {
    const t = v.trim();
    const inner = /^[[{](.*)[\]}]$/s.exec(t)?.[1];
    if (inner === undefined) return null;
    if (inner.trim() === '') return [];
    const parts = inner.split(',').map((x) => Number(x));
    return parts.every(Number.isFinite) ? parts : null;
  }
  return null;
}
