import type { CheckKind } from '../config';
import { checksumCheck } from './checksum';
import type { CheckRunner } from './context';
import { countCheck } from './count';
import { diffCheck } from './diff';
import { awsResourceCheck, gcpResourceCheck, httpCheck, latencyCheck, tcpCheck } from './probes';
import { sampleCheck } from './sample';
import { schemaCheck } from './schema';

/** Every check kind and the function that runs it. Add a kind: schema in config.ts, runner here. */
export const CHECK_RUNNERS: { [K in CheckKind]: CheckRunner<K> } = {
  latency: latencyCheck,
  http: httpCheck,
  tcp: tcpCheck,
  'aws-resource': awsResourceCheck,
  'gcp-resource': gcpResourceCheck,
  count: countCheck,
  checksum: checksumCheck,
  sample: sampleCheck,
  diff: diffCheck,
  schema: schemaCheck,
};

/** What a check will do, one line (for --dry-run). */
export function describeCheck(c: import('../config').CheckConfig): string {
  switch (c.kind) {
    case 'latency':
      return `${c.requests} ${c.method} requests to ${c.url} (concurrency ${c.concurrency}), ${c.percentile} <= ${c.thresholdMs} ms`;
    case 'http':
      return `${c.method} ${c.url} answers ${c.expectStatus?.join('/') ?? '2xx/3xx'}${c.bodyContains ? ` containing ${JSON.stringify(c.bodyContains)}` : ''}`;
    case 'tcp':
      return `TCP connect to ${c.host}:${c.port}`;
    case 'aws-resource':
    case 'gcp-resource':
      return `${c.resource} "${c.resourceName}" exists and is ready`;
    case 'count':
      return `record counts of ${c.source} and ${c.target} within ${c.tolerance}`;
    case 'checksum':
      return `checksums of ${c.source} vs ${c.target}, bisecting into ${c.segments} segments down to ${c.leafRows} rows`;
    case 'sample':
      return `${c.sampleSize} records sampled from ${c.source} (seed ${c.seed}) compared with ${c.target}${c.orphanSampleSize ? `, ${c.orphanSampleSize} target keys probed for orphans` : ''}`;
    case 'diff':
      return `every record of ${c.source} vs ${c.target} (streamed, checkpoint every ${c.checkpointEvery})`;
    case 'schema':
      return `schema of ${c.source} vs ${c.target}${c.tables ? ` (tables ${c.tables.join(', ')})` : ''}${c.foreignKeyOrphans ? ', with foreign-key orphan rows' : ''}`;
  }
}
