import { ManualClock } from '../../../lib/core/clock';
import { validateConfig, type ValidationConfigInput } from '../../../lib/core/validation/config';
import { checkpointKey, runValidation, type ValidationDeps } from '../../../lib/core/validation/engine';
import type { CheckpointStore, RunCheckpoint } from '../../../lib/core/validation/ports';
import { renderMarkdown } from '../../../lib/core/validation/render';
import type { CheckResult } from '../../../lib/core/validation/result';
import { MemoryConnector, toRows } from '../../support/memory-connector';
import { byProblem, PLANTED, plantedData } from '../../support/planted';

class MemoryCheckpoints implements CheckpointStore {
  readonly data = new Map<string, RunCheckpoint>();
  saves = 0;
  async load(k: string) {
    const v = this.data.get(k);
    return v ? structuredClone(v) : null;
  }
  async save(k: string, cp: RunCheckpoint) {
    this.saves += 1;
    this.data.set(k, structuredClone(cp));
  }
  async clear(k: string) {
    this.data.delete(k);
  }
}

const { source, target } = plantedData();
const compare = { ignore: [], vector: { field: 'embedding', epsilon: PLANTED.epsilon } };

function setup(ordered: boolean) {
  const conns = {
    src: new MemoryConnector(toRows(source), ordered, 'src'),
    dst: new MemoryConnector(toRows(target), ordered, 'dst'),
  };
  const deps: ValidationDeps = { createConnector: (n) => conns[n as keyof typeof conns], clock: new ManualClock() };
  return { conns, deps };
}

const config = (checks: ValidationConfigInput['checks'], extra: Partial<ValidationConfigInput> = {}) =>
  validateConfig({ connectors: { src: { type: 'file', path: 'unused.jsonl', key: 'id' }, dst: { type: 'file', path: 'unused.jsonl', key: 'id' } }, checks, ...extra });

const check = (r: { checks: CheckResult[] }, name: string) => r.checks.find((c) => c.name === name)!;
const evidence = (r: { checks: CheckResult[] }, name: string) => check(r, name).evidence as Record<string, any>;

describe.each([true, false])('data checks on planted differences (ordered connectors: %s)', (ordered) => {
  it('diff finds exactly the missing, orphan and changed records', async () => {
    const { deps } = setup(ordered);
    const r = await runValidation(config([{ name: 'diff', kind: 'diff', source: 'src', target: 'dst', batchSize: 64, ...compare }]), deps);
    const e = evidence(r, 'diff');
    expect(byProblem(e.mismatches)).toEqual({ missing: [...PLANTED.missing], orphan: [...PLANTED.orphans], changed: [...PLANTED.changed] });
    expect(e).toMatchObject({ compared: 502, matched: 494, missing: 3, orphans: 2, changed: 3 });
    expect(e.vectors).toMatchObject({ overEpsilon: 1, compared: 497 });
    expect(e.vectors.maxDistance).toBeCloseTo(0.5, 5);
    expect(e.successRate).toBeCloseTo((494 / 502) * 100, 3);
    // a full comparison fails on any difference: no success-rate threshold can pass it by accident
    expect(check(r, 'diff').passed).toBe(false);
    expect(check(r, 'diff').summary).toMatch(/^494 of 502 records match \(98\.4\d*%\): 3 missing, 3 changed, 2 orphans/);
    expect(check(r, 'diff').summary).toMatch(/3 missing > 0 allowed; 2 orphans > 0 allowed; 3 changed > 0 allowed/);
    // only explicit allowances let differences through
    const r2 = await runValidation(config([{ name: 'diff', kind: 'diff', source: 'src', target: 'dst', maxMissing: 3, maxOrphans: 2, maxChanged: 3, ...compare }]), setup(ordered).deps);
    expect(r2.verdict).toBe('pass');
    const r3 = await runValidation(config([{ name: 'diff', kind: 'diff', source: 'src', target: 'dst', maxMissing: 3, maxOrphans: 2, maxChanged: 2, ...compare }]), setup(ordered).deps);
    expect(check(r3, 'diff').summary).toMatch(/3 changed > 2 allowed/);
    expect(r3.verdict).toBe('fail');
  });

  it('a success-rate threshold belongs to sampled checks: on a full diff it is refused, naming the allowances to use', () => {
    expect(() => config([{ name: 'diff', kind: 'diff', source: 'src', target: 'dst', successRate: 98, ...compare }])).toThrow(/successRate applies to sampled checks .*maxMissing, maxOrphans, maxChanged/);
  });

  it('checksum bisects down to the planted ranges and keys', async () => {
    const { deps } = setup(ordered);
    const r = await runValidation(config([{ name: 'sum', kind: 'checksum', source: 'src', target: 'dst', segments: 4, leafRows: 20, ...compare }]), deps);
    const e = evidence(r, 'sum');
    expect(byProblem(e.mismatches)).toEqual({ missing: [...PLANTED.missing], orphan: [...PLANTED.orphans], changed: [...PLANTED.changed] });
    expect(e.mode).toBe('engine');
    expect(e.withinTolerance).toBe(1); // the range holding record 88 differs only inside epsilon
    expect(e.mismatchingRanges.length).toBeGreaterThanOrEqual(5);
    for (const m of e.mismatchingRanges) expect(m.sourceRows + m.targetRows).toBeLessThanOrEqual(40);
    // only the mismatching ranges were compared row by row
    expect(e.rowsFetched).toBeLessThan(source.length / 2);
    expect(check(r, 'sum').passed).toBe(false);
  });

  it('sample compares a seeded sample and probes target keys for orphans', async () => {
    const { deps } = setup(ordered);
    const r = await runValidation(config([{ name: 's', kind: 'sample', source: 'src', target: 'dst', sampleSize: 500, seed: 1, orphanSampleSize: 600, ...compare }]), deps);
    const e = evidence(r, 's');
    expect(byProblem(e.mismatches)).toEqual({ missing: [...PLANTED.missing], orphan: [...PLANTED.orphans], changed: [...PLANTED.changed] });
    expect(e).toMatchObject({ sampled: 500, sampleMethod: 'scan', orphanProbe: { sampled: 499 } }); // the whole target (499 records)
  });
});

