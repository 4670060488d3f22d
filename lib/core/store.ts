import type { HistoryPoint, HistoryWrite } from './history';
import type { ActivityEntry, MigrationState } from './model';

/** A response kept for an Idempotency-Key, so a replay returns the first result and changes nothing. */
export interface IdempotencyRecord {
  key: string;
  /** sha256 of the canonical request; a reuse of the key with another request is refused. */
  requestHash: string;
  response: Record<string, unknown>;
  /** Set when the first answer was a refusal (a 4xx from the tracker's rules): a replay gets the same refusal. */
  refusal?: { code: string; message: string; details?: Record<string, unknown> };
  createdAt: number;
}

export interface StoredMigration {
  state: MigrationState;
  /** Optimistic-concurrency version: 1 after creation, +1 per commit. */
  version: number;
}

export interface CommitRequest {
  migrationId: string;
  /** The version the change was computed from; 0 creates the migration. */
  expectedVersion: number;
  state: MigrationState;
  /** Activity entries produced by this change (appended with the commit). */
  activity: ActivityEntry[];
  /** Stored with the commit; the commit fails if the key is already taken. */
  idempotency?: IdempotencyRecord;
}

export interface CommitResult {
  /** False when the stored version moved on (or the idempotency key was taken): re-read and retry. */
  ok: boolean;
  /**
   * Resolves once the change is durable. Stores that write synchronously resolve it at once; the embedded
   * store group-commits, so it accepts a commit (visible to the next reader) before its fsync returns.
   * Callers acknowledge a change to their client only after awaiting this.
   */
  durable: Promise<void>;
}

export interface ActivityQuery {
  /** Only entries at or after this time (ms). */
  since?: number;
  /** At most this many, the newest ones. */
  limit?: number;
}

/**
 * The store port. Every adapter (embedded file store, Redis, DynamoDB) passes the same contract suite
 * (test/core/store-contract.ts): compare-and-set commits, no lost updates under concurrent writers,
 * idempotency records, activity in order.
 */
export interface ProgressStore {
  readonly kind: string;
  load(migrationId: string): Promise<StoredMigration | null>;
  commit(req: CommitRequest): Promise<CommitResult>;
  listMigrations(): Promise<string[]>;
  /** Activity in chronological order (oldest first). */
  readActivity(migrationId: string, query?: ActivityQuery): Promise<ActivityEntry[]>;
  /**
   * The record stored under `key`, resolved only once the commit that stored it is durable (the tracker answers
   * a replay with it, and a replay must never be acknowledged before the original could survive `kill -9`).
   * Stores that write synchronously (Redis script, DynamoDB PutItem) hold the record and the change in one write.
   */
  getIdempotency(migrationId: string, key: string): Promise<IdempotencyRecord | null>;
  /**
   * Store history points in their ring slots (lib/core/history.ts): a write replaces whatever the slot held,
   * so every tier stays within its slot count. Not part of the compare-and-set commit: history is derived.
   */
  putHistory(migrationId: string, writes: HistoryWrite[]): Promise<void>;
  /** Every point one tier holds for a migration, oldest first ([] when none). */
  readHistory(migrationId: string, tier: string): Promise<HistoryPoint[]>;
  close(): Promise<void>;
}

export const DURABLE_NOW: Promise<void> = Promise.resolve();
