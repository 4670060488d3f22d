import * as z from '../zod';
import { formatZodError } from '../validation-util';
import { DomainError } from '../errors';
import { connectorSchema, interpolateEnv, parseConfigDocument, type ConnectorConfig } from '../validation/config';

/**
 * What `migration-monitor preflight` reads: the validation config file's `connectors` (the same connectors
 * the gate compares) and its `preflight` section. Other keys of the file (checks, options, tracker) are the
 * validation's and are not looked at here, so one file serves both commands.
 */

const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** Bytes: a number, or `500MB`, `10 GiB`, `2TB`. */
export const byteSize = z.pipe(z.union([z.number().check(z.nonnegative()), z.string()]), z.transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*$/i.exec(v);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    ctx.issues.push({ code: 'custom', message: `"${v}" is not a size: use bytes or a number with KB, MB, GB, TB (or KiB, MiB, GiB, TiB)`, input: v });
    return z.NEVER;
  }
  return Math.round(Number(m[1]) * unit);
}));

const connectorName = z.string().check(z.minLength(1), z.maxLength(100));

export const preflightSectionSchema = z.strictObject({
  /** The connector read by the copy (default `source`). */
  source: z._default(connectorName, 'source'),
  /** The connector the copy writes to (default `target`). */
  target: z._default(connectorName, 'target'),
  /** Inventory the connector's table only, or every table of its schema (PostgreSQL). */
  inventory: z._default(z.enum(['table', 'schema']), 'table'),
  /** Disk the target needs = source size × this (the seed's 3×: data, indexes rebuilt, WAL/snapshots). */
  replicationFactor: z._default(z.number().check(z.gte(1), z.lte(20)), 3),
  /** A path on the target's disk for free space (statfs). Default: the target PostgreSQL's data directory when it runs on this machine. */
  targetPath: z.optional(z.string().check(z.minLength(1))),
  /** At most this much disk for the copy (e.g. a quota): the free space counted is the smaller of this and the disk's. */
  diskBudget: z.optional(byteSize),
  /** At most this much memory for the copy on this machine (default: the free memory). */
  memoryBudget: z.optional(byteSize),
  /** Rows per batch and parallel workers of the copy: memory needed = average row × batch × workers × 2 (read and write buffers). */
  batchSize: z._default(z.number().check(z.int(), z.positive(), z.lte(1_000_000)), 1000),
  workers: z._default(z.number().check(z.int(), z.positive(), z.lte(256)), 4),
  /** Expected copy rate, rows per second. Default: the source's measured read rate over one batch (an upper bound). */
  copyRatePerSecond: z.optional(z.number().check(z.positive())),
  /** The capacity planner's other inputs (see `migration-monitor estimate`). */
  writeRatePerSecond: z._default(z.number().check(z.nonnegative()), 0),
  lagEvents: z._default(z.number().check(z.nonnegative()), 100),
  cutoverPauseSeconds: z._default(z.number().check(z.nonnegative()), 5),
  bufferFactor: z._default(z.number().check(z.gte(1), z.lte(10)), 1.5),
  /** Not ready when the predicted total is longer than this (e.g. the maintenance window). */
  maxDurationSeconds: z.optional(z.number().check(z.positive())),
});
export type PreflightSection = z.output<typeof preflightSectionSchema>;

const fileSchema = z.object({
  connectors: z._default(z.record(connectorName, connectorSchema), {}),
  preflight: z.prefault(preflightSectionSchema, {}),
});

/** The sides name defined connectors (checked on the raw document, so it is reported beside schema problems). */
function unknownConnectors(v: { connectors?: unknown; preflight?: unknown }): string[] {
  const known = v.connectors && typeof v.connectors === 'object' ? Object.keys(v.connectors) : [];
  const p = (v.preflight && typeof v.preflight === 'object' ? v.preflight : {}) as Record<string, unknown>;
  const out: string[] = [];
  for (const side of ['source', 'target'] as const) {
    const n = p[side] ?? side;
    if (typeof n === 'string' && !known.includes(n)) out.push(`preflight.${side}: unknown connector "${n}" (${known.length ? `defined: ${known.join(', ')}` : 'no connectors are defined'})`);
  }
  return out;
}

const preflightConfigError = (message: string) => new DomainError('validation_failed', `invalid preflight config: ${message}`);

export interface PreflightConfig {
  name?: string;
  source: { name: string; connector: ConnectorConfig };
  target: { name: string; connector: ConnectorConfig };
  settings: PreflightSection;
}

/** Parse the config text; every problem (schema and environment) is reported at once (a DomainError: CLI exit 2). */
export function parsePreflightConfig(text: string, filename = 'config', env: Record<string, string | undefined> = process.env): PreflightConfig {
  const doc = parseConfigDocument(text, filename);
  if (typeof doc !== 'object' || Array.isArray(doc)) throw preflightConfigError(`${filename} must be a mapping with "connectors" (and optionally "preflight")`);
  const { connectors, preflight } = doc as Record<string, unknown>;
  const problems: string[] = [];
  // only what preflight reads: a variable that only a check uses need not be set here
  const value = interpolateEnv({ connectors, preflight }, env, problems);
  const r = fileSchema.safeParse(value);
  if (!r.success) problems.push(formatZodError(r.error));
  problems.push(...unknownConnectors(value as { connectors?: unknown; preflight?: unknown }));
  if (problems.length || !r.success) throw preflightConfigError(problems.join('; '));
  const parsed = r.data;
  const name = typeof (doc as { name?: unknown }).name === 'string' ? (doc as { name: string }).name : undefined;
  return {
    ...(name ? { name } : {}),
    source: { name: parsed.preflight.source, connector: parsed.connectors[parsed.preflight.source]! },
    target: { name: parsed.preflight.target, connector: parsed.connectors[parsed.preflight.target]! },
    settings: parsed.preflight,
  };
}
