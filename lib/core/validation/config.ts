import * as z from '../zod';
import { DomainError, isDomainError } from '../errors';
import { TEXT_FIELD_TYPES } from './convert';

/**
 * The validation config file (YAML or JSON): named connectors and a list of checks. Strings may use
 * `${ENV_VAR}` or `${ENV_VAR:-default}` so connection strings and tokens stay out of the file.
 */

/** Migration criteria defaults: vector search under 30 ms, API under 100 ms. */
export const LATENCY_PROFILES = { 'vector-search': 30, api: 100 } as const;
export const DEFAULT_SUCCESS_RATE = 99;

const name = z
  .string().check(z.minLength(1), z.maxLength(100), z.regex(/^[A-Za-z0-9][A-Za-z0-9 ._:/-]*$/, 'must start with a letter or digit and use letters, digits, spaces or . _ : / -'));
const identifier = z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'must be a plain identifier (letters, digits, _; no quotes)'));
const keyPartType = z.enum(['string', 'number']);
/** One type for every key column, or one per column of a composite key. */
const keyType = z.optional(z.union([keyPartType, z.array(keyPartType).check(z.minLength(1), z.maxLength(16))]));
/** A key column, or the columns of a composite key in order (any number, each of an orderable type). */
const compositeKey = <T extends z.ZodMiniString>(col: T) => z.union([col, z.array(col).check(z.minLength(1), z.maxLength(16))]);
const positiveInt = (max: number) => z.number().check(z.int(), z.positive(), z.lte(max));
const ms = z.number().check(z.int(), z.positive(), z.lte(600_000));
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const headers = z._default(z.record(z.string(), z.string()), {});

export const connectorSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('postgres'),
    /** postgres://user:pass@host:port/db (use ${ENV} for the password). */
    url: z.string().check(z.regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection URL')),
    schema: z._default(identifier, 'public'),
    table: identifier,
    /** The key column, or every column of a composite key: `[item_id, tag]`. */
    key: compositeKey(identifier),
    keyType,
    /** Columns to read (default: all). */
    columns: z.optional(z.array(identifier).check(z.minLength(1))),
    /** SQL condition limiting the rows (trusted: it comes from your config file), e.g. `tenant_id = 7`. */
    where: z.optional(z.string().check(z.minLength(1), z.maxLength(2000))),
    /** numeric/bigint columns as JS numbers (default true); false keeps them as exact strings. */
    numericAsNumber: z._default(z.boolean(), true),
  }),
  z.strictObject({
    type: z.literal('dynamodb'),
    table: z.string().check(z.minLength(3), z.maxLength(255)),
    /** Partition key attribute, or `[partition, sort]` for a table with a sort key (must match the table's key schema). */
    key: z.union([z.string().check(z.minLength(1)), z.tuple([z.string().check(z.minLength(1)), z.string().check(z.minLength(1))])]),
    keyType,
    region: z.optional(z.string()),
    /** Endpoint override (dynalite, DynamoDB Local, VPC endpoint). */
    endpoint: z.optional(httpUrl),
    /** Parallel scan segments (1-64). */
    segments: z._default(positiveInt(64), 1),
    consistentRead: z._default(z.boolean(), false),
  }),
  z.strictObject({
    type: z.literal('redis'),
    url: z.string().check(z.regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')),
    /** PEM of the CA that signed a `rediss://` server's certificate (a Memorystore instance's `server_ca_certs`). */
    ca: z.optional(z.string().check(z.regex(/-----BEGIN CERTIFICATE-----/, 'must be PEM certificate(s)'))),
    /** Records are the keys starting with this prefix; the record key is the rest of the Redis key. */
    prefix: z._default(z.string(), ''),
    /** json: the value is a JSON object; hash: a Redis hash; string: a plain value (stored in field `value`). */
    valueType: z._default(z.enum(['json', 'hash', 'string']), 'json'),
    /** Hash field types (others stay strings); `bytes` keeps raw bytes, e.g. float32 embeddings. */
    fields: z._default(z.record(z.string(), z.enum([...TEXT_FIELD_TYPES, 'bytes'])), {}),
    keyType: z.optional(keyPartType),
    scanCount: z._default(positiveInt(100_000), 1000),
  }),
  z.strictObject({
    type: z.literal('http-json'),
    /** List endpoint returning a page of records. */
    url: httpUrl,
    /** Dotted path to the array of records in a page (default `items`). */
    itemsPath: z._default(z.string(), 'items'),
    key: z.string().check(z.minLength(1)),
    keyType: z.optional(keyPartType),
    /**
     * Cursor pagination: the cursor is read from `nextPath` in a page and sent as query parameter `param`.
     * Without it, offset pagination (`offsetParam`), ending at the first short page.
     */
    cursor: z.optional(z.strictObject({ param: z._default(z.string(), 'cursor'), nextPath: z._default(z.string(), 'nextCursor') })),
    offsetParam: z._default(z.string(), 'offset'),
    /** Page size query parameter and value. */
    limitParam: z._default(z.string(), 'limit'),
    pageSize: z._default(positiveInt(10_000), 500),
    /** Fetch records by key: a URL with `{keys}` (comma-separated) or `{key}` (one request per key). */
    getUrl: z.optional(z.string().check(z.regex(/\{keys?\}/, 'must contain {key} or {keys}'))),
    /** A URL answering the record count, read from `countPath`. */
    countUrl: z.optional(httpUrl),
    countPath: z._default(z.string(), 'count'),
    /** Set true only when the API lists records in ascending key order. */
    ordered: z._default(z.boolean(), false),
    headers,
    timeoutMs: z._default(ms, 10_000),
  }),
  z.strictObject({
    type: z.literal('file'),
    path: z.string().check(z.minLength(1)),
    /** Default: from the extension (.csv, .jsonl/.ndjson). */
    format: z.optional(z.enum(['csv', 'jsonl'])),
    /** The key field, or the fields of a composite key. */
    key: compositeKey(z.string().check(z.minLength(1))),
    keyType,
    /** The file is sorted by key (checked while reading): enables range scans without sorting. */
    sorted: z._default(z.boolean(), false),
    /** CSV column types (others stay strings). */
    columns: z._default(z.record(z.string(), z.enum(TEXT_FIELD_TYPES)), {}),
    delimiter: z._default(z.string().check(z.length(1)), ','),
  }),
]);
export type ConnectorConfig = z.output<typeof connectorSchema>;
export type ConnectorType = ConnectorConfig['type'];
/** Every connector `type` a config may use. */
export const CONNECTOR_TYPES = ['postgres', 'dynamodb', 'redis', 'http-json', 'file'] as const satisfies readonly ConnectorType[];
/**
 * The connector types a deployed validation handler bundle carries unless told otherwise: the AWS-native
 * and driver-less ones plus PostgreSQL (~390 KB bundled). Redis (its connector's RESP client, ~+6 KB) is named
 * explicitly by deployments whose checks use it. From source (CLI, Cloud Run) every type is available.
 */
