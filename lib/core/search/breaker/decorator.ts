import { breakerFor, type CircuitBreaker, type WrapOptions } from './circuit-breaker';

type AsyncMethod<This, A extends unknown[], R> = (this: This, ...args: A) => Promise<R>;

/**
 * `@breaker(options)` on an async class method (TypeScript 5 standard decorators). One breaker per
 * decorated method, shared by every instance of the class (they call the same backend). The fallback is
 * called with the instance as `this`. Inside the method, `callSignal()` gives the call's AbortSignal.
 *
 *     class Search {
 *       @breaker({ name: 'milvus', timeoutMs: 300, fallback: () => [] })
 *       async query(v: number[]) { return fetchJson(url, { signal: callSignal() }); }
 *     }
 */
export function breaker<This, A extends unknown[], R>(options: WrapOptions<A, R> = {}) {
  return function (target: AsyncMethod<This, A, R>, context: ClassMethodDecoratorContext<This, AsyncMethod<This, A, R>>): AsyncMethod<This, A, R> {
    if (context.kind !== 'method') throw new TypeError('@breaker can only decorate methods');
    const b = breakerFor(options, String(context.name));
    const fallback = options.fallback;
    const guarded = function (this: This, ...args: A): Promise<R> {
      return b.execute(
        () => target.apply(this, args),
        fallback ? { fallback: (e: unknown) => fallback.call(this, e, ...args) } : undefined,
      ) as Promise<R>;
    };
    return Object.defineProperty(guarded, 'breaker', { value: b, enumerable: true });
  };
}

/** The breaker behind a function made by `circuitBreak` or a method decorated with `@breaker`. */
export function breakerOf(fn: unknown): CircuitBreaker {
  const b = (fn as { breaker?: CircuitBreaker } | null)?.breaker;
  if (!b) throw new TypeError('not a circuit-breaker-guarded function');
  return b;
}
