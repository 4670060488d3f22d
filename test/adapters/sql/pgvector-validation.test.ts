/**
 * Validation over real pgvector columns: two PGlite databases with the pgvector extension
 * (@electric-sql/pglite-pgvector), each a table `items (id integer, embedding vector(3), label text)`, read by the
 * PostgreSQL connector through node-postgres. Run in its own process (test/support/pgvector-validation.mts):
 * PGlite loads itself with a dynamic import, which jest's VM does not allow. Planted: id 99 missing from the
 * target, id 300 only in the target, id 42's vector moved by 0.5, id 7's by 1e-6 (float noise, within epsilon).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';

const SCRIPT = path.join(__dirname, '../../support/pgvector-validation.mts');

interface Check {
  name: string;
  passed: boolean;
  error?: string;
  evidence: Record<string, any>;
}

let out: { type: string; extension: string; checksumKind: string; report: { verdict: string; checks: Check[] } };
beforeAll(async () => {
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', SCRIPT], { cwd: path.join(__dirname, '../../..'), timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, so, se) =>
      err ? reject(new Error(`${SCRIPT} failed: ${err.message}\n${se.split('\n').filter((l) => !l.startsWith('data:')).slice(-20).join('\n')}`)) : resolve(so),
    ),
  );
  out = JSON.parse(stdout.trim().split('\n').at(-1)!);
}, 150_000);

const check = (name: string) => out.report.checks.find((c) => c.name === name)!;
const byProblem = (mismatches: Array<{ key: number; problem: string }>) =>
  Object.fromEntries(['missing', 'orphan', 'changed'].map((p) => [p, mismatches.filter((m) => m.problem === p).map((m) => m.key)]));

describe('PostgreSQL connector on pgvector tables (PGlite + pgvector)', () => {
  it('is a real vector(3) column (pgvector 0.8) and the row hash names it by format_type', () => {
    expect(out.type).toBe('vector(3)');
    expect(out.extension).toMatch(/^0\.8\./);
    expect(out.checksumKind).toBe('postgres-hash-v2:id:integer,embedding:vector(3),label:text');
  });

  it('checksums pushed down into the database find exactly the planted rows; a 1e-6 change is seen by the hash and judged within epsilon', () => {
    const c = check('bisect');
    expect(c.error).toBeUndefined();
    expect(c.evidence).toMatchObject({ mode: 'pushdown', withinTolerance: 1, vectors: { overEpsilon: 1, maxDistance: 0.5 } });
    expect(byProblem(c.evidence['mismatches'])).toEqual({ missing: [99], orphan: [300], changed: [42] });
    expect(c.evidence['rowsFetched']).toBeLessThan(60); // most of the 200 rows never left the database
  });

  it('the diff compares row hashes and reads only the differing rows, with the vector distance', () => {
    const c = check('full');
    expect(c.error).toBeUndefined();
    expect(c.evidence).toMatchObject({ mode: 'row hashes compared, differing rows read', rowsFetched: 4, compared: 201, matched: 198 });
    expect(c.evidence['mismatches']).toContainEqual({ key: 42, problem: 'changed', fields: ['embedding'], vectorDistance: 0.5 });
    expect(out.report.verdict).toBe('fail');
  });
});
