import type { BreakerState, BreakerStats, CircuitBreaker } from './circuit-breaker';

export interface TransitionEvent {
  breaker: string;
  from: BreakerState;
  to: BreakerState;
  reason: string;
}

/**
 * Named breakers of one process, for telemetry: stats of all of them, and one stream of transitions
 * (metrics, logs). A name is registered once; registering another breaker under a taken name is an error,
 * since both would report as one.
 */
export class BreakerRegistry {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly listeners: Array<(t: TransitionEvent) => void> = [];

  register(b: CircuitBreaker): void {
    const existing = this.breakers.get(b.name);
    if (existing === b) return;
    if (existing) throw new Error(`a circuit breaker named "${b.name}" is already registered; give each breaker a unique name`);
    this.breakers.set(b.name, b);
    b.on('open', (e) => this.fire({ breaker: e.breaker, from: e.from, to: 'open', reason: e.reason }));
    b.on('close', (e) => this.fire({ breaker: e.breaker, from: e.from, to: 'closed', reason: e.reason }));
    b.on('half-open', (e) => this.fire({ breaker: e.breaker, from: e.from, to: 'half_open', reason: e.reason }));
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
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private fire(t: TransitionEvent): void {
    for (const l of this.listeners) l(t);
  }
}
