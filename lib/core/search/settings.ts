import * as z from 'zod';

/** The migration stages the proxy walks (reads and writes together); the table in writes.ts says what each does. */
export const PROXY_STAGES = ['old-only', 'dual-write', 'shadow', 'new-primary'] as const;
export type ProxyStage = (typeof PROXY_STAGES)[number];
export const proxyStageSchema = z.enum(PROXY_STAGES);

export const PROXY_MODES = ['primary-only', 'fallback-only', 'shadow'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];
export type BackendRole = 'primary' | 'fallback';

/** Settings a deployment chooses (env on Lambda / Cloud Run, flags locally). */
export const proxySettingsSchema = z.strictObject({
  mode: z.enum(PROXY_MODES).default('primary-only'),
  /** In shadow mode, which backend answers the client (the other gets a copy). Default the old system. */
  shadowServe: z.enum(['primary', 'fallback']).default('fallback'),
  /** Share of requests copied to the shadow backend (0-1). */
  shadowSampleRate: z.number().min(0).max(1).default(1),
  /** Whole-request budget: nothing is held longer than this (plus scheduling). */
  deadlineMs: z.number().int().min(10).max(60_000).default(1000),
  /** The primary's share of the budget; the fallback gets what is left. */
  primaryTimeoutMs: z.number().int().min(1).max(60_000).default(300),
  /** Breaker name prefix: breakers are `<prefix>-primary` and `<prefix>-fallback` (shared-state keys, metrics). */
  breakerPrefix: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only').default('search'),
  consecutiveFailures: z.number().int().min(1).default(5),
  errorThresholdPercent: z.number().gt(0).lte(100).default(50),
  minimumRequests: z.number().int().min(1).default(20),
  rollingWindowMs: z.number().int().min(100).default(10_000),
  resetTimeoutMs: z.number().int().min(1).default(30_000),
  halfOpenMaxCalls: z.number().int().min(1).default(1),
  successThreshold: z.number().int().min(1).default(2),
  /** Migration stage for reads and writes (docs/search-proxy.md); the operator switch overrides it. Unset: implied by `mode`. */
  stage: proxyStageSchema.optional(),
  /** Budget of the write to the store that acknowledges. */
  writeTimeoutMs: z.number().int().min(1).max(60_000).default(2000),
  /** The most time the follower store's write may add to an answer; past it the write is queued for replay. */
  followerBudgetMs: z.number().int().min(1).max(10_000).default(50),
  /** Writes kept for replay (one per store and id); past it writes are refused (503) before any store sees them. */
  maxReplayQueue: z.number().int().min(1).max(10_000_000).default(100_000),
  replayBatch: z.number().int().min(1).max(1000).default(100),
  replayIntervalMs: z.number().int().min(10).max(600_000).default(1000),
  /** A replay queue shared by several instances (Redis, DynamoDB): how often each re-reads it (the sync lag it reports). */
  queueRefreshMs: z.number().int().min(10).max(600_000).default(5000),
  /** How often the operator switch's stage is read. */
  stageRefreshMs: z.number().int().min(10).max(600_000).default(5000),
}).refine((s) => s.primaryTimeoutMs <= s.deadlineMs, { message: 'must not exceed deadlineMs', path: ['primaryTimeoutMs'] });
export type ProxySettings = z.infer<typeof proxySettingsSchema>;
