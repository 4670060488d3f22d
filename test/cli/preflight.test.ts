/**
 * `migration-monitor preflight` on real PostgreSQL 15 servers (the real CLI in a child process): ready,
 * not enough disk (a tiny budget), a dead server (exit 3 naming the side), a bad config (exit 2), and the
 * result posted to the tracker's initialization phase.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import YAML from 'yaml';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePreflightConfig } from '../../lib/core/preflight/config';
import { runConfiguredPreflight } from '../../lib/compose/preflight';
import { runCli } from '../support/cli';
import { freePort } from '../support/ports';
import { startPostgres, type PostgresServer } from '../support/postgres';
import { startTrackerServer, type TrackerServer } from '../support/tracker-server';

const cli = (args: string[], env: Record<string, string | undefined> = {}) => runCli(args, { env });

let src: PostgresServer;
let dst: PostgresServer;
let dir: string;
let tracker: TrackerServer;

const config = (o: { sourceUrl?: string; targetUrl?: string; preflight?: string } = {}) => `name: orders move
connectors:
  source: { type: postgres, url: "${o.sourceUrl ?? src.url('shop')}", table: media_items, key: id }
  target: { type: postgres, url: "${o.targetUrl ?? dst.url('shop')}", table: media_items, key: id }
checks:
  - { name: rows, kind: count, source: source, target: target }
preflight:
  inventory: schema
${o.preflight ?? ''}`;

beforeAll(async () => {
  [src, dst] = await Promise.all([startPostgres(), startPostgres()]);
  await Promise.all([src.createDatabase('shop'), dst.createDatabase('shop')]);
  await src.sql(
    `CREATE TABLE media_items (id int PRIMARY KEY, title text, tags text[], embedding real[]);
     INSERT INTO media_items SELECT i, 'title ' || i || repeat('x', 200), ARRAY['a','b'], array_fill(0.5::real, ARRAY[64]) FROM generate_series(1, 5000) i;
     CREATE TABLE item_tags (item_id int, tag text, PRIMARY KEY (item_id, tag));
     INSERT INTO item_tags SELECT i, 't' || (i % 7) FROM generate_series(1, 3000) i;
     ANALYZE media_items;`,
    'shop',
  );
  dir = await mkdtemp(join(tmpdir(), 'mm-preflight-'));
  tracker = await startTrackerServer();
});
afterAll(async () => {
  await Promise.all([src?.stop(), dst?.stop(), tracker?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string) {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

describe('migration-monitor preflight on real PostgreSQL 15', () => {
  it('ready: versions, inventory with estimates and sizes, disk at the local data directory, memory, time; exit 0', async () => {
    const r = await cli(['preflight', '--config', await file('ready.yaml', config({ preflight: '  copyRatePerSecond: 500\n' })), '--format', 'json']);
    expect(r.stderr).toMatch(/^preflight ready for migration/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ verdict: 'ready', exitCode: 0, reasons: [] });
    expect(out.sides.source).toMatchObject({ reachable: true, type: 'postgres', version: expect.stringMatching(/^15\./) });
    expect(out.sides.target).toMatchObject({ reachable: true, version: expect.stringMatching(/^15\./), tables: [] });
    const tables = Object.fromEntries(out.sides.source.tables.map((t: { name: string }) => [t.name, t]));
    // analyzed: the catalog's estimate; never analyzed: counted exactly
    expect(tables['public.media_items']).toMatchObject({ rows: 5000, exact: false, bytes: expect.any(Number) });
    expect(tables['public.item_tags']).toMatchObject({ rows: 3000, exact: true });
    expect(tables['public.media_items'].bytes).toBeGreaterThan(5000 * 200);
    expect(out.sides.source.rows).toBe(8000);
    expect(out.disk).toMatchObject({ status: 'ok', replicationFactor: 3, requiredBytes: out.sides.source.bytes * 3, path: out.sides.target.dataDirectory });
    expect(out.disk.availableBytes).toBeGreaterThan(out.disk.requiredBytes);
    expect(out.memory.status).toBe('ok');
    // 8000 rows at 500/s = 16 s, catch-up 100/500 = 0.2 s, cutover 5 s, × 1.5
    expect(out.estimate).toMatchObject({ status: 'ok', rows: 8000, copyRatePerSecond: 500, rateBasis: 'configured copyRatePerSecond' });
    expect(out.estimate.plan.totalSeconds).toBeCloseTo((16 + 0.2 + 5) * 1.5, 3);

    const md = await cli(['preflight', '--config', join(dir, 'ready.yaml')]);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/^# Preflight: orders move: ✅ READY FOR MIGRATION/);
    expect(md.stdout).toMatch(/\| source \| ✅ \| source \(postgres\) postgres:public\.\*, version 15\.\d+: 2 table\(s\), ~8000 rows/);
    expect(md.stdout).toMatch(/\| public\.media_items \| ~5000 \|/);

    // the one output switch: YAML is the same result as JSON, table at a glance
    const y = await cli(['preflight', '--config', join(dir, 'ready.yaml'), '-o', 'yaml']);
    expect(YAML.parse(y.stdout)).toMatchObject({ verdict: 'ready', sides: { source: { rows: 8000 } }, estimate: { rows: 8000 } });
    const t = await cli(['preflight', '--config', join(dir, 'ready.yaml'), '-o', 'table']);
    expect(t.stdout).toMatch(/^disk on the target\s+ok\s+/m);
    // before the switch, -o was the output file: a file name there still is, with a notice
    const old = await cli(['preflight', '--config', join(dir, 'ready.yaml'), '-o', join(dir, 'old.md')]);
    expect(old.code).toBe(0);
    expect(old.stdout).toBe('');
    expect(old.stderr).toMatch(/^migration-monitor: -o .*old\.md is deprecated for preflight's output file: use --output /);
    expect(await readFile(join(dir, 'old.md'), 'utf8')).toMatch(/^# Preflight: orders move/);
  });

  it('not enough disk for the copy × the replication factor (a tiny budget): exit 1 with the figures', async () => {
    const r = await cli(['preflight', '--config', await file('tiny.yaml', config({ preflight: '  diskBudget: 1MB\n  replicationFactor: 2\n' })), '--format', 'json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ verdict: 'not_ready', disk: { status: 'insufficient', availableBytes: 1_000_000, replicationFactor: 2 } });
    expect(out.disk.requiredBytes).toBe(out.sides.source.bytes * 2);
    expect(out.reasons).toEqual([expect.stringMatching(/^not enough disk on the target: .* needed \(.* × 2\), 977 KB available \(free space at .*, capped by diskBudget 977 KB\)$/)]);
    // the predicted time uses the measured read rate when no rate is configured
    expect(out.estimate).toMatchObject({ status: 'ok', rateBasis: expect.stringMatching(/^measured source read rate over 1000 rows/) });
  });

  it('not enough memory for the planned batches, and a copy longer than the window: exit 1, each reason named', async () => {
    const cfg = parsePreflightConfig(config({ preflight: '  memoryBudget: 64KB\n  copyRatePerSecond: 10\n  maxDurationSeconds: 60\n' }));
    const out = await runConfiguredPreflight(cfg);
    expect(out.verdict).toBe('not_ready');
    expect(out.memory.status).toBe('insufficient');
    expect(out.estimate.status).toBe('too_long');
    expect(out.reasons.map((x) => x.replace(/:.*/, ''))).toEqual(['not enough memory for the planned copy', 'the copy is predicted to take 20 min 23 s, longer than maxDurationSeconds 1 min']);
  });

  it('a dead server: exit 3 naming the side and the connector; a missing source table too', async () => {
    const dead = `postgres://postgres@127.0.0.1:${await freePort()}/shop`;
    const r = await cli(['preflight', '--config', await file('dead.yaml', config({ targetUrl: dead })), '--format', 'json']);
    expect(r.code).toBe(3);
    const out = JSON.parse(r.stdout);
    expect(out.verdict).toBe('could_not_check');
    expect(out.sides.source.reachable).toBe(true);
    expect(out.sides.target).toMatchObject({ reachable: false, error: expect.stringMatching(/^target connector "target" \(postgres\): .*ECONNREFUSED/) });
    expect(out.reasons).toEqual([expect.stringMatching(/^could not check the target: target connector "target"/)]);

    const missing = await runConfiguredPreflight(parsePreflightConfig(config().replace('table: media_items, key: id }\n  target', 'table: nope, key: id }\n  target')));
    expect(missing.exitCode).toBe(3);
    expect(missing.reasons[0]).toMatch(/could not check the source: source connector "source" \(postgres\): table public\.nope does not exist/);
  });

  it('a bad config exits 2 with every problem at once', async () => {
    const r = await cli(['preflight', '--config', await file('bad.yaml', `connectors:\n  source: { type: postgres, url: "\${NOPE_URL}", table: t, key: id }\npreflight:\n  target: elsewhere\n  replicationFactor: 0\n  diskBudget: lots\n`)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/connectors\.source\.url: environment variable NOPE_URL is not set/);
    expect(r.stderr).toMatch(/replicationFactor/);
    expect(r.stderr).toMatch(/"lots" is not a size/);
    expect(r.stderr).toMatch(/unknown connector "elsewhere"/);
  });

  it('--post: the result lands on initialization/preflight (progress and activity); not ready fails the sub-task, a later ready run retries and completes it', async () => {
    const env = { MIGRATION_MONITOR_URL: tracker.url, MIGRATION_MONITOR_TOKEN: 'tok', MIGRATION_MONITOR_MIGRATION: 'pf' };
    await tracker.tracker.initialize('pf', {});
    const bad = await cli(['preflight', '--config', join(dir, 'tiny.yaml'), '--post'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/; posted to initialization\/preflight$/m);
    let s = await tracker.tracker.get('pf');
    const init = () => s.phases.find((p) => p.id === 'initialization')!;
    expect(init().subTasks.find((t) => t.id === 'preflight')).toMatchObject({ status: 'failed', error: expect.stringMatching(/^preflight not ready: not enough disk on the target/) });
    expect(init().metadata).toMatchObject({ preflight: { verdict: 'not_ready' } });

    const ok = await cli(['preflight', '--config', join(dir, 'ready.yaml'), '--post'], env);
    expect(ok.code).toBe(0);
    s = await tracker.tracker.get('pf');
    expect(init().subTasks.find((t) => t.id === 'preflight')).toMatchObject({ status: 'completed', progress: 100 });
    expect(init().metadata).toMatchObject({ preflight: { verdict: 'ready', sourceRows: 8000 } });
    const activity = (await tracker.tracker.store.readActivity('pf')).filter((a) => a.subTaskId === 'preflight').map((a) => a.action);
    expect(activity).toEqual(['subtask.start', 'subtask.fail', 'subtask.start', 'subtask.complete']);
  });

  it('--post on a phase without the sub-task posts on the phase; a refusal (already completed) is reported, never a changed exit code', async () => {
    const env = { MIGRATION_MONITOR_URL: tracker.url, MIGRATION_MONITOR_TOKEN: 'tok', MIGRATION_MONITOR_MIGRATION: 'pf2' };
    await tracker.tracker.initialize('pf2', { plan: [{ id: 'initialization', name: 'Init', estimatedDuration: 5 }] });
    const bad = await cli(['preflight', '--config', join(dir, 'tiny.yaml'), '--post'], env);
    expect(bad.code).toBe(1);
    expect((await tracker.tracker.get('pf2')).phases[0]).toMatchObject({ status: 'failed', progress: 100, error: expect.stringMatching(/^preflight not ready: not enough disk/) });
    const ok = await cli(['preflight', '--config', join(dir, 'ready.yaml'), '--post'], env);
    expect(ok.code).toBe(0);
    const s = await tracker.tracker.get('pf2');
    expect(s.phases[0]).toMatchObject({ status: 'completed', attempts: 2, metadata: { preflight: { verdict: 'ready' } } });
    expect((await tracker.tracker.store.readActivity('pf2')).map((a) => a.action)).toContain('phase.retry');
    const again = await cli(['preflight', '--config', join(dir, 'ready.yaml'), '--post'], env);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/tracker: start_phase refused: .*cannot start phase "initialization": it is completed/);
  });
});
