import { isAbsolute, resolve } from 'node:path';
import { runValidation, type ValidationDeps } from '../core/validation/engine';
import type { ValidationReport } from '../core/validation/result';
import { TrackerReporter, type TrackerPort } from '../core/validation/tracker-reporter';
import { DomainError } from '../core/errors';
import { CONNECTOR_TYPES, type ConnectorConfig, type ConnectorType, type ValidationConfig } from '../core/validation/config';
import type { SourceConnector } from '../core/validation/connector';
import type { MetricsSink, ResourceChecker, ValidationObserver } from '../core/validation/ports';
import { isGateCheck } from '../core/validation/gate';
import { FileCheckpointStore } from '../adapters/file/checkpoint-file';
import { FileSpooler } from '../adapters/file/sorted-spool';

/**
 * Composition root of a validation run: connectors by `type`, resource checkers, checkpoint store and
 * spooler. Shared by the CLI, the Lambda handler and the Cloud Run handler. Cloud SDKs and drivers are
 * loaded only when a config uses them.
 */
export interface ValidationRuntimeOptions {
  /** Relative file paths in the config resolve against this (the config file's directory). */
  baseDir?: string;
  /** Checkpoints directory (enables --resume). */
  checkpointDir?: string;
  /** Where the external sort spills (default the OS temp dir). */
  spoolDir?: string;
  metrics?: MetricsSink;
  observer?: ValidationObserver;
  /** Replace resource checkers (tests, or another runtime's credentials). */
  resources?: { aws?: ResourceChecker; gcp?: ResourceChecker };
}

export function createConnector(name: string, cfg: ConnectorConfig, baseDir = process.cwd()): SourceConnector {
  switch (cfg.type) {
    case 'file': {
      const { FileConnector } = require('../adapters/file/file-connector') as typeof import('../adapters/file/file-connector');
      return new FileConnector({ ...cfg, path: isAbsolute(cfg.path) ? cfg.path : resolve(baseDir, cfg.path) });
    }
    case 'postgres': {
      // if/else so esbuild drops the driver when the bundle is built without it (see bundledConnector below)
      if (process.env.MM_BUNDLE_OMIT_POSTGRES === 'true') throw notBundled([{ connector: name, type: cfg.type }]);
      else {
        const { PgConnector } = require('../adapters/sql/pg-connector') as typeof import('../adapters/sql/pg-connector');
        return new PgConnector(cfg);
      }
    }
    case 'dynamodb': {
      const { DynamoDbConnector } = require('../adapters/aws/dynamodb-connector') as typeof import('../adapters/aws/dynamodb-connector');
      return new DynamoDbConnector(cfg);
    }
    case 'redis': {
      if (process.env.MM_BUNDLE_OMIT_REDIS === 'true') throw notBundled([{ connector: name, type: cfg.type }]);
      else {
        const { RedisConnector } = require('../adapters/redis/redis-connector') as typeof import('../adapters/redis/redis-connector');
        return new RedisConnector(cfg);
      }
    }
    case 'http-json': {
      const { HttpJsonConnector } = require('../adapters/http/http-json-connector') as typeof import('../adapters/http/http-json-connector');
      return new HttpJsonConnector(cfg);
    }
    default: {
      const never: never = cfg;
      throw new Error(`connector "${name}": unknown type ${JSON.stringify((never as { type: string }).type)}`);
    }
  }
}

/**
 * Whether this build carries the driver of a connector type. Always true from source (CLI, tests, Cloud
 * Run); a Lambda bundle built by ValidationFunction carries only the types its `connectors` prop names
 * (the PostgreSQL and Redis drivers are most of a validation bundle's size). The literal
 * `process.env.MM_BUNDLE_OMIT_*` reads are what the esbuild defines replace.
 */
export function bundledConnector(type: ConnectorType): boolean {
  switch (type) {
    case 'postgres':
      return process.env.MM_BUNDLE_OMIT_POSTGRES !== 'true';
    case 'redis':
      return process.env.MM_BUNDLE_OMIT_REDIS !== 'true';
    default:
      return true;
  }
}

