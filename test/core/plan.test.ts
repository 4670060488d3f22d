import { DEFAULT_PLAN, validatePlan } from '../../lib/core/plan';

const p = (id: string, deps: string[] = [], extra: Record<string, unknown> = {}) => ({ id, name: id, estimatedDuration: 10, dependencies: deps, ...extra });

describe('migration plan', () => {
  it('has the default phases in order', () => {
    expect(DEFAULT_PLAN.map((x) => x.id)).toEqual(['initialization', 'infrastructure', 'database', 'vector-search', 'apis', 'validation', 'finalization']);
    expect(DEFAULT_PLAN.slice(1).every((x, i) => x.dependencies.includes(DEFAULT_PLAN[i]!.id))).toBe(true);
  });

  it('names duplicate ids', () => {
    expect(() => validatePlan([p('a'), p('a')])).toThrow('duplicate phase id "a"');
    expect(() => validatePlan([p('a', [], { subTasks: [{ id: 's', name: 's' }, { id: 's', name: 's2' }] })])).toThrow('duplicate sub-task id "s" in phase "a"');
  });

  it('names unknown dependencies and self-dependencies', () => {
    expect(() => validatePlan([p('a', ['ghost'])])).toThrow('phase "a" depends on unknown phase "ghost"');
    expect(() => validatePlan([p('a', ['a'])])).toThrow('phase "a" depends on itself');
  });

  it('names the cycle', () => {
    expect(() => validatePlan([p('a', ['c']), p('b', ['a']), p('c', ['b']), p('d')])).toThrow(/dependency cycle (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/);
  });

  it('explains schema problems with their path', () => {
    expect(() => validatePlan([{ id: 'a', name: 'A', estimatedDuration: -1 }])).toThrow(/\[0\]\.estimatedDuration/);
    expect(() => validatePlan([{ id: 'bad id!', name: 'A', estimatedDuration: 1 }])).toThrow(/\[0\]\.id/);
    expect(() => validatePlan([])).toThrow(/invalid plan/);
  });

  it('orders phases so dependencies come first', () => {
    expect(validatePlan([p('late', ['early']), p('early')]).map((x) => x.id)).toEqual(['early', 'late']);
  });
});
