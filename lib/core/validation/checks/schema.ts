import { CheckError } from '../result';
import { compareSchemas, type SchemaDifference } from '../schema';
import type { CheckRunner } from './context';

/**
 * Schema comparison: both sides describe their objects (PostgreSQL columns with types, nullability and
 * defaults, primary/unique/foreign keys, check constraints, indexes, sequences; DynamoDB key schema, GSIs,
 * LSIs, TTL, PITR). Fails on any object missing, extra or changed on the target, on a target sequence behind
 * the largest id it numbers, and (foreignKeyOrphans) on target rows whose source-defined foreign key has no
 * parent row.
 */
export const schemaCheck: CheckRunner<'schema'> = async (c, ctx) => {
  const sc = ctx.connector(c.source);
  const tc = ctx.connector(c.target);
  if (!sc.describeSchema || !tc.describeSchema) {
    throw new CheckError(`the schema check compares PostgreSQL or DynamoDB connectors: ${!sc.describeSchema ? sc.label : tc.label} cannot describe its schema`);
  }
  const opts = { ...(c.tables ? { tables: c.tables } : {}) };
  const [s, t] = await Promise.all([sc.describeSchema(opts, ctx.signal), tc.describeSchema(opts, ctx.signal)]);
  const ignored = new Set<string>(c.ignoreKinds);
  const keep = (o: { kind: string }) => !ignored.has(o.kind);
  const differences: SchemaDifference[] = compareSchemas(
    { ...s, objects: s.objects.filter(keep) },
    { ...t, objects: t.objects.filter(keep), sequences: ignored.has('sequence') ? [] : t.sequences },
  );
  let orphanChecks = 0;
  if (c.foreignKeyOrphans) {
    if (!tc.foreignKeyOrphans) throw new CheckError(`${tc.label} cannot look for foreign-key orphans`);
    for (const fk of s.foreignKeys) {
      ctx.signal?.throwIfAborted();
      orphanChecks += 1;
      const o = await tc.foreignKeyOrphans(fk, 5, ctx.signal);
      if (o.count > 0) {
        differences.push({
          object: `rows ${fk.table} → ${fk.refTable}`,
          problem: 'orphan rows',
          detail: `${o.count} rows of ${fk.table} (${fk.columns.join(', ')}) have no parent in ${fk.refTable}, e.g. ${o.examples.map((x) => JSON.stringify(x)).join(', ')}`,
        });
      }
    }
  }
  const limit = ctx.config.options.maxReportedKeys;
  const by = (p: SchemaDifference['problem']) => differences.filter((d) => d.problem === p).length;
  const counts = { missing: by('missing'), extra: by('extra'), changed: by('changed'), sequencesBehind: by('sequence behind'), orphanRows: by('orphan rows') };
  return {
    passed: differences.length === 0,
    summary: differences.length
      ? `${differences.length} schema differences: ${differences
          .slice(0, 5)
          .map((d) => `${d.object} ${d.problem}${d.problem === 'changed' ? ` (${d.detail})` : ''}`)
          .join('; ')}${differences.length > 5 ? '; …' : ''}`
      : `schemas match: ${s.objects.filter(keep).length} objects compared${orphanChecks ? `, ${orphanChecks} foreign keys without orphan rows` : ''}`,
    evidence: {
      source: s.scope,
      target: t.scope,
      objectsCompared: s.objects.filter(keep).length,
      ignoredKinds: c.ignoreKinds,
      ...counts,
      foreignKeysChecked: orphanChecks,
      differences: differences.slice(0, limit),
      differencesTruncated: differences.length > limit,
    },
  };
};
