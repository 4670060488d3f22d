import { chunks, keyId, type Key, type Row, type SourceConnector } from '../connector';
import { successThreshold } from '../config';
import { BottomK } from '../hash';
import { duplicateKey, keyShape } from '../streams';
import { DiffTally } from '../tally';
import { CheckError } from '../result';
import { fmtPct, type CheckRunner } from './context';

/**
 * Sampled record comparison: the seeded sample of source keys is fetched from both sides and compared
 * (missing, changed, vectors by L2); optionally a seeded sample of target keys is looked up in the source
 * (orphans). Passes when the success rate reaches the threshold (default 99%).
 */
export const sampleCheck: CheckRunner<'sample'> = async (c, ctx) => {
  const source = ctx.connector(c.source);
  const target = ctx.connector(c.target);
  const limit = ctx.config.options.maxReportedKeys;
  const tally = new DiffTally(c, limit);

  const { keys, method } = await sampleKeys(source, c.sampleSize, c.seed, ctx.signal);
  const [srcRows, tgtRows] = await Promise.all([getAll(source, keys, ctx.signal), getAll(target, keys, ctx.signal)]);
  let vanished = 0;
  for (const k of keys) {
    const s = srcRows.get(keyId(k));
    if (!s) {
      vanished += 1; // deleted from the source between sampling and reading: nothing to compare
      continue;
    }
    tally.pair(k, s, tgtRows.get(keyId(k)));
  }

  let orphanProbe: Record<string, unknown> | undefined;
  if (c.orphanSampleSize > 0) {
    const t = await sampleKeys(target, c.orphanSampleSize, c.seed, ctx.signal);
    const inSource = await getAll(source, t.keys, ctx.signal);
    for (const k of t.keys) {
      if (inSource.has(keyId(k))) tally.present();
      else tally.pair(k, undefined, { key: k, data: {} });
    }
    orphanProbe = { sampled: t.keys.length, method: t.method };
  }

  const threshold = successThreshold(c, ctx.config);
  const rate = tally.successRate();
  const passed = rate >= threshold && tally.s.compared > 0;
  ctx.metrics.record({ metric: 'ValidationSuccessRate', labels: { Check: c.name }, value: rate, mode: 'set' });
  tally.emitViolations(ctx.metrics);
  const s = tally.s;
  return {
    passed,
    summary:
      s.compared === 0
        ? 'nothing to compare: the source sample is empty'
        : `${fmtPct(rate)} of ${s.compared} sampled records match (threshold ${fmtPct(threshold)}): ${s.missing} missing, ${s.changed} changed, ${s.orphans} orphans` +
          (c.vector ? `, max L2 ${s.maxVectorDistance.toPrecision(3)}` : ''),
    evidence: {
      seed: c.seed,
      sampleSize: c.sampleSize,
      sampled: keys.length,
      sampleMethod: method,
      vanishedFromSource: vanished,
      ...(orphanProbe ? { orphanProbe } : {}),
      threshold,
      ...tally.evidence(),
    },
  };
};

/** The seeded sample: pushed down when the connector can, else the bottom-k of a key scan (same answer). */
export async function sampleKeys(c: SourceConnector, n: number, seed: string, signal?: AbortSignal): Promise<{ keys: Key[]; method: string }> {
  if (c.sampleKeys) return { keys: await c.sampleKeys(n, seed, signal), method: 'pushdown' };
  const bk = new BottomK(n, seed);
  for await (const batch of c.scan({ batchSize: 5000, keysOnly: true, signal })) for (const r of batch) bk.add(r.key);
  return { keys: bk.keys(), method: 'scan' };
}

/**
 * Fetch rows by key in batches the connector accepts; a map by `keyId`. Two rows answered for one key are an
 * error naming the key: the configured key is not unique on that side, and comparing either row would be a guess.
 */
export async function getAll(c: SourceConnector, keys: Key[], signal?: AbortSignal): Promise<Map<string, Row>> {
  const out = new Map<string, Row>();
  for (const part of chunks(keys, c.maxGetBatch ?? 500)) {
    signal?.throwIfAborted();
    for (const r of await c.get(part, signal)) {
      if (keyShape(r.key) !== keyShape(part[0]!)) {
        throw new CheckError(`${c.label} answered ${keyShape(r.key)} keys for ${keyShape(part[0]!)} keys (e.g. ${JSON.stringify(r.key)}): set the same key columns and keyType on both connectors`);
      }
      const id = keyId(r.key);
      if (out.has(id)) throw duplicateKey(c.label, r.key);
      out.set(id, r);
    }
  }
  return out;
}
