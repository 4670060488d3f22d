import { nestsDeeperThan } from '../../lib/core/json-limits';

describe('nestsDeeperThan', () => {
  it('counts objects and arrays: a scalar is depth 0, {} is 1, [[1]] is 2', () => {
    expect(nestsDeeperThan(5, 0)).toBe(false);
    expect(nestsDeeperThan({}, 0)).toBe(true);
    expect(nestsDeeperThan({}, 1)).toBe(false);
    expect(nestsDeeperThan([[1]], 1)).toBe(true);
    expect(nestsDeeperThan([[1]], 2)).toBe(false);
    expect(nestsDeeperThan({ a: [1, { b: null }] }, 2)).toBe(true);
    expect(nestsDeeperThan({ a: [1, { b: null }] }, 3)).toBe(false);
  });

  it('walks a "__proto__" key parsed from JSON like any other', () => {
    expect(nestsDeeperThan(JSON.parse('{"__proto__":{"x":{"y":{}}}}'), 3)).toBe(true);
  });

  it('does not recurse: 200,000 levels parsed from JSON are answered, not a stack overflow', () => {
    const deep = JSON.parse('['.repeat(200_000) + ']'.repeat(200_000)) as unknown;
    expect(nestsDeeperThan(deep, 64)).toBe(true);
    expect(() => JSON.stringify(deep)).toThrow(RangeError); // what the limit protects downstream code from
  });
});
