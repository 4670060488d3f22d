import type { CircuitBreaker } from './breaker/circuit-breaker';
import { BreakerOpenError, BreakerTimeoutError, errorStatus } from './breaker/errors';
import { json, type HttpResponse } from '../http';
import type { Observation } from '../metrics/observation';
import { batchesOf, entriesOf, ReplayQueueFullError, type ReplayQueue } from './replay-queue';
import type { BackendRole } from './settings';
import { batchKeys, batchSize, writePlan, type ProxyStage, type VectorWriter, type WriteBatch } from './writes';

/**
 * Writes through the proxy. The store the stage names acknowledges (`ack`); the other one (`follower`) gets
 * the same batch at the same time, through its own breaker, for at most `followerBudgetMs`: a follower that is
 * down, slow, failing or whose breaker is open costs the answer no more than that. What the follower missed
 * is queued durably before the answer (every acknowledged write is in the ack store, and in the follower or
 * its queue) and replayed in the background; stores ignore a version they already hold, so replays are safe.
 */

export interface DualWriteSettings {
  writeTimeoutMs: number;
  followerBudgetMs: number;
  replayBatch: number;
  replayIntervalMs: number;
}

export interface DualWriterOptions {
  writers: Record<BackendRole, VectorWriter>;
  breakers: Record<BackendRole, CircuitBreaker>;
  queue: ReplayQueue;
  settings: DualWriteSettings;
  /** Label of this proxy on the dual-write metrics (TenantId). */
  tenant: string;
  record: (metric: Observation['metric'], labels: Observation['labels'], value: number, mode: Observation['mode']) => void;
  now: () => number;
  wallNow: () => number;
  onError?: (context: string, error: unknown) => void;
}

type Outcome = 'success' | 'failure' | 'timeout' | 'rejected' | 'client_error';

interface WriteCall {
  outcome: Outcome;
  error?: unknown;
  ms: number;
}

const CLIENT_ERRORS = new Set([400, 404, 413, 422]);
const outcomeOf = (e: unknown): Outcome =>
  e instanceof BreakerOpenError ? 'rejected' : e instanceof BreakerTimeoutError ? 'timeout' : CLIENT_ERRORS.has(errorStatus(e) ?? 0) ? 'client_error' : 'failure';
const explain = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const round = (ms: number) => Math.round(ms * 100) / 100;

export class DualWriter {
  private replaying: Promise<number> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private replayed = 0;
  private followerFailures = 0;

  constructor(private readonly o: DualWriterOptions) {}

  private async call(role: BackendRole, batch: WriteBatch, timeoutMs: number): Promise<WriteCall> {
    const t0 = this.o.now();
    try {
      await this.o.breakers[role].execute((ctx) => this.o.writers[role].write(batch, ctx.signal), { timeoutMs });
      return { outcome: 'success', ms: this.o.now() - t0 };
    } catch (error) {
      return { outcome: outcomeOf(error), error, ms: this.o.now() - t0 };
    }
  }

  private count(status: string, n: number): void {
    this.o.record('DualWriteOperations', { Status: status }, n, 'add');
  }

  private lag(): void {
    this.o.record('SyncLag', { TenantId: this.o.tenant }, this.o.queue.depth(), 'set');
  }

