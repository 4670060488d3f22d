import { ROW_HASH, type Key } from '../connector';
import { mergeJoin, orderedReader } from '../streams';
import { DifferingRows, hashReader, sharedRowHash } from './row-hashes';
import { DiffTally, type TallyState } from '../tally';
import { exactPct, type CheckRunner } from './context';

interface DiffState {
  /** Every key <= this has been compared on both sides. */
  after?: Key;
  tally: TallyState;
}

/**
 * Full streaming comparison: both sides in key order (unordered connectors are sorted with bounded memory),
 * merge-joined; finds every missing, orphan and changed record. Saves its position every `checkpointEvery`
 * records, so an interrupted run resumes after the last saved key.
 */
export const diffCheck: CheckRunner<'diff'> = async (c, ctx) => {
  const limit = ctx.config.options.maxReportedKeys;
  const resume = ctx.resumeState as DiffState | undefined;
  const tally = new DiffTally(c, limit, resume?.tally);
  const range = resume?.after === undefined ? {} : { after: resume.after };
  const sc = ctx.connector(c.source);
  const tc = ctx.connector(c.target);
  const sel = { fields: c.fields, ignore: c.ignore };
  // both sides hash rows the same way (PostgreSQL ↔ PostgreSQL): stream keys and row hashes, read full rows
  // only where the hashes differ (and compare those with the vector epsilon and number tolerance)
  const hs = await sharedRowHash(sc, tc, sel, ctx.signal);
  const hashFirst = hs !== null;
  const fetcher = new DifferingRows(sc, tc, tally, ctx.signal);
  const flush = () => fetcher.flush();
  const src = hashFirst ? hashReader(sc, sel) : await orderedReader(sc, ctx.spooler, c.batchSize, ctx.signal);
  let sinceSave = 0;
  let last: Key | undefined = resume?.after;
  try {
    const tgt = hashFirst ? hashReader(tc, sel) : await orderedReader(tc, ctx.spooler, c.batchSize, ctx.signal);
    try {
      for await (const pairs of mergeJoin(src.scan(range, c.batchSize, { signal: ctx.signal }), tgt.scan(range, c.batchSize, { signal: ctx.signal }))) {
        for (const p of pairs) {
          if (hashFirst && p.src && p.tgt) {
            if (p.src.data[ROW_HASH] === p.tgt.data[ROW_HASH]) tally.identical();
            else fetcher.pending.push(p.key);
          } else tally.pair(p.key, p.src, p.tgt);
          last = p.key;
          if (++sinceSave >= c.checkpointEvery) {
            sinceSave = 0;
            ctx.signal?.throwIfAborted();
            await flush();
            await ctx.saveState({ after: last, tally: tally.s } satisfies DiffState);
          }
        }
        if (fetcher.pending.length >= c.batchSize) await flush();
      }
      await flush();
    } finally {
      await tgt.close();
    }
  } finally {
    await src.close();
  }

  // A full comparison saw every record: it is judged by its counts, never by a rate (a rate is for samples).
  const rate = tally.successRate();
  const s = tally.s;
  const reasons: string[] = [];
  if (s.missing > c.maxMissing) reasons.push(`${s.missing} missing > ${c.maxMissing} allowed`);
  if (s.orphans > c.maxOrphans) reasons.push(`${s.orphans} orphans > ${c.maxOrphans} allowed`);
  if (s.changed > c.maxChanged) reasons.push(`${s.changed} changed > ${c.maxChanged} allowed`);
  ctx.metrics.record({ metric: 'ValidationSuccessRate', labels: { Check: c.name }, value: rate, mode: 'set' });
  tally.emitViolations(ctx.metrics);
  return {
    passed: reasons.length === 0,
    summary:
      `${s.matched} of ${s.compared} records match (${exactPct(rate, s.matched === s.compared)}): ${s.missing} missing, ${s.changed} changed, ${s.orphans} orphans` +
      (c.vector ? `, max L2 ${s.maxVectorDistance.toPrecision(3)}` : '') +
      (reasons.length ? ` (${reasons.join('; ')})` : ''),
    evidence: { mode: hashFirst ? 'row hashes compared, differing rows read' : 'rows compared', ...(hashFirst ? { rowHash: hs, rowsFetched: fetcher.rowsFetched } : {}), allowed: { missing: c.maxMissing, orphans: c.maxOrphans, changed: c.maxChanged }, resumedAfter: resume?.after ?? null, lastKey: last ?? null, ...tally.evidence() },
  };
};