const notBundled = (missing: Array<{ connector: string; type: string }>) => {
  const types = [...new Set(missing.map((m) => m.type))];
  // what this bundle carries plus what the config needs, in the usual order
  const wanted = CONNECTOR_TYPES.filter((t) => bundledConnector(t) || types.includes(t));
  return new DomainError(
    'validation_failed',
    `connector type(s) ${types.join(', ')} (used by ${missing.map((m) => `"${m.connector}"`).join(', ')}) are not part of this validation bundle: ` +
      `add them to the stack's validation.connectors (-c validationConnectors=${wanted.join(',')}) and deploy again`,
  );
};

/** Refuse, before any check runs, a config whose connectors this build cannot open (one message naming all of them). */
export function assertConnectorsBundled(cfg: ValidationConfig): void {
  const missing = Object.entries(cfg.connectors)
    .filter(([, c]) => !bundledConnector(c.type))
    .map(([connector, c]) => ({ connector, type: c.type }));
  if (missing.length) throw notBundled(missing);
}

export function validationDeps(cfg: ValidationConfig, opts: ValidationRuntimeOptions = {}): ValidationDeps {
  return {
    createConnector: (name, c) => createConnector(name, c, opts.baseDir),
    resources: opts.resources ?? lazyResources(),
    spooler: new FileSpooler({ memoryRows: cfg.options.sortMemoryRows, dir: opts.spoolDir }),
    checkpoints: opts.checkpointDir ? new FileCheckpointStore(opts.checkpointDir) : undefined,
    metrics: opts.metrics,
    observer: opts.observer,
  };
}

/** AWS and GCP checkers, loaded on first use (their SDKs are large). */
function lazyResources(): { aws: ResourceChecker; gcp: ResourceChecker } {
  let aws: ResourceChecker | undefined;
  let gcp: ResourceChecker | undefined;
  return {
    aws: {
      check: (spec, signal) => {
        aws ??= new (require('../adapters/aws/resource-checks') as typeof import('../adapters/aws/resource-checks')).AwsResourceChecker();
        return aws.check(spec, signal);
      },
    },
    gcp: {
      check: (spec, signal) => {
        // Left out of the AWS Lambda bundles at bundle time (esbuild define, see lib/adapters/report-channels.ts).
        if (process.env.MM_BUNDLE_OMIT_GCP === 'true') throw new Error('gcp-resource checks are not part of this AWS Lambda bundle: run them from the CLI or the GCP validation handler');
        else gcp ??= new (require('../adapters/gcp/resource-checks') as typeof import('../adapters/gcp/resource-checks')).GcpResourceChecker();
        return gcp.check(spec, signal);
      },
    },
  };
}

export interface ValidationRunOptions extends ValidationRuntimeOptions {
  resume?: boolean;
  runId?: string;
  signal?: AbortSignal;
  /** Post the run to the tracker (phase progress, record_validation). */
  tracker?: { client: TrackerPort; url: string; migrationId?: string };
}

/** Run a parsed config with the standard adapters, posting to the tracker when one is given. */
export async function runConfiguredValidation(cfg: ValidationConfig, opts: ValidationRunOptions = {}): Promise<ValidationReport> {
  assertConnectorsBundled(cfg);
  const reporter = opts.tracker
    ? new TrackerReporter(opts.tracker.client, {
        url: opts.tracker.url,
        migrationId: opts.tracker.migrationId,
        phase: cfg.tracker.phase,
        completePhaseOnPass: cfg.tracker.completePhaseOnPass,
        gate: cfg.options.gate,
        gateChecks: cfg.checks.filter((c) => isGateCheck(c, cfg.options)).map((c) => c.name),
      })
    : undefined;
  const report = await runValidation(cfg, validationDeps(cfg, { ...opts, observer: reporter ?? opts.observer }), { resume: opts.resume, runId: opts.runId, signal: opts.signal });
  if (reporter) report.tracker = await reporter.finish(report);
  return report;
}
