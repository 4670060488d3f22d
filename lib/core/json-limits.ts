/**
 * Shape limits for parsed JSON from a client. `JSON.parse` copes with deep nesting, but whatever walks the
 * value afterwards recursively (`JSON.stringify`, a refinement, a backend's serializer) runs out of stack
 * around a few thousand levels, and a RangeError there is a 500, or worse, a failure charged to a backend.
 * Check depth before anything else touches the value: this walk is iterative and stops at the limit.
 */

/** True when `value` nests objects/arrays more than `maxDepth` levels deep (a scalar is depth 0, `{}` is 1). */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: Array<[object, number]> = [[value, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (depth > maxDepth) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child as object, depth + 1]);
    }
  }
  return false;
}
