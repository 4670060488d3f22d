import { describeRange, ROW_HASH, type Key, type KeyRange, type RangeChecksum, type SourceConnector } from '../connector';
import { ChecksumAccumulator, type FieldSelection } from '../hash';
import { mergeJoin, orderedReader, type RangeReader } from '../streams';
import { DiffTally } from '../tally';
import type { CheckRunner } from './context';
import type { MetricsSink } from '../ports';
import { DifferingRows, hashReader, sharedRowHash } from './row-hashes';

interface Side {
  conn: SourceConnector;
  reader: RangeReader;
}

/**
 * Hash-and-bisect: compare checksums of the whole key range; where they differ, split the range into
 * `segments` parts and recurse, down to ranges of at most `leafRows` rows, which are compared row by row.
 * Checksums are computed by the database when both connectors push down the same kind (PostgreSQL ↔
 * PostgreSQL), else by the engine from a scan. Evidence lists the mismatching ranges and keys.
 */
export const checksumCheck: CheckRunner<'checksum'> = async (c, ctx) => {
  const sel: FieldSelection = { fields: c.fields, ignore: c.ignore };
  const limit = ctx.config.options.maxReportedKeys;
  const tally = new DiffTally(c, limit);
  const stats = { checksums: 0, rangesCompared: 0, rowsFetched: 0, depthReached: 0, withinTolerance: 0 };
  const mismatchingRanges: Array<Record<string, unknown>> = [];

  const sc = ctx.connector(c.source);
  const tc = ctx.connector(c.target);
  const rowHash = c.strategy === 'auto' ? await sharedRowHash(sc, tc, sel, ctx.signal) : null;
  if (rowHash) {
    // one pass per side: keys and row hashes merged in key order, full rows read only where hashes differ
    const fetcher = new DifferingRows(sc, tc, tally, ctx.signal);
    for await (const pairs of mergeJoin(hashReader(sc, sel).scan({}, c.batchSize, { signal: ctx.signal }), hashReader(tc, sel).scan({}, c.batchSize, { signal: ctx.signal }))) {
      for (const p of pairs) {
        if (p.src && p.tgt && p.src.data[ROW_HASH] === p.tgt.data[ROW_HASH]) tally.identical();
        else if (p.src && p.tgt) fetcher.pending.push(p.key);
        else tally.pair(p.key, p.src, p.tgt);
      }
      if (fetcher.pending.length >= c.batchSize) await fetcher.flush();
    }
    await fetcher.flush();
    const { problems, passed, found } = settle(tally, c.maxMismatches, ctx.metrics);
    return {
      passed,
      summary:
        problems === 0
          ? `row hashes match over ${tally.s.compared} records (computed by the databases)`
          : `${problems} differing records: ${tally.s.missing} missing, ${tally.s.changed} changed, ${tally.s.orphans} orphans` + (passed ? '' : ` (over the ${c.maxMismatches} allowed)`),
      evidence: { mode: 'row hashes', checksumKind: rowHash, records: tally.s.compared, ...found, rowsFetched: fetcher.rowsFetched },
    };
  }
  const [ps, pt] = await Promise.all([sc.checksum?.({}, sel, ctx.signal) ?? null, tc.checksum?.({}, sel, ctx.signal) ?? null]);
  const pushdown = ps !== null && pt !== null && ps.kind === pt.kind;
  const src: Side = { conn: sc, reader: await orderedReader(sc, ctx.spooler, c.batchSize, ctx.signal) };
  let tgt: Side | undefined;
  try {
    tgt = { conn: tc, reader: await orderedReader(tc, ctx.spooler, c.batchSize, ctx.signal) };
    const sides = tgt;

    const checksum = async (side: Side, range: KeyRange): Promise<RangeChecksum> => {
      stats.checksums += 1;
      if (pushdown) return (await side.conn.checksum!(range, sel, ctx.signal))!;
      const acc = new ChecksumAccumulator(sel);
      for await (const b of side.reader.scan(range, c.batchSize, { signal: ctx.signal })) for (const r of b) acc.add(r.key, r.data);
      return acc.result();
    };

    const splitPoints = async (side: Side, range: KeyRange, count: number): Promise<Key[]> => {
      if (pushdown && side.conn.splitPoints) return side.conn.splitPoints(range, c.segments, ctx.signal);
      const step = Math.ceil(count / c.segments);
      const out: Key[] = [];
      let i = 0;
      for await (const b of side.reader.scan(range, c.batchSize, { keysOnly: true, signal: ctx.signal })) {
        for (const r of b) if (++i % step === 0 && i < count) out.push(r.key);
      }
      return out;
    };

    const leaf = async (range: KeyRange, cs: RangeChecksum, ct: RangeChecksum) => {
      const before = { m: tally.s.missing, o: tally.s.orphans, c: tally.s.changed };
      for await (const pairs of mergeJoin(src.reader.scan(range, c.batchSize, { signal: ctx.signal }), sides.reader.scan(range, c.batchSize, { signal: ctx.signal }))) {
        for (const p of pairs) {
          stats.rowsFetched += (p.src ? 1 : 0) + (p.tgt ? 1 : 0);
          tally.pair(p.key, p.src, p.tgt);
        }
      }
      const found = { missing: tally.s.missing - before.m, orphans: tally.s.orphans - before.o, changed: tally.s.changed - before.c };
      if (found.missing + found.orphans + found.changed === 0) stats.withinTolerance += 1;
      else if (mismatchingRanges.length < limit) mismatchingRanges.push({ range: describeRange(range), sourceRows: cs.count, targetRows: ct.count, ...found });
    };

    const visit = async (range: KeyRange, depth: number, cs: RangeChecksum, ct: RangeChecksum): Promise<void> => {
      stats.rangesCompared += 1;
      stats.depthReached = Math.max(stats.depthReached, depth);
      if (cs.count === ct.count && cs.digest === ct.digest) return;
      if (Math.max(cs.count, ct.count) <= c.leafRows || depth >= c.maxDepth) return leaf(range, cs, ct);
      const bigger = cs.count >= ct.count ? src : sides;
      const points = await splitPoints(bigger, range, Math.max(cs.count, ct.count));
      if (!points.length) return leaf(range, cs, ct);
      const bounds: Array<Key | undefined> = [range.after, ...points, range.through];
      for (let i = 0; i + 1 < bounds.length; i++) {
        const sub: KeyRange = { ...(bounds[i] !== undefined ? { after: bounds[i] } : {}), ...(bounds[i + 1] !== undefined ? { through: bounds[i + 1] } : {}) };
        const [a, b] = await Promise.all([checksum(src, sub), checksum(sides, sub)]);
        await visit(sub, depth + 1, a, b);
      }
    };

    const [rs, rt] = pushdown ? [ps!, pt!] : await Promise.all([checksum(src, {}), checksum(sides, {})]);
    if (pushdown) stats.checksums += 2;
    await visit({}, 0, rs, rt);

    const { problems, passed, found } = settle(tally, c.maxMismatches, ctx.metrics);
    return {
      passed,
      summary:
        rs.count === rt.count && rs.digest === rt.digest
          ? `checksums match over ${rs.count} records (${pushdown ? 'computed by the database' : 'computed by the engine'})`
          : `${problems} differing records in ${mismatchingRanges.length}${mismatchingRanges.length >= limit ? '+' : ''} ranges: ${tally.s.missing} missing, ${tally.s.changed} changed, ${tally.s.orphans} orphans` +
            (stats.withinTolerance ? ` (${stats.withinTolerance} ranges differ only within tolerance)` : '') +
            (passed ? '' : ` (over the ${c.maxMismatches} allowed)`),
      evidence: {
        mode: pushdown ? 'pushdown' : 'engine',
        checksumKind: pushdown ? rs.kind : 'engine-md5-v1',
        sourceCount: rs.count,
        targetCount: rt.count,
        ...found,
        mismatchingRanges,
        ...stats,
      },
    };
  } finally {
    await src.reader.close();
    await tgt?.reader.close();
  }
};

/** The verdict of a finished comparison: its problems against the allowance, violations emitted, the evidence without the ratios. */
function settle(tally: DiffTally, maxMismatches: number, metrics: MetricsSink) {
  const problems = tally.problems;
  tally.emitViolations(metrics);
  const { compared: _c, matched: _m, successRate: _r, ...found } = tally.evidence();
  return { problems, passed: problems <= maxMismatches, found };
}
