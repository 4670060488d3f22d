import type { CircuitState } from './state';

/** Given to the guarded function: the signal aborts when the call times out or its caller cancels it. */
export interface CallContext {
  readonly signal: AbortSignal;
}

export interface CallOptions<T> {
  /** Answer instead of failing when the call is rejected, fails or times out (not for non-failure errors). */
  fallback?: (error: unknown) => T | PromiseLike<T>;
  /** Overrides the breaker's timeout for this call. */
  timeoutMs?: number | false;
  /** The caller's own cancellation: the call rejects with its reason, which is not counted as a failure. */
  signal?: AbortSignal;
}

export const PLAIN_CONTEXT: CallContext = { signal: new AbortController().signal };

/** One guarded call: its deadline-queue links, its promise and, created only when read, its AbortController. */
export class Call implements CallContext {
  prev: Call | null = null;
  next: Call | null = null;
  settled = false;
  private controller: AbortController | null = null;
  private abortReason: unknown = undefined;
  resolve!: (v: unknown) => void;
  reject!: (e: unknown) => void;
  readonly promise = new Promise<unknown>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });
  unlinkSignal: (() => void) | null = null;
  constructor(
    /** The state it was admitted under (a half-open one: it is a probe). */
    readonly state: CircuitState,
    readonly deadline: number,
    readonly timeoutMs: number,
    readonly opts: CallOptions<unknown> | undefined,
  ) {}
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }
  abort(reason: unknown): void {
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

export const isThenable = (x: unknown): x is PromiseLike<unknown> =>
  x instanceof Promise || (typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function');
