/**
 * A migration's history: a bounded, downsampled time series (overall and per-phase progress, data migrated,
 * speed, error rate, ETA with its band, remaining plan) kept in the same store as the migration, no new server.
 *
 * Three tiers, each a ring of slots: the point for time t lands in slot floor(t / step) mod slots, so a tier
 * never holds more than `slots` points and a new bucket overwrites the oldest one. Within a bucket the last
 * write wins, which is the downsampling: the tracker writes the first change of each 10 s bucket at once,
 * the bucket's last change when the next bucket begins, and every state change (phase status, pause); the
 * API adds the live state as the newest point. Bound: 360 + 720 + 1440 = 2,520 points per migration, each about 180 bytes + 25 per phase
 * (≈ 0.8 MB for the default 7-phase plan), whatever the migration's length.
 */
import * as z from './zod';
import { DomainError } from './errors';
import type { MigrationState } from './model';
import { estimate, migrationStatus, overallProgress, round2 } from './progress';

export interface HistoryPoint {
  /** ms since the epoch */
  t: number;
  status: string;
  /** 0-100 */
  overall: number;
  /** phase id → 0-100 */
  phases: Record<string, number>;
  /** bytes migrated so far */
  bytes: number;
  /** the reported speed, B/s */
  speed: number;
  /** percent 0-100 */
  errorRate: number;
  /** estimated completion and its band (ms), null when there is no ETA */
  eta: number | null;
  etaLow: number | null;
  etaHigh: number | null;
  /** plan minutes left (the burn-down) */
  remainingPlan: number;
}

export interface HistoryTier {
  id: string;
  stepMs: number;
  slots: number;
}

/** Finest first. */
export const HISTORY_TIERS: readonly HistoryTier[] = [
  { id: '10s', stepMs: 10_000, slots: 360 }, // the last hour
  { id: '2m', stepMs: 120_000, slots: 720 }, // the last day
  { id: '30m', stepMs: 1_800_000, slots: 1440 }, // the last 30 days
];
export const HISTORY_MAX_POINTS = HISTORY_TIERS.reduce((a, t) => a + t.slots, 0);

export interface HistoryWrite {
  tier: string;
  slot: number;
  point: HistoryPoint;
}

export const bucketOf = (tier: HistoryTier, t: number) => Math.floor(t / tier.stepMs);

/** The writes that record the points (oldest first) in every tier, one per slot: the latest point of a slot wins. */
export function historyWrites(...points: HistoryPoint[]): HistoryWrite[] {
  const out = new Map<string, HistoryWrite>();
  for (const point of points) {
    for (const tier of HISTORY_TIERS) {
      const slot = bucketOf(tier, point.t) % tier.slots;
      out.set(`${tier.id}#${slot}`, { tier: tier.id, slot, point });
    }
  }
  return [...out.values()];
}

export function historyPointOf(s: MigrationState, now: number): HistoryPoint {
  const e = estimate(s, now);
  const at = (iso: string | null) => (iso === null ? null : Date.parse(iso));
  const phases: Record<string, number> = {};
  for (const p of s.phases) phases[p.id] = p.status === 'completed' ? 100 : p.progress;
  return {
    t: now,
    status: migrationStatus(s),
    overall: overallProgress(s.phases),
    phases,
    bytes: s.metrics.totalDataMigrated,
    speed: s.metrics.migrationSpeed,
    errorRate: s.metrics.errorRate,
    eta: at(e.estimatedCompletion),
    etaLow: at(e.earliestCompletion),
    etaHigh: at(e.latestCompletion),
    remainingPlan: e.remainingPlanMinutes,
  };
}

/** A change worth a point even inside a bucket already written: a phase changed status, or pause/resume. */
export function isStateChange(before: MigrationState | null, after: MigrationState): boolean {
  if (!before || before.paused !== after.paused || before.phases.length !== after.phases.length) return true;
  for (let i = 0; i < after.phases.length; i++) if (before.phases[i]!.status !== after.phases[i]!.status) return true;
  return false;
}

/** `?from=ISO&to=ISO&step=30s|5m|1h|<seconds>` */
export const historyQuerySchema = z.strictObject({
  from: z.optional(z.iso.datetime({ offset: true })),
  to: z.optional(z.iso.datetime({ offset: true })),
  step: z.optional(z
    .string().check(z.regex(/^\d+(s|m|h)?$/, 'step must be seconds or a number with s, m or h (e.g. 30s, 5m, 1h)'))),
  migration: z.optional(z.string()),
});

