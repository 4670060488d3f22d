import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveHttp, type RunningServer } from '../../lib/adapters/http/server';
import { json } from '../../lib/core/http';
import { runCli } from '../support/cli';
import { freePort } from '../support/ports';
import { startTrackerServer, type TrackerServer } from '../support/tracker-server';

const cli = runCli;

let dir: string;
const rows = (n: number, skip: number[] = []) =>
  Array.from({ length: n }, (_, i) => i + 1)
    .filter((i) => !skip.includes(i))
    .map((i) => JSON.stringify({ id: i, name: `n${i}` }))
    .join('\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mm-cli-validate-'));
  await writeFile(join(dir, 'a.jsonl'), rows(200));
  await writeFile(join(dir, 'same.jsonl'), rows(200));
  await writeFile(join(dir, 'b.jsonl'), rows(200, [7, 8, 9]));
  const conns = `connectors:
  a: { type: file, path: a.jsonl, key: id, keyType: number, sorted: true }
  same: { type: file, path: same.jsonl, key: id, keyType: number, sorted: true }
  b: { type: file, path: b.jsonl, key: id, keyType: number, sorted: true }
`;
  await writeFile(join(dir, 'pass.yaml'), `name: pass\n${conns}checks:\n  - { name: rows, kind: count, source: a, target: same }\n  - { name: all, kind: diff, source: a, target: same }\n`);
  await writeFile(join(dir, 'fail.yaml'), `${conns}checks:\n  - { name: all, kind: diff, source: a, target: b }\n`);
  await writeFile(join(dir, 'bad.yaml'), `${conns}checks:\n  - { name: all, kind: diff, source: a, target: nowhere }\n`);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('migration-monitor validate (the CI gate)', () => {
  it('exits 0 on pass, with a JSON report', async () => {
    const r = await cli(['validate', '--config', join(dir, 'pass.yaml'), '--format', 'json', '--checkpoint-dir', join(dir, 'cp')]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ name: 'pass', verdict: 'pass', totals: { checks: 2, passed: 2 } });
    expect(r.stderr).toMatch(/^validation PASS: 2\/2 checks passed/);
  });

  it('exits 1 on fail, with a Markdown report naming the mismatching keys; --output and --metrics-file', async () => {
    const out = join(dir, 'report.md');
    const prom = join(dir, 'validation.prom');
    const r = await cli(['validate', '-c', 'fail.yaml', '--output', out, '--metrics-file', prom], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const md = await readFile(out, 'utf8');
    expect(md).toContain('# Validation FAILED');
    for (const k of [7, 8, 9]) expect(md).toContain(`| \`${k}\` | missing |`);
    const metrics = await readFile(prom, 'utf8');
    expect(metrics).toContain('validation_checks_total{check="all",result="fail"} 1');
    expect(metrics).toContain('verification_violations_total{violation_type="missing"} 3');
  });

  it('exits 2 on a bad config, naming the problem; on a missing file; on a bad flag', async () => {
    const bad = await cli(['validate', '--config', join(dir, 'bad.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('checks[0].target: unknown connector "nowhere" (defined: a, same, b)');
    const missing = await cli(['validate', '--config', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
    const fmt = await cli(['validate', '--config', join(dir, 'pass.yaml'), '--format', 'xml']);
    expect(fmt.code).toBe(2);
    expect(fmt.stderr).toContain("argument 'xml' is invalid. must be one of table, json, yaml, markdown");
  });

  it('exits 3 when a side cannot be read (not 1: nothing is known about the data), naming the side and the connector', async () => {
    await writeFile(join(dir, 'dead.yaml'), `connectors:\n  a: { type: file, path: a.jsonl, key: id, keyType: number, sorted: true }\n  api: { type: http-json, url: "http://127.0.0.1:9/items", key: id, keyType: number }\nchecks:\n  - { name: all, kind: diff, source: a, target: api }\n`);
    const r = await cli(['validate', '--config', join(dir, 'dead.yaml'), '--format', 'json', '--checkpoint-dir', join(dir, 'cp-dead')]);
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout);
    expect(report.checks[0].error).toMatch(/^target connector "api" \(/);
  });

  it('--dry-run checks the config and connects to nothing', async () => {
    const port = await freePort();
    await writeFile(
      join(dir, 'dry.yaml'),
      `connectors:\n  pg: { type: postgres, url: "postgres://app:secret@127.0.0.1:${port}/db", table: items, key: id }\n  b: { type: file, path: b.jsonl, key: id }\nchecks:\n  - { kind: count, source: pg, target: b }\n  - { kind: latency, url: "http://127.0.0.1:${port}/search", profile: vector-search }\n`,
    );
    const r = await cli(['validate', '--config', join(dir, 'dry.yaml'), '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dry run: config is valid, nothing was run');
    expect(r.stdout).toContain('postgres://app:***@127.0.0.1');
    expect(r.stdout).not.toContain('secret');
    expect(r.stdout).toContain(`2. **latency-2** (latency): 50 GET requests to http://127.0.0.1:${port}/search (concurrency 1), p95 <= 30 ms`);
  });

  it('posts to the tracker when --url is given (real tracker API)', async () => {
    const t: TrackerServer = await startTrackerServer('tok');
    try {
      await t.tracker.initialize('cutover', { plan: [{ id: 'validation', name: 'Validation', estimatedDuration: 10 }] });
      const r = await cli(['validate', '-c', 'fail.yaml', '--migration', 'cutover', '--checkpoint-dir', 'cp'], { cwd: dir, env: { MIGRATION_MONITOR_URL: t.url, MIGRATION_MONITOR_TOKEN: 'tok' } });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('## Tracker');
      const s = await t.tracker.get('cutover');
      expect(s.lastValidation).toMatchObject({ verdict: 'fail', checks: [{ name: 'all', passed: false }] });
      expect(s.phases[0]).toMatchObject({ status: 'failed', progress: 100 });
      expect(s.alerts.map((a) => a.message)).toEqual([expect.stringMatching(/^Validation failed: all/)]);
    } finally {
      await t.stop();
    }
  });

  it('Ctrl-C saves progress; --resume continues from the checkpoint', async () => {
    // source: an API listing records in key order, which stalls after 3 pages until released
    let stall = true;
    let pagesServed = 0;
    let release: () => void = () => undefined;
    const all = Array.from({ length: 1000 }, (_, i) => ({ id: i + 1, name: `n${i + 1}` }));
    const api: RunningServer = await serveHttp(async (req) => {
      const offset = Number(req.query['offset'] ?? 0);
      if (stall && offset >= 300) await new Promise<void>((r) => (release = r));
      pagesServed += 1;
      return json(200, { items: all.slice(offset, offset + 100) });
    });
    try {
      await writeFile(join(dir, 'big.jsonl'), all.filter((r) => r.id !== 500).map((r) => JSON.stringify(r)).join('\n'));
      await writeFile(
        join(dir, 'resume.yaml'),
        `connectors:\n  api: { type: http-json, url: "${api.url}/items", key: id, keyType: number, ordered: true, pageSize: 100 }\n  file: { type: file, path: big.jsonl, key: id, keyType: number, sorted: true }\nchecks:\n  - { name: rows, kind: count, source: file, target: file }\n  - { name: all, kind: diff, source: api, target: file, batchSize: 50, checkpointEvery: 100, maxOrphans: 1, maxMissing: 1 }\n`,
      );
      const cp = join(dir, 'resume-cp');
      const first = await cli(['validate', '-c', 'resume.yaml', '--checkpoint-dir', cp, '--format', 'json'], {
        cwd: dir,
        onStart: (child) => {
          // one SIGINT only: polls overlap while they read, and a second Ctrl-C means "stop now" (the default kill)
          let sent = false;
          const poll = setInterval(async () => {
            if (sent) return;
            const files = existsSync(cp) ? await readdir(cp) : [];
            const f = files.find((x) => x.endsWith('.json'));
            if (!f) return;
            const saved = JSON.parse(await readFile(join(cp, f), 'utf8').catch(() => '{}'));
            if (saved.inProgress?.state?.after >= 200 && !sent) {
              sent = true;
              clearInterval(poll);
              child.kill('SIGINT');
            }
          }, 50);
        },
      });
      stall = false;
      release();
      expect(first.code).toBe(3); // interrupted: the data was not fully checked
      expect(first.stderr).toMatch(/SIGINT: stopping/);
      expect(first.stderr).toMatch(/interrupted, progress saved in .*resume-cp.*run again with --resume/);
      const firstReport = JSON.parse(first.stdout);
      expect(firstReport).toMatchObject({ interrupted: true, verdict: 'fail', notRun: ['all'] });

      pagesServed = 0;
      const second = await cli(['validate', '-c', 'resume.yaml', '--checkpoint-dir', cp, '--format', 'json', '--resume'], { cwd: dir });
      expect(second.code).toBe(0); // one record (500) missing of 1000, within the explicit allowance
      const report = JSON.parse(second.stdout);
      expect(report).toMatchObject({ resumed: true, runId: firstReport.runId, interrupted: false });
      expect(report.checks[0]).toMatchObject({ name: 'rows', resumed: true });
      const diff = report.checks[1].evidence;
      expect(diff.resumedAfter).toBeGreaterThanOrEqual(200);
      expect(diff).toMatchObject({ compared: 1000, matched: 999, missing: 1, mismatches: [{ key: 500, problem: 'missing' }] });
      expect(await readdir(cp)).toEqual([]); // finished: checkpoint cleared
    } finally {
      release();
      await api.close();
    }
  });
});
