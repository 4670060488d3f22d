/**
 * Shape limits for parsed JSON from a client. `JSON.parse` copes with deep nesting, but whatever walks the
 * value afterwards recursively (`JSON.stringify`, a refinement, a backend's serializer) runs out of stack
 * around a few thousand levels, and a RangeError there is a 500, or worse, a failure charged to a backend.
 * Check depth before anything else touches the value: this walk is iterative and stops at the limit.
 */

/** True when `value` nests objects/arrays more than `maxDepth` levels deep (a scalar is depth 0, `{}` is 1). */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  // Two parallel stacks (no tuple per node) and an indexed loop: a 8,192-number vector costs one pass.
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > maxDepth) return true;
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      if (child !== null && typeof child === 'object') {
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}