describe('sampling', () => {
  it('is seeded: same seed same sample, another seed another sample; 99% threshold by default', async () => {
    const run = async (seed: string) => {
      const r = await runValidation(config([{ name: 's', kind: 'sample', source: 'src', target: 'dst', sampleSize: 100, seed, ...compare }]), setup(true).deps);
      return evidence(r, 's');
    };
    const a = await run('a');
    const b = await run('a');
    const c = await run('b');
    expect(b.mismatches).toEqual(a.mismatches);
    expect(a.compared).toBe(100);
    expect(a.threshold).toBe(99);
    expect(JSON.stringify(c)).not.toEqual(JSON.stringify(a));
  });
});

describe('engine', () => {
  it('count with tolerance', async () => {
    const cfg = config([
      { name: 'exact', kind: 'count', source: 'src', target: 'dst' },
      { name: 'loose', kind: 'count', source: 'src', target: 'dst', tolerance: '1%' },
    ]);
    const r = await runValidation(cfg, setup(true).deps);
    expect(evidence(r, 'exact')).toMatchObject({ source: 500, target: 499, difference: -1 });
    expect(check(r, 'exact').passed).toBe(false);
    expect(check(r, 'loose').passed).toBe(true);
    expect(r.verdict).toBe('fail');
    expect(r.totals).toEqual({ checks: 2, passed: 1, failed: 1, notRun: 0 });
  });

  it('a check that cannot run fails with its error and the run goes on; failFast stops', async () => {
    const { conns, deps } = setup(true);
    conns.src.failAfterBatches = 0;
    const checks: ValidationConfigInput['checks'] = [
      { name: 'broken', kind: 'diff', source: 'src', target: 'dst', batchSize: 10 },
      { name: 'rows', kind: 'count', source: 'src', target: 'dst', tolerance: 5 },
    ];
    const r = await runValidation(config(checks), deps);
    expect(check(r, 'broken')).toMatchObject({ passed: false, error: expect.stringContaining('connection lost (simulated)') });
    expect(check(r, 'rows').passed).toBe(true);
    const ff = await runValidation(config(checks, { options: { failFast: true } }), deps);
    expect(ff.notRun).toEqual(['rows']);
    expect(ff.verdict).toBe('fail');
  });

  it('emits the monitoring-spec metrics', async () => {
    const emitted: string[] = [];
    const { deps } = setup(true);
    const r = await runValidation(config([{ name: 'd', kind: 'diff', source: 'src', target: 'dst', ...compare }]), {
      ...deps,
      metrics: { record: (o) => emitted.push(`${o.metric}${JSON.stringify(o.labels)}=${o.value}`) },
    });
    expect(emitted).toEqual(
      expect.arrayContaining([
        'ValidationChecks{"Check":"d","Result":"fail"}=1',
        'ValidationFailed{}=1',
        'VerificationViolations{"ViolationType":"missing"}=3',
        'VerificationViolations{"ViolationType":"orphan"}=2',
        'VerificationViolations{"ViolationType":"mismatch"}=2',
        'VerificationViolations{"ViolationType":"vector-distance"}=1',
      ]),
    );
    expect(emitted.some((m) => m.startsWith('ValidationSuccessRate{"Check":"d"}='))).toBe(true);
    expect(r.metrics.length).toBe(emitted.length);
  });

  it('resumes an interrupted diff after the last checkpoint, with the same result as an uninterrupted run', async () => {
    const cfg = config([
      { name: 'rows', kind: 'count', source: 'src', target: 'dst', tolerance: 5 },
      { name: 'd', kind: 'diff', source: 'src', target: 'dst', batchSize: 50, checkpointEvery: 100, ...compare },
    ]);
    const full = await runValidation(cfg, setup(true).deps);

    const cps = new MemoryCheckpoints();
    const first = setup(true);
    first.conns.src.failAfterBatches = 5; // dies after 250 source rows
    const broken = await runValidation(cfg, { ...first.deps, checkpoints: cps });
    expect(check(broken, 'd').error).toMatch(/connection lost.*run again with --resume/);
    const saved = cps.data.get(checkpointKey(cfg))!;
    expect(saved.done['rows']).toBeDefined();
    expect(saved.inProgress).toMatchObject({ check: 'd', state: { after: expect.any(Number) } });
    const after = (saved.inProgress!.state as { after: number }).after;
    expect(after).toBeGreaterThanOrEqual(200);

    const second = setup(true);
    const resumed = await runValidation(cfg, { ...second.deps, checkpoints: cps }, { resume: true });
    expect(resumed.resumed).toBe(true);
    expect(resumed.runId).toBe(broken.runId);
    expect(check(resumed, 'rows').resumed).toBe(true);
    expect(second.conns.src.calls.filter((c) => c.op === 'count')).toHaveLength(0); // finished check not re-run
    expect(second.conns.src.calls.find((c) => c.op === 'scan')).toMatchObject({ after });
    const strip = (e: Record<string, unknown>) => ({ ...e, resumedAfter: undefined });
    expect(strip(evidence(resumed, 'd'))).toEqual(strip(evidence(full, 'd')));
    expect(cps.data.size).toBe(0); // a completed run clears its checkpoint
  });

  it('does not resume a checkpoint written by another config', async () => {
    const cps = new MemoryCheckpoints();
    const a = config([{ name: 'rows', kind: 'count', source: 'src', target: 'dst' }]);
    const b = config([{ name: 'rows', kind: 'count', source: 'src', target: 'dst', tolerance: 1 }]);
    expect(checkpointKey(a)).not.toBe(checkpointKey(b));
    const r = await runValidation(b, { ...setup(true).deps, checkpoints: cps }, { resume: true });
    expect(r.resumed).toBe(false);
    expect(r.warnings[0]).toMatch(/nothing to resume/);
  });

  it('an abort stops the run, keeps the checkpoint and marks the rest not run', async () => {
    const cps = new MemoryCheckpoints();
    const ac = new AbortController();
    const cfg = config([
      { name: 'd', kind: 'diff', source: 'src', target: 'dst', batchSize: 10, checkpointEvery: 50 },
      { name: 'rows', kind: 'count', source: 'src', target: 'dst' },
    ]);
    const { deps } = setup(true);
    let saves = 0;
    const store: CheckpointStore = {
      load: (k) => cps.load(k),
      clear: (k) => cps.clear(k),
      save: async (k, cp) => {
        await cps.save(k, cp);
        if (cp.inProgress && ++saves === 2) ac.abort();
      },
    };
    const r = await runValidation(cfg, { ...deps, checkpoints: store }, { signal: ac.signal });
    expect(r).toMatchObject({ interrupted: true, verdict: 'fail', notRun: ['d', 'rows'] });
    expect(cps.data.get(checkpointKey(cfg))!.inProgress).toMatchObject({ check: 'd', state: { after: 100 } });
  });

  it('renders a markdown report with the verdict, the table and the mismatching keys', async () => {
    const r = await runValidation(config([{ name: 'd', kind: 'diff', source: 'src', target: 'dst', ...compare }]), setup(true).deps);
    const md = renderMarkdown(r);
    expect(md).toContain('# Validation FAILED');
    expect(md).toContain('| ❌ | d | diff |');
    expect(md).toContain('| `17` | missing |');
    expect(md).toContain('| `77` | changed | embedding | 0.5');
  });
});
