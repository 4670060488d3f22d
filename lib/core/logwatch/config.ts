import * as z from '../zod';
import { METRICS } from '../metrics/spec';
import { idSchema, validatePlan, type PhaseDef } from '../plan';
import { DomainError } from '../errors';
import { formatZodError } from '../validation-util';
import { DEFAULT_PATTERNS, DEFAULT_PHASE_MAP, LOG_PLAN } from './defaults';
import { actionSchema, fieldMatcherSchema, patternSchema, type LogAction, type LogPattern, type ObservableMetric } from './pattern';
import { BUILTIN_PROFILES, PROFILE_NAMES } from './profiles';

/** Where the well-known structured fields are found (dot paths reach into nested JSON). */
const fieldNamesSchema = z.strictObject({
  migrationId: z._default(z.string(), 'migration_id'),
  tenantId: z._default(z.string(), 'tenant_id'),
  phase: z._default(z.string(), 'phase'),
  operation: z._default(z.string(), 'operation'),
  durationMs: z._default(z.string(), 'duration_ms'),
  eventsCount: z._default(z.string(), 'events_count'),
  eventsTotal: z._default(z.string(), 'events_total'),
  progress: z._default(z.string(), 'progress'),
  syncLag: z._default(z.string(), 'sync_lag_events'),
  runId: z._default(z.string(), 'run_id'),
  error: z._default(z.string(), 'error'),
});

export const logWatchConfigSchema = z.strictObject({
  /** Tracker migration for lines that carry no migration_id. */
  defaultMigrationId: z._default(idSchema, 'default'),
  /** A built-in tool profile (pg_dump, pg_restore, pgloader, rsync, rclone, aws-s3, aws-dms...): its patterns follow yours. */
  profile: z.optional(z.enum(PROFILE_NAMES as [string, ...string[]])),
  /** The phase lines belong to when they name none (`run --phase` and `watch --phase` set it). */
  phase: z.optional(idSchema),
  /** With `phase`: progress goes to this sub-task of it (`run --subtask`). */
  subTask: z.optional(idSchema),
  /** Your patterns, tried in order before the profile's and the defaults. */
  patterns: z._default(z.array(patternSchema).check(z.maxLength(200)), []),
  /** Keep the well-known events (Migration started, Bulk copy progress, ...) after your patterns. */
  useDefaultPatterns: z._default(z.boolean(), true),
  /** Log phase names (and the defaults' phase ids) → tracker phase ids. Names are compared lower-case with `_` as `-`. */
  phaseMap: z._default(z.record(z.string().check(z.minLength(1), z.maxLength(100)), idSchema), {}),
  fields: z._default(fieldNamesSchema, () => fieldNamesSchema.parse({})),
  /** JSON fields that hold the message, first present wins. */
  messageFields: z._default(z.array(z.string().check(z.minLength(1))).check(z.minLength(1), z.maxLength(10)), ['message', 'msg', 'event']),
  /** Create an unknown migration with `plan` on its first line (otherwise its lines are rejected). */
  autoInitialize: z._default(z.boolean(), true),
  /** Plan for auto-initialized migrations. Default: bulk-copy → dual-write → cutover. */
  plan: z.optional(z.array(z.unknown())),
  /** Tell the tracker to expect another line within this many seconds (silence marks the phase stale). */
  expectUpdateWithinSeconds: z.optional(z.number().check(z.int(), z.positive(), z.lte(7 * 24 * 3600))),
  /** Lines longer than this are malformed (counted and skipped). */
  maxLineBytes: z._default(z.number().check(z.int(), z.gte(256), z.lte(16 * 1024 * 1024)), 64 * 1024),
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
    const option = actionSchema.def.options.find((o) => o.shape.do.def.values[0] === act?.do);
    return option ? Object.keys(option.shape) : undefined;
  }
  return undefined;
}

const ACTION_NAMES = actionSchema.def.options.map((o) => o.shape.do.def.values[0] as string);

/** Adds "did you mean" to unknown keys and unknown action names. */
function withSuggestions(err: z.core.$ZodError, input: unknown): z.core.$ZodError {
  for (const issue of err.issues) {
    if (issue.code === 'unrecognized_keys') {
      const valid = validKeysAt(issue.path, input);
      const hints = valid ? issue.keys.map((k) => nearest(k, valid)).filter((h): h is string => h !== undefined) : [];
      const allowed = valid ? ` (valid keys: ${valid.join(', ')})` : '';
      Object.assign(issue, { message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}${hints.length ? `: did you mean "${hints.join('", "')}"?` : ''}${allowed}` });
    } else if ((issue.code === 'invalid_union' || issue.code === 'invalid_value') && issue.path[0] === 'patterns' && issue.path[2] === 'actions') {
      const objPath = issue.path.at(-1) === 'do' ? issue.path.slice(0, -1) : issue.path;
      const act = objPath.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[k] : undefined), input) as { do?: unknown } | undefined;
      const hint = typeof act?.do === 'string' ? nearest(act.do, ACTION_NAMES) : undefined;
      Object.assign(issue, { message: `unknown action "do: ${String(act?.do)}"${hint ? `: did you mean "${hint}"?` : ''} (actions: ${ACTION_NAMES.join(', ')})` });
    }
  }
  return err;
}

/** The valid name closest to `s` (a prefix of it, or edit distance at most a third of its length, min 2), if any. */
export function nearest(s: string, valid: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(s.length / 3)) + 1;
  for (const v of valid) {
    // a prefix ("complete" for "complete_phase") is as good as one typo
    const d = v.toLowerCase().startsWith(s.toLowerCase()) ? 1 : editDistance(s.toLowerCase(), v.toLowerCase());
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
