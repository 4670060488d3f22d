import * as z from './zod';
import { DomainError } from './errors';
import { parseOrThrow } from './validation-util';

/** Ids appear in URLs, metric dimensions and log fields: keep them boring. */
export const idSchema = z
  .string().check(z.minLength(1), z.maxLength(64), z.regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, 'must be 1-64 chars of letters, digits, ".", "_" or "-", starting with a letter or digit'));

export const subTaskDefSchema = z.strictObject({
  id: idSchema,
  name: z.string().check(z.minLength(1), z.maxLength(200)),
  description: z._default(z.string().check(z.maxLength(2000)), ''),
  /** Relative weight inside its phase, in minutes. Defaults to 1 (equal weights). */
  estimatedDuration: z._default(z.number().check(z.positive(), z.lte(1e6)), 1),
});

export const phaseDefSchema = z.strictObject({
  id: idSchema,
  name: z.string().check(z.minLength(1), z.maxLength(200)),
  description: z._default(z.string().check(z.maxLength(2000)), ''),
  dependencies: z._default(z.array(idSchema).check(z.maxLength(100)), []),
  /** Minutes. Weights the phase in overall progress and the plan-based ETA. */
  estimatedDuration: z.number().check(z.positive(), z.lte(1e6)),
  subTasks: z._default(z.array(subTaskDefSchema).check(z.maxLength(200)), []),
});

export const planSchema = z.array(phaseDefSchema).check(z.minLength(1), z.maxLength(100));

export type SubTaskDef = z.output<typeof subTaskDefSchema>;
export type PhaseDef = z.output<typeof phaseDefSchema>;
export type PhaseDefInput = z.input<typeof phaseDefSchema>;

/**
 * Validate a plan: schema, duplicate phase ids, duplicate sub-task ids within a phase, unknown
 * dependencies, self-dependencies and cycles (the error names the cycle, e.g. `a -> b -> c -> a`).
 * Returns the phases in a dependency-respecting order (stable with respect to the input order).
 */
export function validatePlan(input: unknown): PhaseDef[] {
  const phases = parseOrThrow(planSchema, input, 'plan');
  const byId = new Map<string, PhaseDef>();
  for (const p of phases) {
    if (byId.has(p.id)) throw new DomainError('invalid_plan', `invalid plan: duplicate phase id "${p.id}"`);
    byId.set(p.id, p);
    const seen = new Set<string>();
    for (const s of p.subTasks) {
      if (seen.has(s.id)) {
        throw new DomainError('invalid_plan', `invalid plan: duplicate sub-task id "${s.id}" in phase "${p.id}"`);
      }
      seen.add(s.id);
    }
  }
  for (const p of phases) {
    for (const d of p.dependencies) {
      if (d === p.id) throw new DomainError('invalid_plan', `invalid plan: phase "${p.id}" depends on itself`);
      if (!byId.has(d)) {
        throw new DomainError('invalid_plan', `invalid plan: phase "${p.id}" depends on unknown phase "${d}"`);
      }
    }
  }
  const cycle = findCycle(phases);
  if (cycle) {
    throw new DomainError('invalid_plan', `invalid plan: dependency cycle ${cycle.join(' -> ')}`, { cycle });
  }
  return topoOrder(phases);
}

function findCycle(phases: PhaseDef[]): string[] | null {
  const byId = new Map(phases.map((p) => [p.id, p]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    const s = state.get(id);
    if (s === 'done') return null;
    if (s === 'visiting') {
      const start = stack.indexOf(id);
      return [...stack.slice(start), id];
    }
    state.set(id, 'visiting');
    stack.push(id);
    for (const d of byId.get(id)!.dependencies) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };
  for (const p of phases) {
    const c = visit(p.id);
    if (c) return c.reverse(); // dependency edges point backwards; report in execution order
  }
  return null;
}

function topoOrder(phases: PhaseDef[]): PhaseDef[] {
  const out: PhaseDef[] = [];
  const placed = new Set<string>();
  while (out.length < phases.length) {
    for (const p of phases) {
      if (!placed.has(p.id) && p.dependencies.every((d) => placed.has(d))) {
        out.push(p);
        placed.add(p.id);
      }
    }
  }
  return out;
}

/** The default plan: initialization → infrastructure → database → vector-search → apis → validation → finalization. */
export const DEFAULT_PLAN: PhaseDef[] = validatePlan([
  {
    id: 'initialization',
    name: 'Initialization',
    description: 'Preflight checks, inventory and access for the migration team',
    estimatedDuration: 30,
    subTasks: [
      { id: 'preflight', name: 'Preflight checks' },
      { id: 'inventory', name: 'Data inventory' },
    ],
  },
  {
    id: 'infrastructure',
    name: 'Infrastructure',
    description: 'Target networking, compute and storage provisioned',
    dependencies: ['initialization'],
    estimatedDuration: 120,
    subTasks: [
      { id: 'network', name: 'Network', estimatedDuration: 30 },
      { id: 'compute', name: 'Compute', estimatedDuration: 45 },
      { id: 'storage', name: 'Storage', estimatedDuration: 45 },
    ],
  },
  {
    id: 'database',
    name: 'Database',
    description: 'Schema created, bulk copy and change capture to the target database',
    dependencies: ['infrastructure'],
    estimatedDuration: 240,
    subTasks: [
      { id: 'schema', name: 'Schema', estimatedDuration: 20 },
      { id: 'bulk-copy', name: 'Bulk copy', estimatedDuration: 180 },
      { id: 'catch-up', name: 'Catch-up replication', estimatedDuration: 40 },
    ],
  },
  {
    id: 'vector-search',
    name: 'Vector search',
    description: 'Embeddings migrated to the target vector store and indexes built',
    dependencies: ['database'],
    estimatedDuration: 180,
    subTasks: [
      { id: 'embeddings', name: 'Embeddings copy', estimatedDuration: 120 },
      { id: 'index-build', name: 'Index build', estimatedDuration: 60 },
    ],
  },
  {
    id: 'apis',
    name: 'APIs',
    description: 'Services deployed on the target and switched behind the proxy',
    dependencies: ['vector-search'],
    estimatedDuration: 90,
  },
  {
    id: 'validation',
    name: 'Validation',
    description: 'Latency SLOs and source/target data consistency verified',
    dependencies: ['apis'],
    estimatedDuration: 60,
  },
  {
    id: 'finalization',
    name: 'Finalization',
    description: 'Cutover, decommissioning of the old system and sign-off',
    dependencies: ['validation'],
    estimatedDuration: 45,
  },
]);
