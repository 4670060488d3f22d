import type { RejectReason } from './errors';
import type { BreakerState, CloseReason, HalfOpenReason, OpenReason } from './state';

export interface BreakerEventMap {
  open: { breaker: string; from: BreakerState; reason: OpenReason; openUntil: number };
  close: { breaker: string; from: BreakerState; reason: CloseReason };
  'half-open': { breaker: string; from: BreakerState; reason: HalfOpenReason };
  success: { breaker: string; probe: boolean };
  failure: { breaker: string; probe: boolean; error: unknown };
  timeout: { breaker: string; timeoutMs: number };
  reject: { breaker: string; reason: RejectReason };
  fallback: { breaker: string; error: unknown };
  /** Reading or writing the shared state or the operator switch failed; the breaker goes on with local state. */
  'sync-error': { breaker: string; source: 'store' | 'switch'; error: unknown };
  /** The failure predicate threw on `callError`; the call counted as a failure and rejected with `callError`. */
  'predicate-error': { breaker: string; error: unknown; callError: unknown };
}
export type BreakerEvent = keyof BreakerEventMap;

/** Told about an exception a listener threw; the event still reaches every other listener. */
export type ListenerErrorHandler = (error: unknown, event: string) => void;

/**
 * The default: the error surfaces as an uncaught exception, as it would from an EventEmitter, but outside
 * the call it observes, so a listener's bug never changes a call's outcome.
 */
export const rethrowOutsideCall: ListenerErrorHandler = (error) => {
  queueMicrotask(() => {
    throw error;
  });
};

type Listener<P> = (payload: P) => void;

/**
 * A small typed emitter. Listener lists are copied on write, so an emit walks the list as it was when the
 * event started: a listener that unsubscribes itself (or another) during the emit makes nobody miss it, and
 * one added during the emit hears the next event. A throwing listener is reported, the fan-out goes on.
 */
export class Emitter<M> {
  private readonly lists: { [E in keyof M]?: ReadonlyArray<Listener<M[E]>> } = {};
  constructor(private readonly onListenerError: ListenerErrorHandler = rethrowOutsideCall) {}

  on<E extends keyof M>(event: E, listener: Listener<M[E]>): () => void {
    this.lists[event] = [...(this.lists[event] ?? []), listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const list = this.lists[event] ?? [];
      const i = list.indexOf(listener);
      if (i >= 0) this.lists[event] = [...list.slice(0, i), ...list.slice(i + 1)];
    };
  }

  /** True when someone listens (the breaker skips building a payload otherwise). */
  has(event: keyof M): boolean {
    return (this.lists[event]?.length ?? 0) > 0;
  }

  emit<E extends keyof M>(event: E, payload: M[E]): void {
    const list = this.lists[event];
    if (!list) return;
    for (const listener of list) {
      try {
        listener(payload);
      } catch (error) {
        this.report(error, String(event));
      }
    }
  }

  private report(error: unknown, event: string): void {
    try {
      this.onListenerError(error, event);
    } catch (handlerError) {
      // The error handler failed too: it surfaces outside the call rather than not at all.
      rethrowOutsideCall(handlerError, event);
    }
  }
}
