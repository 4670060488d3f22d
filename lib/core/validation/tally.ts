import { compareRecords, type CompareSpec } from './compare';
import type { Key, Row } from './connector';
import type { MetricsSink } from './ports';

export type Problem = 'missing' | 'orphan' | 'changed';

/** One record that does not match, as reported in the evidence. */
export interface Mismatch {
  key: Key;
  /** missing: in the source, not in the target; orphan: in the target only; changed: values differ. */
  problem: Problem;
  fields?: string[];
  vectorDistance?: number;
  detail?: string;
}

export interface TallyState {
  compared: number;
  matched: number;
  missing: number;
  orphans: number;
  changed: number;
  vectorOverEpsilon: number;
  vectorsCompared: number;
  maxVectorDistance: number;
  mismatches: Mismatch[];
}

/**
 * Counts what a comparison of two sides found. Serializable (checkpoints store it); keeps at most
 * `limit` example mismatches, while counting all of them.
 */
export class DiffTally {
  s: TallyState;
  constructor(
    private readonly spec: CompareSpec,
    private readonly limit: number,
    state?: TallyState,
  ) {
    this.s = state ?? { compared: 0, matched: 0, missing: 0, orphans: 0, changed: 0, vectorOverEpsilon: 0, vectorsCompared: 0, maxVectorDistance: 0, mismatches: [] };
  }

  /** Record one key seen on the source, the target, or both. */
  pair(key: Key, src: Row | undefined, tgt: Row | undefined): void {
    const s = this.s;
    s.compared += 1;
    if (src && !tgt) return this.bad({ key, problem: 'missing' }, 'missing');
    if (!src && tgt) return this.bad({ key, problem: 'orphan' }, 'orphans');
    const r = compareRecords(src!.data, tgt!.data, this.spec);
    if (r.vectorDistance !== undefined) {
      s.vectorsCompared += 1;
      if (r.vectorDistance > s.maxVectorDistance) s.maxVectorDistance = r.vectorDistance;
    }
    if (r.equal) {
      s.matched += 1;
      return;
    }
    if (this.spec.vector && r.changed.includes(this.spec.vector.field)) s.vectorOverEpsilon += 1;
    this.bad(
      {
        key,
        problem: 'changed',
        fields: r.changed,
        ...(r.vectorDistance !== undefined ? { vectorDistance: round(r.vectorDistance) } : {}),
        ...(r.vectorProblem ? { detail: r.vectorProblem } : {}),
      },
      'changed',
    );
  }

  /** A key whose row hashes are equal on both sides: the rows are identical (vectors at distance 0). */
  identical(): void {
    this.present();
    if (this.spec.vector) this.s.vectorsCompared += 1;
  }

  /** A target key found present in the source (orphan probes that came back clean). */
  present(): void {
    this.s.compared += 1;
    this.s.matched += 1;
  }

  private bad(m: Mismatch, counter: 'missing' | 'orphans' | 'changed'): void {
    this.s[counter] += 1;
    if (this.s.mismatches.length < this.limit) this.s.mismatches.push(m);
  }

  get problems(): number {
    return this.s.missing + this.s.orphans + this.s.changed;
  }

  /** matched / compared, in percent (100 when nothing was compared). */
  successRate(): number {
    return this.s.compared === 0 ? 100 : round((this.s.matched / this.s.compared) * 100, 4);
  }

  evidence(): Record<string, unknown> {
    const s = this.s;
    return {
      compared: s.compared,
      matched: s.matched,
      missing: s.missing,
      orphans: s.orphans,
      changed: s.changed,
      successRate: this.successRate(),
      ...(this.spec.vector
        ? { vectors: { field: this.spec.vector.field, epsilon: this.spec.vector.epsilon, compared: s.vectorsCompared, overEpsilon: s.vectorOverEpsilon, maxDistance: round(s.maxVectorDistance) } }
        : {}),
      mismatches: s.mismatches,
      mismatchesTruncated: this.problems > s.mismatches.length,
    };
  }

  /** VerificationViolations by type. */
  emitViolations(metrics: MetricsSink): void {
    const s = this.s;
    const v: Array<[string, number]> = [
      ['missing', s.missing],
      ['orphan', s.orphans],
      ['mismatch', s.changed - s.vectorOverEpsilon],
      ['vector-distance', s.vectorOverEpsilon],
    ];
    for (const [type, n] of v) if (n > 0) metrics.record({ metric: 'VerificationViolations', labels: { ViolationType: type }, value: n, mode: 'add' });
  }
}

export const round = (x: number, digits = 6): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
