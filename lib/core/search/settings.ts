import * as z from '../zod';

/** The migration stages the proxy walks (reads and writes together); the table in writes.ts says what each does. */
export const PROXY_STAGES = ['old-only', 'dual-write', 'shadow', 'new-primary'] as const;
export type ProxyStage = (typeof PROXY_STAGES)[number];
export const proxyStageSchema = z.enum(PROXY_STAGES);

export const PROXY_MODES = ['primary-only', 'fallback-only', 'shadow'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];
export type BackendRole = 'primary' | 'fallback';

/** Settings a deployment chooses (env on Lambda / Cloud Run, flags locally). */
export const proxySettingsSchema = z.strictObject({
  mode: z._default(z.enum(PROXY_MODES), 'primary-only'),
  /** In shadow mode, which backend answers the client (the other gets a copy). Default the old system. */
  shadowServe: z._default(z.enum(['primary', 'fallback']), 'fallback'),
  /** Share of requests copied to the shadow backend (0-1). */
  shadowSampleRate: z._default(z.number().check(z.gte(0), z.lte(1)), 1),
  /**
   * Shadow copies under way at once, at most: a sampled query finding this many still waiting on a slow
   * shadow store is not copied (counted as `busy`), so that store cannot pile up sockets and timers here.
   */
  shadowMaxInFlight: z._default(z.number().check(z.int(), z.gte(1), z.lte(10_000)), 64),
  /** Whole-request budget: nothing is held longer than this (plus scheduling). */
  deadlineMs: z._default(z.number().check(z.int(), z.gte(10), z.lte(60_000)), 1000),
  /** The primary's share of the budget; the fallback gets what is left. */
  primaryTimeoutMs: z._default(z.number().check(z.int(), z.gte(1), z.lte(60_000)), 300),
  /** Breaker name prefix: breakers are `<prefix>-primary` and `<prefix>-fallback` (shared-state keys, metrics). */
  breakerPrefix: z._default(z.string().check(z.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only')), 'search'),
  consecutiveFailures: z._default(z.number().check(z.int(), z.gte(1)), 5),
  errorThresholdPercent: z._default(z.number().check(z.gt(0), z.lte(100)), 50),
  minimumRequests: z._default(z.number().check(z.int(), z.gte(1)), 20),
  rollingWindowMs: z._default(z.number().check(z.int(), z.gte(100)), 10_000),
  resetTimeoutMs: z._default(z.number().check(z.int(), z.gte(1)), 30_000),
  halfOpenMaxCalls: z._default(z.number().check(z.int(), z.gte(1)), 1),
  successThreshold: z._default(z.number().check(z.int(), z.gte(1)), 2),
  /** Migration stage for reads and writes (docs/search-proxy.md); the operator switch overrides it. Unset: implied by `mode`. */
  stage: z.optional(proxyStageSchema),
  /** Budget of the write to the store that acknowledges. */
  writeTimeoutMs: z._default(z.number().check(z.int(), z.gte(1), z.lte(60_000)), 2000),
  /** The most time the follower store's write may add to an answer; past it the write is queued for replay. */
  followerBudgetMs: z._default(z.number().check(z.int(), z.gte(1), z.lte(10_000)), 50),
  /** Writes kept for replay (one per store and id); past it writes are refused (503) before any store sees them. */
  maxReplayQueue: z._default(z.number().check(z.int(), z.gte(1), z.lte(10_000_000)), 100_000),
  replayBatch: z._default(z.number().check(z.int(), z.gte(1), z.lte(1000)), 100),
  replayIntervalMs: z._default(z.number().check(z.int(), z.gte(10), z.lte(600_000)), 1000),
  /** A replay queue shared by several instances (Redis, DynamoDB): how often each re-reads it (the sync lag it reports). */
  queueRefreshMs: z._default(z.number().check(z.int(), z.gte(10), z.lte(600_000)), 5000),
  /** How often the operator switch's stage is read. */
  stageRefreshMs: z._default(z.number().check(z.int(), z.gte(10), z.lte(600_000)), 5000),
}).check(z.refine((s) => s.primaryTimeoutMs <= s.deadlineMs, { message: 'must not exceed deadlineMs', path: ['primaryTimeoutMs'] }));
export type ProxySettings = z.infer<typeof proxySettingsSchema>;
