import type { BreakerStateStore, OperatorSwitch, SharedBreakerState, SwitchPosition } from './ports';
import type { BreakerTimers } from './timers';

/** What the sync needs from its breaker (a narrow port, so this file does not know the state machine). */
export interface SyncHost {
  readonly name: string;
  /** The operator switch was read. */
  applySwitch(position: SwitchPosition): void;
  /** A shared record newer than any this instance has seen was read. */
  adoptShared(record: SharedBreakerState): void;
  /** A read or a write failed; the breaker goes on with what it knew. */
  syncError(source: 'store' | 'switch', error: unknown): void;
}

export interface BreakerSyncOptions {
  store?: BreakerStateStore;
  operatorSwitch?: OperatorSwitch;
  /** How often the shared state is read, ms. */
  sharedSyncMs: number;
  /** How often the operator switch is read, ms. */
  switchRefreshMs: number;
  /** Names this instance in the records it writes. */
  instanceId: string;
  timers: BreakerTimers;
}

/**
 * The breaker's collaborator for state beyond this process: it reads the operator switch and the shared
 * state when their refresh intervals have passed (never on the call path: a read is started in the
 * background, or awaited by `sync`), and publishes this instance's transitions with compare-and-set.
 * Refresh intervals run on the monotonic clock; records carry wall-clock times (`updatedAt`), which other
 * instances compare.
 */
export class BreakerSync {
  private version = 0;
  private nextSyncAt = 0;
  private nextSharedAt = 0;
  private nextSwitchAt = 0;
  private syncing: Promise<void> | null = null;
  private publishing: Promise<void> = Promise.resolve();
  private publishPending = 0;

  constructor(
    private readonly host: SyncHost,
    private readonly o: BreakerSyncOptions,
  ) {}

  /** A sync for a breaker with a store or a switch; null (nothing to do) without either. */
  static when(o: Omit<BreakerSyncOptions, 'store' | 'timers'> & { stateStore?: BreakerStateStore; clock: BreakerTimers }, host: SyncHost): BreakerSync | null {
    const { stateStore: store, operatorSwitch, clock: timers, sharedSyncMs, switchRefreshMs, instanceId } = o;
    return store || operatorSwitch ? new BreakerSync(host, { store, operatorSwitch, sharedSyncMs, switchRefreshMs, instanceId, timers }) : null;
  }

  /** From the call path: start a background read when one is due. Cheap when none is. */
  poke(): void {
    if (!this.syncing && this.o.timers.monotonic() >= this.nextSyncAt) void this.sync();
  }

  /** Read what is due now, or join the read under way. Never rejects. */
  syncIfStale(): Promise<void> {
    if (this.syncing) return this.syncing;
    if (this.o.timers.monotonic() < this.nextSyncAt) return Promise.resolve();
    return this.sync();
  }

  /** Read the switch and the shared state (`force`: now, whatever the intervals say). Never rejects. */
  sync(force = false): Promise<void> {
    // A read already under way may have started before whatever prompted a forced one: read again after it.
    if (force && this.syncing) return this.syncing.then(() => this.sync(true));
    if (force) this.nextSwitchAt = this.nextSharedAt = 0;
    this.syncing ??= this.readDue().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private async readDue(): Promise<void> {
    const now = this.o.timers.monotonic();
    const { operatorSwitch: sw, store } = this.o;
    if (sw && now >= this.nextSwitchAt) {
      this.nextSwitchAt = now + this.o.switchRefreshMs;
      await this.reading('switch', async () => this.host.applySwitch(await sw.position(this.host.name)));
    }
    if (store && now >= this.nextSharedAt) {
      this.nextSharedAt = now + this.o.sharedSyncMs;
      await this.reading('store', async () => this.adopt(await store.get(this.host.name)));
    }
    this.nextSyncAt = Math.min(sw ? this.nextSwitchAt : Infinity, store ? this.nextSharedAt : Infinity);
  }

  /** A failed read is reported and leaves the breaker on what it knew. */
  private async reading(source: 'store' | 'switch', read: () => Promise<void>): Promise<void> {
    try {
      await read();
    } catch (e) {
      this.host.syncError(source, e);
    }
  }

  private adopt(rec: SharedBreakerState | null): void {
    if (!rec || rec.version <= this.version) return;
    this.version = rec.version;
    this.host.adoptShared(rec);
  }

  /** Publish a transition this instance made. Writes are queued in order; a lost race adopts the winner. */
  publish(state: 'open' | 'closed', openUntil: number, reason: string): void {
    const store = this.o.store;
    if (!store) return;
    const updatedAt = this.o.timers.now();
    this.publishPending++;
    this.publishing = this.publishing
      .then(async () => {
        const expected = this.version;
        const next: SharedBreakerState = { state, version: expected + 1, openUntil: state === 'open' ? openUntil : 0, updatedAt, updatedBy: this.o.instanceId, reason };
        if (await store.compareAndSet(this.host.name, expected, next)) {
          this.version = next.version;
          return;
        }
        // Another instance wrote first: its record is newer than what we knew; adopt it.
        this.adopt(await store.get(this.host.name));
      })
      .catch((e) => this.host.syncError('store', e))
      .finally(() => {
        this.publishPending--;
      });
  }

  /** Resolves when every shared-state write started so far has finished (Lambda: before returning). */
  flush(): Promise<void> {
    return this.publishPending ? this.publishing : Promise.resolve();
  }

  /** The store's kind and the last version seen, or null without a store (stats). */
  info(): { kind: string; version: number } | null {
    return this.o.store ? { kind: this.o.store.kind, version: this.version } : null;
  }
}
