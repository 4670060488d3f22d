import { prng } from '../../lib/core/random';

/**
 * A source dataset and a target copy with planted differences, for consistency tests against every
 * connector: the tests assert the checks find exactly these.
 */
export interface PlantedRecord {
  id: number;
  name: string;
  price: number;
  category: string;
  embedding: number[];
}

export const PLANTED = {
  missing: [17, 250, 499],
  orphans: [1001, 1002],
  /** Values changed in the target: 42 price, 300 name, 77 vector moved beyond epsilon. */
  changed: [42, 77, 300],
  /** Vector moved by less than epsilon: must NOT be reported. */
  withinEpsilon: [88],
  epsilon: 1e-4,
} as const;


export function plantedData(n = 500, dim = 8): { source: PlantedRecord[]; target: PlantedRecord[] } {
  const rnd = prng(7);
  // float32-representable values so every store (real[], float32 bytes, JSON) round-trips them exactly
  const f32 = (x: number) => Math.fround(x);
  const source: PlantedRecord[] = [];
  for (let id = 1; id <= n; id++) {
    source.push({
      id,
      name: `item ${id}`,
      price: Math.round(rnd() * 100000) / 100,
      category: ['books', 'music', 'games', 'tools'][id % 4]!,
      embedding: Array.from({ length: dim }, () => f32(rnd() * 2 - 1)),
    });
  }
  const target: PlantedRecord[] = source
    .filter((r) => !(PLANTED.missing as readonly number[]).includes(r.id))
    .map((r) => ({ ...r, embedding: [...r.embedding] }));
  const byId = new Map(target.map((r) => [r.id, r]));
  byId.get(42)!.price += 1;
  byId.get(300)!.name = 'renamed';
  byId.get(77)!.embedding[3] = f32(byId.get(77)!.embedding[3]! + 0.5);
  byId.get(88)!.embedding[2] = f32(byId.get(88)!.embedding[2]! + 1e-6);
  for (const id of PLANTED.orphans) target.push({ id, name: `orphan ${id}`, price: 1, category: 'none', embedding: Array.from({ length: dim }, () => 0) });
  return { source, target };
}

/** Sorted numeric keys of the mismatches a check reported, by problem. */
export function byProblem(mismatches: Array<{ key: unknown; problem: string }>): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = { missing: [], orphan: [], changed: [] };
  for (const m of mismatches) out[m.problem]!.push(m.key);
  for (const k of Object.keys(out)) out[k]!.sort((a, b) => (a as number) - (b as number));
  return out;
}
