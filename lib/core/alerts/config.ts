/**
 * Alert routing, configured once per environment: where each severity goes, and the rules that keep people
 * from being flooded (dedup window, burst grouping, digest, re-notify of unacknowledged alerts, retries).
 */
import * as z from '../zod';
import { ALERT_SEVERITIES, type AlertSeverity } from '../model';

/** Who an alert reaches: an on-call e-mail list, a pager (an SNS subscription filtering on severity on AWS), Slack. */
export const DESTINATIONS = ['email', 'pager', 'slack'] as const;
export type Destination = (typeof DESTINATIONS)[number];

const ruleSchema = z.strictObject({
  /** Destinations; empty = the dashboard only. */
  to: z.array(z.enum(DESTINATIONS)).check(z.maxLength(DESTINATIONS.length)),
  /** `immediate`: within the burst window; `digest`: collected and sent every `digestSeconds`. */
  mode: z._default(z.enum(['immediate', 'digest']), 'immediate'),
  /** Re-notify while the alert stays unacknowledged (escalation), every `renotifySeconds`. */
  renotify: z._default(z.boolean(), false),
});
export type SeverityRule = z.output<typeof ruleSchema>;

const seconds = (max: number) => z.number().check(z.int(), z.gte(0), z.lte(max));

export const alertRoutingSchema = z.strictObject({
  rules: z._default(z
    .strictObject({ critical: z.optional(ruleSchema), error: z.optional(ruleSchema), warning: z.optional(ruleSchema), info: z.optional(ruleSchema) }), {}),
  /** The same alert (severity, phase, message with numbers masked) within this window notifies once, then counts. */
  dedupSeconds: z._default(seconds(7 * 86400), 900),
  /** A notice waits this long so a burst of alerts leaves as one message. */
  groupSeconds: z._default(seconds(3600), 20),
  /** Digest rules send at most once per this interval. */
  digestSeconds: z._default(seconds(86400), 900),
  /** Unacknowledged alerts of `renotify` rules are sent again after this long. */
  renotifySeconds: z._default(z.number().check(z.int(), z.gte(60), z.lte(7 * 86400)), 1800),
  retry: z._default(z
    .strictObject({
      /** First retry after this many seconds; doubles per failure up to maxSeconds. */
      baseSeconds: z._default(z.number().check(z.int(), z.gte(1), z.lte(3600)), 15),
      maxSeconds: z._default(z.number().check(z.int(), z.gte(1), z.lte(86400)), 3600),
      /** Failed attempts before a notice is given up (and counted as dropped). */
      maxAttempts: z._default(z.number().check(z.int(), z.gte(1), z.lte(100)), 20),
    }), { baseSeconds: 15, maxSeconds: 3600, maxAttempts: 20 }),
  /** Links every message carries. `{migration}` in a URL is replaced by the migration id. */
  links: z._default(z
    .strictObject({
      dashboardUrl: z.optional(z.url()),
      reportUrl: z.optional(z.url()),
      runbookUrl: z.optional(z.url()),
    }), {}),
});
export type AlertRoutingInput = z.input<typeof alertRoutingSchema>;
export type AlertRoutingSettings = z.output<typeof alertRoutingSchema>;

/** The defaults of the issue: critical → e-mail and pager (re-notified until acknowledged), error → Slack, warning → Slack digest, info → dashboard. */
export const DEFAULT_RULES: Record<AlertSeverity, SeverityRule> = {
  critical: { to: ['email', 'pager'], mode: 'immediate', renotify: true },
  error: { to: ['slack'], mode: 'immediate', renotify: false },
  warning: { to: ['slack'], mode: 'digest', renotify: false },
  info: { to: [], mode: 'immediate', renotify: false },
};

/** Routing as the router uses it: every severity has a rule. */
export interface AlertRouting extends Omit<AlertRoutingSettings, 'rules'> {
  rules: Record<AlertSeverity, SeverityRule>;
}

/**
 * The settings resolved against the defaults and against the destinations this runtime can reach: a destination
 * with no channel configured is dropped from every rule, so nothing waits in the outbox for a channel that
 * does not exist (the dashboard still shows the alert).
 */
export function resolveRouting(input: AlertRoutingInput | undefined, available: readonly Destination[]): AlertRouting {
  const s = alertRoutingSchema.parse(input ?? {});
  const rules = {} as Record<AlertSeverity, SeverityRule>;
  for (const sev of ALERT_SEVERITIES) {
    const r = s.rules[sev] ?? DEFAULT_RULES[sev];
    rules[sev] = { ...r, to: [...new Set(r.to)].filter((d) => available.includes(d)) };
  }
  return { ...s, rules };
}
