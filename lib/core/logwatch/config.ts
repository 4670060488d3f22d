import * as z from 'zod';
import { METRICS } from '../metrics/spec';
import { idSchema, validatePlan, type PhaseDef } from '../plan';
import { DomainError } from '../errors';
import { formatZodError } from '../validation-util';
import { DEFAULT_PATTERNS, DEFAULT_PHASE_MAP, LOG_PLAN } from './defaults';
import { actionSchema, fieldMatcherSchema, patternSchema, type LogAction, type LogPattern, type ObservableMetric } from './pattern';
import { BUILTIN_PROFILES, PROFILE_NAMES } from './profiles';

/** Where the well-known structured fields are found (dot paths reach into nested JSON). */
const fieldNamesSchema = z.strictObject({
  migrationId: z.string().default('migration_id'),
  tenantId: z.string().default('tenant_id'),
  phase: z.string().default('phase'),
  operation: z.string().default('operation'),
  durationMs: z.string().default('duration_ms'),
  eventsCount: z.string().default('events_count'),
  eventsTotal: z.string().default('events_total'),
  progress: z.string().default('progress'),
  syncLag: z.string().default('sync_lag_events'),
  runId: z.string().default('run_id'),
  error: z.string().default('error'),
});

export const logWatchConfigSchema = z.strictObject({
  /** Tracker migration for lines that carry no migration_id. */
  defaultMigrationId: idSchema.default('default'),
  /** A built-in tool profile (pg_dump, pg_restore, pgloader, rsync, rclone, aws-s3, aws-dms...): its patterns follow yours. */
  profile: z.enum(PROFILE_NAMES as [string, ...string[]]).optional(),
  /** The phase lines belong to when they name none (`run --phase` and `watch --phase` set it). */
  phase: idSchema.optional(),
  /** With `phase`: progress goes to this sub-task of it (`run --subtask`). */
  subTask: idSchema.optional(),
  /** Your patterns, tried in order before the profile's and the defaults. */
  patterns: z.array(patternSchema).max(200).default([]),
  /** Keep the well-known events (Migration started, Bulk copy progress, ...) after your patterns. */
  useDefaultPatterns: z.boolean().default(true),
  /** Log phase names (and the defaults' phase ids) → tracker phase ids. Names are compared lower-case with `_` as `-`. */
  phaseMap: z.record(z.string().min(1).max(100), idSchema).default({}),
  fields: fieldNamesSchema.default(() => fieldNamesSchema.parse({})),
  /** JSON fields that hold the message, first present wins. */
  messageFields: z.array(z.string().min(1)).min(1).max(10).default(['message', 'msg', 'event']),
  /** Create an unknown migration with `plan` on its first line (otherwise its lines are rejected). */
  autoInitialize: z.boolean().default(true),
  /** Plan for auto-initialized migrations. Default: bulk-copy → dual-write → cutover. */
  plan: z.array(z.unknown()).optional(),
  /** Tell the tracker to expect another line within this many seconds (silence marks the phase stale). */
  expectUpdateWithinSeconds: z.number().int().positive().max(7 * 24 * 3600).optional(),
  /** Lines longer than this are malformed (counted and skipped). */
  maxLineBytes: z.number().int().min(256).max(16 * 1024 * 1024).default(64 * 1024),
});
export type LogWatchConfigInput = z.input<typeof logWatchConfigSchema>;

export interface CompiledPattern {
  name: string;
  regex?: RegExp;
  fields: Array<{ name: string; test: (v: unknown) => boolean }>;
  actions: LogAction[];
}

export interface LogWatchConfig extends Omit<z.output<typeof logWatchConfigSchema>, 'patterns' | 'plan'> {
  patterns: CompiledPattern[];
  plan: PhaseDef[];
}