export const DEFAULT_BUNDLED_CONNECTORS: readonly ConnectorType[] = ['dynamodb', 'http-json', 'file', 'postgres'];

const compareFields = {
  /** Compare only these fields (default: every field on either side, minus `ignore`). */
  fields: z.optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(1))),
  ignore: z._default(z.array(z.string().check(z.minLength(1))), []),
  /** Embedding field compared by L2 distance: equal when distance <= epsilon. */
  vector: z.optional(z.strictObject({ field: z.string().check(z.minLength(1)), epsilon: z._default(z.number().check(z.nonnegative()), 1e-5) })),
  /** Numbers equal when they differ by at most this. */
  numberTolerance: z._default(z.number().check(z.nonnegative()), 0),
};
const pair = { source: z.string().check(z.minLength(1)), target: z.string().check(z.minLength(1)) };
const common = {
  name: z.optional(name),
  description: z.optional(z.string().check(z.maxLength(1000))),
  /** A cutover gate: its failure makes the migration unhealthy in the tracker (otherwise degraded). Default: options.gate. */
  gate: z.optional(z.boolean()),
};
const successRate = z.optional(z.number().check(z.gte(0), z.lte(100)));

const latencyCheck = z.pipe(z
  .strictObject({
    ...common,
    kind: z.literal('latency'),
    url: httpUrl,
    method: z._default(z.enum(['GET', 'POST', 'PUT', 'HEAD']), 'GET'),
    headers,
    /** Request body: a string, or a value sent as JSON. */
    body: z.optional(z.unknown()),
    requests: z._default(positiveInt(100_000), 50),
    concurrency: z._default(positiveInt(256), 1),
    /** Requests sent first and not measured. */
    warmup: z._default(z.number().check(z.int(), z.nonnegative(), z.lte(10_000)), 0),
    percentile: z._default(z.enum(['p50', 'p95', 'p99']), 'p95'),
    /** Threshold defaults: vector-search 30 ms, api 100 ms. */
    profile: z._default(z.enum(['vector-search', 'api']), 'api'),
    thresholdMs: z.optional(z.number().check(z.positive())),
    expectStatus: z.optional(z.array(z.number().check(z.int(), z.gte(100), z.lte(599))).check(z.minLength(1))),
    /** Failed requests (network error, timeout, unexpected status) tolerated. */
    maxErrors: z._default(z.number().check(z.int(), z.nonnegative()), 0),
    timeoutMs: z._default(ms, 5000),
  }), z.transform((c) => ({ ...c, thresholdMs: c.thresholdMs ?? LATENCY_PROFILES[c.profile] })));

