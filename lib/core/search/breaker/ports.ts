import * as z from '../../zod';

/**
 * The state one breaker publishes to the instances that share it (many Lambda or Cloud Run instances in
 * front of the same backend). Only transitions are shared, never per-call counts: an instance that opens
 * writes `open` once, the others read it within their sync interval and open too.
 */
export interface SharedBreakerState {
  state: 'open' | 'closed';
  /** +1 per write; compare-and-set on it keeps a stale writer from undoing a newer transition. */
  version: number;
  /** Epoch ms after which an open breaker may probe. 0 when closed. */
  openUntil: number;
  /** Epoch ms of the write. */
  updatedAt: number;
  /** Instance that wrote it (diagnostics). */
  updatedBy: string;
  /** Why (failures, probe_failed, probes_succeeded). */
  reason: string;
}

export const sharedBreakerStateSchema = z.strictObject({
  state: z.enum(['open', 'closed']),
  version: z.number().check(z.int(), z.gte(1)),
  openUntil: z.number().check(z.nonnegative()),
  updatedAt: z.number().check(z.nonnegative()),
  updatedBy: z.string().check(z.maxLength(200)),
  reason: z.string().check(z.maxLength(200)),
});

/**
 * Shared breaker state port. Implementations: in-memory (tests, one process), Redis, DynamoDB. Every one
 * passes test/core/search/breaker/state-contract.ts.
 */
export interface BreakerStateStore {
  readonly kind: string;
  get(name: string): Promise<SharedBreakerState | null>;
  /**
   * Store `next` only when the stored version equals `expectedVersion` (0: no record yet). False when
   * another writer got there first: the caller re-reads and adopts what it finds.
   */
  compareAndSet(name: string, expectedVersion: number, next: SharedBreakerState): Promise<boolean>;
  close(): Promise<void>;
}

/** An operator's override for a breaker during a cutover. `auto` lets the breaker decide. */
export type SwitchPosition = 'auto' | 'open' | 'closed';
export const switchPositionSchema = z.enum(['auto', 'open', 'closed']);

/**
 * Operator switch port (Parameter Store on AWS). The breaker reads it at most once per refresh interval
 * and never on the call path; implementations may cache too.
 */
export interface OperatorSwitch {
  readonly kind: string;
  position(breakerName: string): Promise<SwitchPosition>;
}

/** In-memory shared state: one process, many breakers (tests, local mode). */
export class MemoryBreakerStateStore implements BreakerStateStore {
  readonly kind = 'memory';
  private readonly records = new Map<string, SharedBreakerState>();
  async get(name: string): Promise<SharedBreakerState | null> {
    const r = this.records.get(name);
    return r ? { ...r } : null;
  }
  async compareAndSet(name: string, expectedVersion: number, next: SharedBreakerState): Promise<boolean> {
    if ((this.records.get(name)?.version ?? 0) !== expectedVersion) return false;
    this.records.set(name, { ...next });
    return true;
  }
  async close(): Promise<void> {}
}

/** A switch held in memory (tests, local mode, or set from an admin route). */
export class StaticOperatorSwitch implements OperatorSwitch {
  readonly kind = 'static';
  constructor(private positions: Record<string, SwitchPosition> = {}) {}
  set(name: string, position: SwitchPosition): void {
    this.positions[name] = position;
  }
  async position(name: string): Promise<SwitchPosition> {
    return this.positions[name] ?? this.positions['*'] ?? 'auto';
  }
}