  /** Write one validated batch in `stage`. */
  async write(batch: WriteBatch, stage: ProxyStage): Promise<HttpResponse> {
    const started = this.o.now();
    const { ack, follower } = writePlan(stage);
    const n = batchSize(batch);
    if (follower && !this.o.queue.fits(n)) {
      this.count('refused', n);
      const e = new ReplayQueueFullError(this.o.queue.limit, this.o.queue.depth(), follower);
      return json(503, { error: { code: 'replay_queue_full', message: e.message, details: { depth: e.depth, limit: e.limit, follower } } }, { 'retry-after': '5' });
    }
    // The follower's write starts with the acknowledging one (the answer waits for the ack store and at most
    // the follower's budget, not for one after the other), unless the ack store's breaker refuses at once.
    const ackBreaker = this.o.breakers[ack];
    const ackRefuses = ackBreaker.state === 'open' && !ackBreaker.probeDue();
    const firstCall = this.call(ack, batch, this.o.settings.writeTimeoutMs);
    const secondCall = follower && !ackRefuses ? this.call(follower, batch, this.o.settings.followerBudgetMs) : null;
    const first = await firstCall;
    if (first.outcome !== 'success') return this.notAcknowledged(batch, ack, follower, first, secondCall);
    let followerView: Record<string, unknown> | null = null;
    let status = 'single';
    if (follower && secondCall) {
      const second = await secondCall;
      if (second.outcome === 'success') {
        status = 'success';
        if (this.o.queue.depth(follower)) await this.o.queue.settled(follower, batchKeys(batch));
        followerView = { backend: follower, status: 'written', ms: round(second.ms) };
      } else {
        if (second.outcome !== 'rejected') {
          this.followerFailures += 1;
          this.o.record('DualWriteFailures', { TenantId: this.o.tenant }, 1, 'add');
        }
        const q0 = this.o.now();
        try {
          await this.o.queue.add(entriesOf(batch, follower, this.o.wallNow()));
        } catch (e) {
          this.o.onError?.('replay queue', e);
          this.count('failed', n);
          return json(503, {
            error: {
              code: 'replay_queue_unavailable',
              message: `the ${ack} store accepted the ${batch.op} but the ${follower} store missed it (${explain(second.error)}) and the replay queue could not keep it (${explain(e)}); retry with the same versions (safe: stores ignore versions they hold)`,
            },
          });
        }
        status = 'queued';
        followerView = { backend: follower, status: 'queued', reason: second.outcome, message: explain(second.error), ms: round(second.ms), queueMs: round(this.o.now() - q0) };
      }
    }
    const tookMs = this.o.now() - started;
    this.count(status, n);
    this.o.record('DualWriteLatency', {}, tookMs, 'observe');
    this.lag();
    return json(200, {
      acknowledged: n,
      op: batch.op,
      acknowledgedBy: ack,
      stage,
      follower: followerView,
      syncLag: this.o.queue.depth(),
      tookMs: round(tookMs),
    });
  }

  /**
   * The acknowledging store did not take the batch. The follower's write ran beside it: when the follower
   * took it, it is queued for the ack store (a failure or timeout there), so the two stores still converge
   * and the client's retry (same versions) is a no-op on both; a batch the ack store refuses as invalid is
   * not queued (a replay would be refused the same way) and the answer says the follower holds it.
   */
  private async notAcknowledged(batch: WriteBatch, ack: BackendRole, follower: BackendRole | null, first: WriteCall, secondCall: Promise<WriteCall> | null): Promise<HttpResponse> {
    const n = batchSize(batch);
    this.count('failed', n);
    const second = secondCall ? await secondCall : null;
    const followerTook = follower !== null && second?.outcome === 'success';
    if (first.outcome === 'client_error') {
      if (followerTook) this.o.onError?.(`dual-write: the ${follower} store took a ${batch.op} the ${ack} store refused`, first.error);
      return json(400, {
        error: {
          code: 'backend_rejected_request',
          message: `the ${ack} store refused the ${batch.op}: ${explain(first.error)}${followerTook ? `; the ${follower} store, written at the same time, holds it (GET /reconcile cannot show it: compare the stores)` : ''}`,
          details: { backend: ack, status: errorStatus(first.error), ...(follower ? { follower: followerTook ? 'written' : 'not written' } : {}) },
        },
      });
    }
    let sent = 'nothing was sent to the other store';
    if (followerTook) {
      try {
        await this.o.queue.add(entriesOf(batch, ack, this.o.wallNow()));
        sent = `the ${follower} store, written at the same time, took it and it is queued for the ${ack} store`;
      } catch (e) {
        this.o.onError?.('replay queue', e);
        sent = `the ${follower} store, written at the same time, took it; the replay queue could not keep it for the ${ack} store (${explain(e)})`;
      }
      this.lag();
    } else if (second) sent = `the ${follower} store did not take it either (${second.outcome})`;
    return json(
      503,
      { error: { code: 'write_not_acknowledged', message: `the ${ack} store did not accept the ${batch.op} (${first.outcome}): ${explain(first.error)}; ${sent}; retrying with the same versions is safe`, details: { backend: ack, outcome: first.outcome, ...(follower ? { follower: followerTook ? 'written' : 'not written' } : {}) } } },
      first.error instanceof BreakerOpenError && first.error.retryAfterMs ? { 'retry-after': String(Math.max(1, Math.ceil(first.error.retryAfterMs / 1000))) } : {},
    );
  }

  /**
   * Replay queued writes to every store whose breaker lets a call through (an open breaker waits for its
   * probe time; the replay batch is the probe). Stops for a store at its first failure. Returns how many
   * entries were settled. Concurrent calls share one run.
   */
  replayOnce(maxBatches = 20): Promise<number> {
    this.replaying ??= this.replay(maxBatches).finally(() => {
      this.replaying = null;
    });
    return this.replaying;
  }