export const checkSchema = z.discriminatedUnion('kind', [
  latencyCheck,
  z.strictObject({
    ...common,
    kind: z.literal('http'),
    url: httpUrl,
    method: z._default(z.enum(['GET', 'HEAD']), 'GET'),
    headers,
    /** Default: any 2xx or 3xx. */
    expectStatus: z.optional(z.array(z.number().check(z.int(), z.gte(100), z.lte(599))).check(z.minLength(1))),
    bodyContains: z.optional(z.string()),
    timeoutMs: z._default(ms, 5000),
  }),
  z.strictObject({ ...common, kind: z.literal('tcp'), host: z.string().check(z.minLength(1)), port: z.number().check(z.int(), z.gte(1), z.lte(65535)), timeoutMs: z._default(ms, 5000) }),
  z.strictObject({
    ...common,
    kind: z.literal('aws-resource'),
    resource: z.enum(['dynamodb-table', 's3-bucket', 'lambda-function']),
    /** Table name, bucket name, or function name/ARN. */
    resourceName: z.string().check(z.minLength(1), z.maxLength(2048)),
    region: z.optional(z.string()),
    endpoint: z.optional(httpUrl),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('gcp-resource'),
    resource: z.enum(['gcs-bucket']),
    resourceName: z.string().check(z.minLength(1), z.maxLength(222)),
    projectId: z.optional(z.string()),
    apiEndpoint: z.optional(httpUrl),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('count'),
    ...pair,
    /** Allowed difference: a number of records, or a percentage of the source count like "0.5%". */
    tolerance: z._default(z.union([z.number().check(z.nonnegative()), z.string().check(z.regex(/^\d+(\.\d+)?%$/, 'must be a number or a percentage like "0.5%"'))]), 0),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('checksum'),
    ...pair,
    fields: compareFields.fields,
    ignore: compareFields.ignore,
    vector: compareFields.vector,
    numberTolerance: compareFields.numberTolerance,
    /**
     * auto: between two PostgreSQL tables, stream keys and row hashes (one pass per side, full rows read only
     * where hashes differ); elsewhere hash-and-bisect. bisect: always hash-and-bisect (moves only checksums
     * until ranges are small: for slow links; re-reads differing ranges).
     */
    strategy: z._default(z.enum(['auto', 'bisect']), 'auto'),
    /** Sub-ranges per level when a range's checksums differ. */
    segments: z._default(z.number().check(z.int(), z.gte(2), z.lte(256)), 16),
    /** Ranges with at most this many rows are compared row by row. */
    leafRows: z._default(positiveInt(100_000), 256),
    maxDepth: z._default(positiveInt(64), 16),
    /** Differing records allowed (default 0: checksums are exact). */
    maxMismatches: z._default(z.number().check(z.int(), z.nonnegative()), 0),
    batchSize: z._default(positiveInt(100_000), 1000),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('sample'),
    ...pair,
    ...compareFields,
    sampleSize: z._default(positiveInt(1_000_000), 1000),
    /** Same seed, same sample: a failing run can be repeated exactly. */
    seed: z._default(z.pipe(z.union([z.string().check(z.minLength(1)), z.number()]), z.transform(String)), 'migration-monitor'),
    /** Also sample this many target keys and look them up in the source (finds orphans). */
    orphanSampleSize: z._default(z.number().check(z.int(), z.nonnegative(), z.lte(1_000_000)), 0),
    successRate,
  }),
  z.strictObject({
    ...common,
    kind: z.literal('schema'),
    ...pair,
    /** Tables to compare (`items` or `schema.items`; default: the connectors' own table). PostgreSQL only. */
    tables: z.optional(z.array(z.string().check(z.regex(/^([A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$/, 'must be table or schema.table'))).check(z.minLength(1), z.maxLength(500))),
    /** Object kinds not compared, e.g. `[index]` while indexes are still being built. */
    ignoreKinds: z._default(z.array(z.enum(['column', 'primary key', 'unique', 'foreign key', 'check', 'index', 'sequence', 'key schema', 'gsi', 'lsi', 'ttl', 'pitr'])), []),
    /** Also count target rows whose foreign key (as defined on the source) has no parent row. */
    foreignKeyOrphans: z._default(z.boolean(), false),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('diff'),
    ...pair,
    ...compareFields,
    /** Refused with a message: a full comparison is judged by its counts (below), not by a rate. */
    successRate,
    /** Differences allowed (default 0 each: a full comparison that found a difference fails). */
    maxMissing: z._default(z.number().check(z.int(), z.nonnegative()), 0),
    maxOrphans: z._default(z.number().check(z.int(), z.nonnegative()), 0),
    maxChanged: z._default(z.number().check(z.int(), z.nonnegative()), 0),
    batchSize: z._default(positiveInt(100_000), 1000),
    /** Save progress every this many records (resume with --resume). */
    checkpointEvery: z._default(positiveInt(10_000_000), 10_000),
  }),
]);
export type CheckConfig = z.output<typeof checkSchema> & { name: string };
export type CheckKind = CheckConfig['kind'];
export type CheckOf<K extends CheckKind> = Extract<CheckConfig, { kind: K }>;
export type DataCheckConfig = CheckOf<'count' | 'checksum' | 'sample' | 'diff'>;

export const validationConfigSchema = z
  .strictObject({
    version: z._default(z.literal(1), 1),
    /** Shown in reports. */
    name: z.optional(z.string().check(z.maxLength(200))),
    connectors: z._default(z.record(name, connectorSchema), {}),
    checks: z.array(checkSchema).check(z.minLength(1, 'at least one check is needed')),
    options: z.prefault(z
      .strictObject({
        /** Default success-rate threshold (percent) for sample and diff checks. */
        successRate: z._default(z.number().check(z.gte(0), z.lte(100)), DEFAULT_SUCCESS_RATE),
        /** Mismatching keys listed per check in the evidence. */
        maxReportedKeys: z._default(z.number().check(z.int(), z.nonnegative(), z.lte(10_000)), 50),
        /** Rows an unordered connector may hold in memory while sorting (beyond it, runs spill to disk). */
        sortMemoryRows: z._default(positiveInt(10_000_000), 100_000),
        /** Stop at the first failing check. */
        failFast: z._default(z.boolean(), false),
        /** Every check is a cutover gate (a check's own `gate` overrides): a failure makes the migration unhealthy, not only degraded. */
        gate: z._default(z.boolean(), false),
      }), {}),
    /** Read by `migration-monitor preflight` (lib/core/preflight/config.ts), so one file serves both. */
    preflight: z.optional(z.unknown()),
    tracker: z.prefault(z
      .strictObject({
        /** Phase updated with the run's progress. */
        phase: z._default(z.string().check(z.minLength(1), z.maxLength(64)), 'validation'),
        /** Complete the phase when the verdict is pass (a fail always fails it). */
        completePhaseOnPass: z._default(z.boolean(), true),
      }), {}),
  });

/**
 * Checks across the config (unknown connector names, duplicate check names, a rate on a full diff), run on the
 * raw document so they are reported together with the schema's problems, not only once the shape is right.
 */
function crossReferences(doc: unknown): Array<{ path: (string | number)[]; message: string }> {
  const out: Array<{ path: (string | number)[]; message: string }> = [];
  const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  const root = obj(doc);
  const checks = root?.['checks'];
  if (!Array.isArray(checks)) return out;
  const connectors = obj(root?.['connectors']) ?? {};
  const known = Object.keys(connectors);
  for (const [n, raw] of Object.entries(connectors)) {
    const c = obj(raw);
    if (c && Array.isArray(c['keyType']) && c['keyType'].length !== (Array.isArray(c['key']) ? c['key'].length : 1)) {
      out.push({ path: ['connectors', n, 'keyType'], message: `${c['keyType'].length} types for ${Array.isArray(c['key']) ? c['key'].length : 1} key columns: give one type per column of key, or one type for all` });
    }
  }
  const seen = new Map<string, number>();
  checks.forEach((raw, i) => {
    const c = obj(raw);
    if (!c) return;
    const n = typeof c['name'] === 'string' ? c['name'] : defaultCheckName(String(c['kind']), i);
    const prev = seen.get(n);
    if (prev !== undefined) out.push({ path: ['checks', i, 'name'], message: `duplicate check name "${n}" (also checks[${prev}])` });
    else seen.set(n, i);
    if (c['kind'] === 'diff' && c['successRate'] !== undefined) {
      out.push({ path: ['checks', i, 'successRate'], message: 'successRate applies to sampled checks (kind: sample); a full diff fails on any difference unless you allow some with maxMissing, maxOrphans, maxChanged' });
    }
    for (const side of ['source', 'target'] as const) {
      const ref = c[side];
      if (typeof ref === 'string' && !connectors[ref]) {
        out.push({ path: ['checks', i, side], message: `unknown connector "${ref}" (${known.length ? `defined: ${known.join(', ')}` : 'no connectors are defined'})` });
      }
    }
  });
  return out;
}

export type ValidationConfigInput = z.input<typeof validationConfigSchema>;
export interface ValidationConfig extends Omit<z.output<typeof validationConfigSchema>, 'checks'> {
  checks: CheckConfig[];
}

const defaultCheckName = (kind: string, i: number) => `${kind}-${i + 1}`;

/** An invalid config: the message names every problem with its path (CLI exit 2, HTTP 400). */
export const configError = (message: string) => new DomainError('validation_failed', `invalid validation config: ${message}`);

/** Validate an already-parsed config object (after env interpolation). */
export function validateConfig(input: unknown, env: Record<string, string | undefined> = process.env): ValidationConfig {
  const r = checkConfig(input, env);
  if (r.problems.length || !r.config) throw configError(r.problems.join('; '));
  return r.config;
}

/**
 * Every problem of a config document at once (missing variables, the schema's findings, cross-references),
 * each naming its path. With `deferVariables`, a value holding a `${VAR}` reference is left to be checked
 * when the variable is known (at synth the variables are the deployed function's, not the synth machine's):
 * everything else is checked as at run time. `config` is the parsed config when it was complete.
 */
export function checkConfig(
  input: unknown,
  env: Record<string, string | undefined>,
  opts: { deferVariables?: boolean } = {},
): { problems: string[]; config?: ValidationConfig } {
  const missing: Array<{ path: (string | number)[]; message: string }> = [];
  const deferred: string[] = [];
  const interpolated = interpolate(input, opts.deferVariables ? {} : env, [], missing, opts.deferVariables ? deferred : undefined);
  const r = validationConfigSchema.safeParse(interpolated);
  const at = (p: readonly PropertyKey[]) => formatPath(p as (string | number)[]);
  // a value emptied by a missing variable is reported once, as the missing variable; a deferred one not at all
  const skip = new Set([...missing.map((m) => at(m.path)), ...deferred]);
  const problems = [
    ...missing.map((m) => `${at(m.path)}: ${m.message}`),
    ...(r.success ? [] : r.error.issues.filter((i) => !skip.has(at(i.path))).map((i) => (i.path.length ? `${at(i.path)}: ${i.message}` : i.message))),
    ...crossReferences(interpolated).filter((m) => !skip.has(at(m.path))).map((m) => `${at(m.path)}: ${m.message}`),
  ];
  // (no problems and no config: every finding was at a deferred value)
  if (problems.length || !r.success) return { problems: [...new Set(problems)] };
  return { problems: [], config: { ...r.data, checks: r.data.checks.map((c, i) => ({ ...c, name: c.name ?? defaultCheckName(c.kind, i) })) } };
}

/** Parse config text: JSON when the file ends in .json or the text starts with `{`, YAML otherwise. */
export function parseConfigText(text: string, filename = 'config', env: Record<string, string | undefined> = process.env): ValidationConfig {
  return validateConfig(parseConfigDocument(text, filename), env);
}

/**
 * The config file as a document (JSON or YAML), before env interpolation and the schema (preflight reads the
 * same file). The AWS validation Lambda is bundled without the YAML parser (MM_BUNDLE_OMIT_YAML: its construct
 * turns the YAML into JSON at synth), so there a YAML text is refused, saying how to give JSON.
 */
export function parseConfigDocument(text: string, filename = 'config'): unknown {
  let doc: unknown;
  const asJson = /\.json$/i.test(filename) || /^\s*\{/.test(text);
  try {
    if (asJson) doc = JSON.parse(text);
    // if/else, not an early throw: esbuild drops a dead `else`, and with it the YAML parser
    else if (process.env.MM_BUNDLE_OMIT_YAML === 'true') doc = notBundledYaml(filename);
    else doc = (require('yaml') as typeof import('yaml')).parse(text, { prettyErrors: true });
  } catch (e) {
    if (isDomainError(e)) throw e;
    const msg = e instanceof Error && e.name === 'YAMLParseError' ? e.message.split('\n')[0] : (e as Error).message;
    throw configError(`${filename} is not valid ${asJson ? 'JSON' : 'YAML'}: ${msg}`);
  }
  if (doc === null || doc === undefined) throw configError(`${filename} is empty`);
  return doc;
}

const notBundledYaml = (filename: string): never => {
  throw configError(
    `${filename} is not JSON, and this bundle reads the config as JSON only (the YAML parser is left out of the AWS validation Lambda): ` +
      'give the file to the construct (configFile; -c validationConfigFile=checks.yaml), which checks it and hands it over as JSON at synth, or store the config as JSON',
  );
};

/**
 * A config file made ready for a deployed function that reads JSON only (the AWS validation Lambda), at synth:
 * parsed (YAML or JSON), checked by the one schema with every value that holds no `${VAR}` reference (those are
 * the function's variables, resolved and checked when it runs), and given back as JSON with the connector
 * types it uses (the drivers its bundle needs). A bad config throws, each problem with its path.
 */
export function configForDeployment(text: string, filename: string): { json: string; connectorTypes: ConnectorType[] } {
  const doc = parseConfigDocument(text, filename);
  const r = checkConfig(doc, {}, { deferVariables: true });
  const connectors = Object.entries(((doc as Record<string, unknown>)['connectors'] ?? {}) as Record<string, { type?: unknown }>);
  // the schema checks a written-out type; one from a variable would leave the bundle without its driver
  const unnamed = connectors.filter(([, c]) => typeof c.type === 'string' && c.type.includes('${')).map(([n]) => `connectors.${n}.type: write the type out, not as a variable (the bundle carries the drivers of the types the config names)`);
  const problems = [...new Set([...r.problems, ...unnamed])];
  if (problems.length) throw configError(`${filename}: ${problems.join('; ')}`);
  return { json: JSON.stringify(doc), connectorTypes: CONNECTOR_TYPES.filter((t) => connectors.some(([, c]) => c.type === t)) };
}

/** Every `${VAR}` reference of a config document, where it is and whether it has a `:-default`. */
export function configVariables(doc: unknown, path: (string | number)[] = []): Array<{ name: string; path: string; optional: boolean }> {
  if (typeof doc === 'string') return [...doc.matchAll(ENV_REF)].map((m) => ({ name: m[1]!, path: formatPath(path), optional: m[2] !== undefined }));
  if (Array.isArray(doc)) return doc.flatMap((x, i) => configVariables(x, [...path, i]));
  if (doc && typeof doc === 'object') return Object.entries(doc as Record<string, unknown>).flatMap(([k, x]) => configVariables(x, [...path, k]));
  return [];
}

/** `${VAR}` / `${VAR:-default}` replaced from `env`; every unset variable is listed in `problems`. */
export function interpolateEnv(doc: unknown, env: Record<string, string | undefined>, problems: string[]): unknown {
  const found: Array<{ path: (string | number)[]; message: string }> = [];
  const value = interpolate(doc, env, [], found);
  for (const p of found) problems.push(p.path.length ? `${p.path.join('.')}: ${p.message}` : p.message);
  return value;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function interpolate(
  v: unknown,
  env: Record<string, string | undefined>,
  path: (string | number)[],
  problems: Array<{ path: (string | number)[]; message: string }>,
  deferred?: string[],
): unknown {
  if (typeof v === 'string') {
    if (deferred && new RegExp(ENV_REF.source).test(v)) {
      deferred.push(formatPath(path));
      return v;
    }
    return v.replace(ENV_REF, (_m, varName: string, dflt: string | undefined) => {
      const val = env[varName];
      if (val !== undefined && val !== '') return val;
      if (dflt !== undefined) return dflt;
      problems.push({ path, message: `environment variable ${varName} is not set` });
      return '';
    });
  }
  if (Array.isArray(v)) return v.map((x, i) => interpolate(x, env, [...path, i], problems, deferred));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, interpolate(x, env, [...path, k], problems, deferred)]));
  }
  return v;
}

const formatPath = (p: (string | number)[]) => p.map((x, i) => (typeof x === 'number' ? `[${x}]` : i === 0 ? x : `.${x}`)).join('') || '(root)';

/** The success-rate threshold a data check uses. */
export const successThreshold = (c: { successRate?: number }, cfg: ValidationConfig): number => c.successRate ?? cfg.options.successRate;