/** Validate a config object (from JSON/YAML or code); errors name the offending path. */
export function parseLogWatchConfig(input: unknown = {}): LogWatchConfig {
  const r = logWatchConfigSchema.safeParse(input ?? {});
  if (!r.success) throw new DomainError('validation_failed', `invalid log-watch config: ${formatZodError(withSuggestions(r.error, input))}`);
  const c = r.data;
  const plan = c.plan === undefined ? LOG_PLAN : validatePlan(c.plan);
  // A profile stands in for the well-known events (its tool prints none of them).
  const profile = c.profile ? BUILTIN_PROFILES[c.profile]!.config : undefined;
  const builtin = profile ? (profile.patterns ?? []) : c.useDefaultPatterns ? DEFAULT_PATTERNS : [];
  const patterns = [...c.patterns, ...builtin.map((p) => patternSchema.parse(p))].map(compilePattern);
  return { ...c, plan, patterns, phaseMap: { ...DEFAULT_PHASE_MAP, ...normalizeKeys(c.phaseMap) } };
}

/** Valid keys of each object in the config (by its path), for "did you mean" hints. */
function validKeysAt(path: PropertyKey[], input: unknown): string[] | undefined {
  const at = (p: PropertyKey[]) => p.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[k] : undefined), input);
  const [top, , third] = path;
  if (path.length === 0) return Object.keys(logWatchConfigSchema.shape);
  if (top === 'fields' && path.length === 1) return Object.keys(fieldNamesSchema.shape);
  if (top === 'patterns' && path.length === 2) return ['name', 'regex', 'flags', 'fields', 'actions'];
  if (top === 'patterns' && third === 'actions' && path.length === 4) {
    const act = at(path) as { do?: unknown } | undefined;
    const option = actionSchema.options.find((o) => o.shape.do.value === act?.do);
    return option ? Object.keys(option.shape) : undefined;
  }
  return undefined;
}

const ACTION_NAMES = actionSchema.options.map((o) => o.shape.do.value as string);

/** Adds "did you mean" to unknown keys and unknown action names. */
function withSuggestions(err: z.ZodError, input: unknown): z.ZodError {
  for (const issue of err.issues) {
    if (issue.code === 'unrecognized_keys') {
      const valid = validKeysAt(issue.path, input);
      const hints = valid ? issue.keys.map((k) => nearest(k, valid)).filter((h): h is string => h !== undefined) : [];
      const allowed = valid ? ` (valid keys: ${valid.join(', ')})` : '';
      Object.assign(issue, { message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}${hints.length ? `: did you mean "${hints.join('", "')}"?` : ''}${allowed}` });
    } else if (issue.code === 'invalid_union' && issue.path.at(-1) !== undefined && issue.path[0] === 'patterns' && issue.path[2] === 'actions') {
      const act = issue.path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[k] : undefined), input) as { do?: unknown } | undefined;
      const hint = typeof act?.do === 'string' ? nearest(act.do, ACTION_NAMES) : undefined;
      Object.assign(issue, { message: `unknown action "do: ${String(act?.do)}"${hint ? `: did you mean "${hint}"?` : ''} (actions: ${ACTION_NAMES.join(', ')})` });
    }
  }
  return err;
}

/** The valid name closest to `s` (edit distance at most a third of its length, min 2), if any. */
export function nearest(s: string, valid: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(s.length / 3)) + 1;
  for (const v of valid) {
    const d = editDistance(s.toLowerCase(), v.toLowerCase());
    if (d < bestD) [best, bestD] = [v, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

function compilePattern(p: LogPattern): CompiledPattern {
  return {
    name: p.name,
    regex: p.regex === undefined ? undefined : new RegExp(p.regex, p.flags),
    fields: Object.entries(p.fields ?? {}).map(([name, m]) => ({ name, test: fieldTest(m) })),
    actions: p.actions,
  };
}

function fieldTest(m: z.output<typeof fieldMatcherSchema>): (v: unknown) => boolean {
  if (typeof m === 'object') {
    const re = new RegExp(m.regex, m.flags);
    return (v) => v !== undefined && v !== null && re.test(String(v));
  }
  const want = String(m).toLowerCase();
  return (v) => v !== undefined && v !== null && String(v).toLowerCase() === want;
}

/** Log phase names are compared lower-case, with `_` and spaces read as `-`. */
export const normalizePhaseName = (s: string): string => s.trim().toLowerCase().replace(/[\s_]+/g, '-');

function normalizeKeys(m: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [normalizePhaseName(k), v]));
}

export const metricUnitOf = (m: ObservableMetric) => METRICS[m].unit;
