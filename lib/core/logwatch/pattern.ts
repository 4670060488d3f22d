/** One log pattern: what a line must look like and what it does to the tracker (the schema users write). */
import * as z from '../zod';
import { ALERT_SEVERITIES } from '../model';
import type { MetricName } from '../metrics/spec';

const regexText = z
  .string().check(z.minLength(1), z.maxLength(1000), z.refine((s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  }, 'is not a valid regular expression'));

const regexFlags = z._default(z.string().check(z.regex(/^[imsu]*$/, 'flags may only use i, m, s, u')), 'i');

/** A JSON field matcher: a string is an exact (case-insensitive) match, `{regex}` a regular expression. */
export const fieldMatcherSchema = z.union([z.string().check(z.maxLength(1000)), z.number(), z.boolean(), z.strictObject({ regex: regexText, flags: regexFlags })]);

const phaseRef = z.string().check(z.minLength(1), z.maxLength(100));

/** Metrics an action can feed (by monitoring-spec name). */
const observableMetrics = ['EventsCopied', 'EventsTotal', 'SyncLag', 'DualWriteFailures', 'CutoverPause', 'VerificationViolations'] as const satisfies readonly MetricName[];

/**
 * What a matched line does. Phases named here go through `phaseMap`; an action without `phase` uses the
 * line's `phase` field and, for complete/fail, falls back to the phases this run has in progress.
 */
export const actionSchema = z.discriminatedUnion('do', [
  /**
   * `fallbackPhase`: started when the line names no known phase. `completeRunning`: first complete the phases
   * this run has in progress ("a phase ends when the next one starts", for tools that print no final line).
   */
  z.strictObject({ do: z.literal('start_phase'), phase: z.optional(phaseRef), fallbackPhase: z.optional(phaseRef), completeRunning: z._default(z.boolean(), false) }),
  /**
   * Progress from `value` (a constant 0-100), else the `progress` field (0-100) or events_count / events_total;
   * a heartbeat when none is there (heartbeats are coalesced in the activity log).
   */
  z.strictObject({
    do: z.literal('progress'),
    phase: z.optional(phaseRef),
    value: z.optional(z.number().check(z.gte(0), z.lte(100))),
    /** Progress as `done / total` of two fields (numbers or sizes like `1.2 MiB`), e.g. bytes copied of bytes to copy. */
    done: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
    total: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  }),
  /**
   * One unit of the phase's work (a table, a file): `declare` it (known before it starts, e.g. `creating TABLE`),
   * `start` it (with `completesPrevious`, the run's earlier started units are done: sequential tools), mark it
   * `done` or `fail` it. The phase's progress is the done share of the declared units, weighted by `weight`
   * (a numeric or byte-size field, e.g. rows estimated) or by the table sizes `run --source-url` reads from
   * the source catalog, else by count.
   */
  z.strictObject({
    do: z.literal('item'),
    state: z.enum(['declare', 'start', 'done', 'fail']),
    /** Template naming the unit, e.g. `{schema}.{table}`. Default `{item}`. */
    item: z._default(z.string().check(z.minLength(1), z.maxLength(200)), '{item}'),
    weight: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
    completesPrevious: z._default(z.boolean(), false),
    phase: z.optional(phaseRef),
  }),
  /**
   * Bytes moved, from a field holding a size (`1,234,567`, `4.0 MB`, `1.431 MiB`, `12k`): added to the
   * tracker's totalDataMigrated. `cumulative` (default): the field is a running total for this run, only its
   * growth is added; otherwise each line's value is added.
   */
  z.strictObject({
    do: z.literal('data'),
    field: z._default(z.string().check(z.minLength(1), z.maxLength(200)), 'bytes'),
    cumulative: z._default(z.boolean(), true),
    /** Fields counting rows (or objects) copied and failed: added to the tracker's successful / failed operations (per line, not cumulative). */
    rows: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
    errors: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  }),
  z.strictObject({ do: z.literal('complete_phase'), phase: z.optional(phaseRef) }),
  z.strictObject({ do: z.literal('fail_phase'), phase: z.optional(phaseRef) }),
  z.strictObject({
    do: z.literal('alert'),
    severity: z.enum(ALERT_SEVERITIES),
    phase: z.optional(phaseRef),
    /** Message template: `{message}`, `{line}` and any `{field}` are replaced. Default: the line's message. */
    message: z.optional(z.string().check(z.minLength(1), z.maxLength(500))),
  }),
  /** One more failed operation on the tracker's metrics (drives the error-rate alarm). */
  z.strictObject({ do: z.literal('count_failure') }),
  /**
   * Successful operations on the tracker's metrics, so failures have a denominator: `one` counts 1; `events`
   * counts the growth of the events_count running total (per migration and tenant, a repeated total adds 0).
   * With `phase`, only lines of the run that owns that phase count (a conflicting run's copies are not trusted).
   */
  z.strictObject({ do: z.literal('count_success'), value: z._default(z.enum(['one', 'events']), 'one'), phase: z.optional(phaseRef) }),
  /** A failed verification recorded as a validation run (raises the tracker's validation alert). */
  z.strictObject({ do: z.literal('validation_failed'), check: z._default(z.string().check(z.minLength(1), z.maxLength(200)), 'consistency') }),
  /** Feed a monitoring-spec metric (Prometheus / EMF), not the tracker. */
  z.strictObject({
    do: z.literal('observe'),
    metric: z.enum(observableMetrics),
    /**
     * one: count 1; duration: the duration_ms field (converted to the metric's unit); events / events_total /
     * sync_lag: those fields. A counter whose field is missing counts 1; a gauge or histogram is left alone.
     */
    value: z._default(z.enum(['one', 'duration', 'events', 'events_total', 'sync_lag']), 'one'),
    /** The field is a running total (e.g. events copied so far): a counter is set to it, not added to. */
    cumulative: z._default(z.boolean(), false),
  }),
]);
export type LogAction = z.output<typeof actionSchema>;
export type ObservableMetric = (typeof observableMetrics)[number];

export const patternSchema = z
  .strictObject({
    name: z.string().check(z.minLength(1), z.maxLength(100)),
    /** Tested against the line (plain text) or its message field (JSON). Named groups become fields. */
    regex: z.optional(regexText),
    flags: regexFlags,
    /** Every listed field must match (JSON fields, `key=value` pairs of plain lines, or regex groups). */
    fields: z.optional(z.record(z.string().check(z.minLength(1), z.maxLength(200)), fieldMatcherSchema)),
    actions: z.array(actionSchema).check(z.minLength(1), z.maxLength(10)),
  }).check(z.refine((p) => p.regex !== undefined || (p.fields !== undefined && Object.keys(p.fields).length > 0), {
    message: 'a pattern needs "regex" or at least one entry in "fields"',
  }));
export type LogPattern = z.output<typeof patternSchema>;
export type LogPatternInput = z.input<typeof patternSchema>;