  /** How long a replaying process holds its entries in a shared queue: past it, another process may take them. */
  private leaseMs(): number {
    return this.o.settings.writeTimeoutMs * 2 + 1000;
  }

  private async replay(maxBatches: number): Promise<number> {
    await this.o.queue.refreshIfDue();
    let settled = 0;
    for (const target of ['primary', 'fallback'] as const) {
      for (let i = 0; i < maxBatches && this.o.queue.depth(target) > 0; i++) {
        const b = this.o.breakers[target];
        if (b.state === 'open' && !b.probeDue()) break;
        const entries = await this.o.queue.claim(target, this.o.settings.replayBatch, this.leaseMs());
        // a shared queue whose entries other processes hold right now: theirs to replay
        if (!entries.length) break;
        let ok = true;
        const done = new Set<string>();
        for (const batch of batchesOf(entries)) {
          const r = await this.call(target, batch, this.o.settings.writeTimeoutMs);
          if (r.outcome === 'success') {
            settled += await this.settle(target, batch);
            for (const k of batchKeys(batch)) done.add(k.id);
            continue;
          }
          if (r.outcome === 'client_error') {
            // one refused item must not hold back the others: send them one at a time, keep what is refused
            const one = await this.oneByOne(target, batch);
            settled += one;
            if (one > 0) continue;
            ok = false;
            break;
          }
          if (r.outcome !== 'rejected') this.o.record('DualWriteFailures', { TenantId: this.o.tenant }, 1, 'add');
          ok = false;
          break;
        }
        if (!ok) {
          // what was not replayed goes back at once: another instance (or the next cold start) may try it
          await this.o.queue.release(target, entries.filter((e) => !done.has(e.id)).map((e) => e.id)).catch((e) => this.o.onError?.('replay queue: release', e));
        }
        if (!ok) break;
      }
    }
    this.lag();
    return settled;
  }

  private async settle(target: BackendRole, batch: WriteBatch): Promise<number> {
    const keys = batchKeys(batch);
    await this.o.queue.settled(target, keys, { everywhere: true });
    this.replayed += keys.length;
    this.count('replayed', keys.length);
    return keys.length;
  }

  private async oneByOne(target: BackendRole, batch: WriteBatch): Promise<number> {
    let settled = 0;
    const singles: WriteBatch[] = batch.op === 'upsert' ? batch.vectors.map((v) => ({ op: 'upsert', vectors: [v] })) : batch.items.map((d) => ({ op: 'delete', items: [d] }));
    for (const single of singles) {
      const r = await this.call(target, single, this.o.settings.writeTimeoutMs);
      if (r.outcome === 'success') settled += await this.settle(target, single);
      else this.o.onError?.(`replay to ${target}: ${batchKeys(single)[0]!.id} refused`, r.error);
    }
    return settled;
  }

  /** Replay every `replayIntervalMs` in the background (long-running runtimes; Lambda calls replayOnce per invocation). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      // a shared queue is re-read when due: other processes' entries (one that stopped, say) are replayed here too
      if (this.o.queue.depth() > 0 || this.o.queue.shared) this.replayOnce().catch((e) => this.o.onError?.('replay', e));
    }, this.o.settings.replayIntervalMs);
    this.timer.unref();
  }

  /**
   * After a Lambda invocation (nothing runs between them): re-read a shared queue when due, then replay one
   * round while writes are behind.
   */
  async afterRequest(): Promise<void> {
    await this.o.queue.refreshIfDue();
    if (this.o.queue.depth() > 0) await this.replayOnce(1);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.replaying;
    await this.o.queue.flush();
  }

  stats(): { syncLag: number; byStore: Record<BackendRole, number>; oldestQueuedAt: string | null; replayed: number; followerFailures: number; queue: string } {
    const oldest = this.o.queue.oldest();
    return {
      syncLag: this.o.queue.depth(),
      byStore: { primary: this.o.queue.depth('primary'), fallback: this.o.queue.depth('fallback') },
      oldestQueuedAt: oldest === null ? null : new Date(oldest).toISOString(),
      replayed: this.replayed,
      followerFailures: this.followerFailures,
      queue: this.o.queue.kind,
    };
  }

  /** Ids acknowledged by one store and not yet in the other (the queue), per store that lacks them. */
  pending(limit: number): Record<BackendRole, ReturnType<ReplayQueue['ids']>> {
    return { primary: this.o.queue.ids('primary', limit), fallback: this.o.queue.ids('fallback', limit) };
  }
}