export interface HistoryRange {
  from: number;
  to: number;
  stepMs: number;
}

/** At most this many points per answer. */
export const HISTORY_MAX_ANSWER = 2000;

/** from/to/step with their defaults (the last hour, at most 240 points), checked. */
export function historyRange(q: Record<string, string>, now: number, startedAt: number | undefined): HistoryRange {
  const parsed = historyQuerySchema.safeParse(q);
  if (!parsed.success) throw new DomainError('bad_request', parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '));
  const to = parsed.data.to ? Date.parse(parsed.data.to) : now;
  const from = parsed.data.from ? Date.parse(parsed.data.from) : Math.max(startedAt ?? now - 3600_000, to - 30 * 86400_000);
  if (from >= to) throw new DomainError('bad_request', `from (${new Date(from).toISOString()}) must be before to (${new Date(to).toISOString()})`);
  let stepMs: number;
  if (parsed.data.step) {
    const m = /^(\d+)(s|m|h)?$/.exec(parsed.data.step)!;
    stepMs = Number(m[1]) * (m[2] === 'h' ? 3600_000 : m[2] === 'm' ? 60_000 : 1000);
    if (stepMs < HISTORY_TIERS[0]!.stepMs) throw new DomainError('bad_request', `step must be at least ${HISTORY_TIERS[0]!.stepMs / 1000}s (the finest tier)`);
  } else {
    stepMs = Math.max(HISTORY_TIERS[0]!.stepMs, Math.ceil((to - from) / 240 / 10_000) * 10_000);
  }
  if ((to - from) / stepMs > HISTORY_MAX_ANSWER) {
    throw new DomainError('bad_request', `from..to at step ${stepMs / 1000}s is more than ${HISTORY_MAX_ANSWER} points: use a larger step or a shorter range`);
  }
  return { from, to, stepMs };
}

/**
 * The points in [from, to] at `step`: at each time the finest tier that still holds it (coarser tiers fill in
 * what the finer ones have overwritten), then the last point of each step bucket.
 */
export function selectHistory(byTier: Map<string, HistoryPoint[]>, r: HistoryRange, live?: HistoryPoint): HistoryPoint[] {
  const merged: HistoryPoint[] = [];
  let cutoff = Infinity;
  for (const tier of HISTORY_TIERS) {
    if (tier.stepMs > r.stepMs && merged.length) break;
    const pts = (byTier.get(tier.id) ?? []).filter((p) => p.t < cutoff);
    for (const p of pts) if (p.t >= r.from && p.t <= r.to) merged.push(p);
    if (pts.length) cutoff = Math.min(cutoff, pts[0]!.t);
  }
  merged.sort((a, b) => a.t - b.t);
  if (live && live.t >= r.from && live.t <= r.to && (!merged.length || live.t >= merged.at(-1)!.t)) merged.push(live); // the newest, even at the same ms
  const out: HistoryPoint[] = [];
  let lastBucket = NaN;
  for (const p of merged) {
    const b = Math.floor((p.t - r.from) / r.stepMs);
    if (b === lastBucket) out[out.length - 1] = p;
    else out.push(p);
    lastBucket = b;
  }
  return out;
}

/** The API's form: ISO times, and the throughput measured between consecutive points (B/s). */
export function historyAnswer(migrationId: string, r: HistoryRange, points: HistoryPoint[]) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    migrationId,
    from: iso(r.from),
    to: iso(r.to),
    stepSeconds: r.stepMs / 1000,
    bound: { tiers: HISTORY_TIERS, maxPoints: HISTORY_MAX_POINTS },
    points: points.map((p, i) => {
      const prev = points[i - 1];
      const dt = prev ? (p.t - prev.t) / 1000 : 0;
      return {
        ...p,
        t: iso(p.t),
        eta: iso(p.eta),
        etaLow: iso(p.etaLow),
        etaHigh: iso(p.etaHigh),
        throughput: prev && dt > 0 ? round2(Math.max(0, p.bytes - prev.bytes) / dt) : null,
      };
    }),
  };
}

/** Points of one tier as a store returns them: sorted by time. */
export function sortPoints(points: Iterable<HistoryPoint>): HistoryPoint[] {
  return [...points].sort((a, b) => a.t - b.t);
}
