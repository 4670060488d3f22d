import type { CircuitBreaker } from './circuit-breaker';
import { Emitter, type ListenerErrorHandler } from './events';
import type { BreakerState, BreakerStats } from './state';

export interface TransitionEvent {
  breaker: string;
  from: BreakerState;
  to: BreakerState;
  reason: string;
}

export interface BreakerRegistryOptions {
  /** Told about exceptions thrown by transition listeners; the others are still called. Default: rethrown outside the call. */
  onListenerError?: ListenerErrorHandler;
}

/**
 * Named breakers of one process, for telemetry: stats of all of them, and one stream of transitions
 * (metrics, logs). A name is registered once; registering another breaker under a taken name is an error,
 * since both would report as one.
 */
export class BreakerRegistry {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly transitions: Emitter<{ transition: TransitionEvent }>;

  constructor(opts: BreakerRegistryOptions = {}) {
    this.transitions = new Emitter(opts.onListenerError);
  }

  register(b: CircuitBreaker): void {
    const existing = this.breakers.get(b.name);
    if (existing === b) return;
    if (existing) throw new Error(`a circuit breaker named "${b.name}" is already registered; give each breaker a unique name`);
    this.breakers.set(b.name, b);
    const fire = (t: TransitionEvent) => this.transitions.emit('transition', t);
    b.on('open', (e) => fire({ breaker: e.breaker, from: e.from, to: 'open', reason: e.reason }));
    b.on('close', (e) => fire({ breaker: e.breaker, from: e.from, to: 'closed', reason: e.reason }));
    b.on('half-open', (e) => fire({ breaker: e.breaker, from: e.from, to: 'half_open', reason: e.reason }));
  }

  get(name: string): CircuitBreaker | undefined {
    return this.breakers.get(name);
  }

  list(): CircuitBreaker[] {
    return [...this.breakers.values()];
  }

  snapshot(): BreakerStats[] {
    return this.list().map((b) => b.stats());
  }

  /** Called for every transition of every breaker registered, now or later. Returns an unsubscribe. */
  onTransition(listener: (t: TransitionEvent) => void): () => void {
    return this.transitions.on('transition', listener);
  }
}
