/**
 * CLI conventions, through the real CLI process against a real local tracker: --version, lazy command
 * loading, one-line usage errors with a hint, global options before the command, one -o/--format switch,
 * NO_COLOR/FORCE_COLOR, output that fits COLUMNS, completion, and the operator commands `migrations`,
 * `alerts` (so `ack <id>` is usable) and the health verdict of `status`.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FileStore } from '../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../lib/adapters/http/server';
import { trackerApi } from '../../lib/core/tracker/api';
import { Tracker } from '../../lib/core/tracker/service';

const ROOT = path.join(__dirname, '../..');
const BIN = path.join(ROOT, 'bin/migration-monitor.js');
let srv: RunningServer;
let tracker: Tracker;

type Run = { code: number; stdout: string; stderr: string };
function cli(args: string[], env: Record<string, string | undefined> = {}, nodeArgs: string[] = []): Promise<Run> {
  const base: Record<string, string | undefined> = { ...process.env, MIGRATION_MONITOR_TOKEN: 'tok', NO_COLOR: undefined, FORCE_COLOR: undefined, COLUMNS: undefined };
  const merged = Object.fromEntries(Object.entries({ ...base, ...env }).filter((e): e is [string, string] => e[1] !== undefined));
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeArgs, BIN, ...args], { env: merged, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}
const at = (env: Record<string, string | undefined> = {}) => ({ MIGRATION_MONITOR_URL: srv.url, ...env });

beforeAll(async () => {
  tracker = new Tracker({ store: FileStore.inMemory() });
  await tracker.initialize('orders', { name: 'Orders DB' });
  await tracker.initialize('search', { name: 'Search index' });
  await tracker.apply('orders', { action: 'start_phase', phaseId: 'initialization' }, { actor: 'test' });
  await tracker.apply('orders', { action: 'create_alert', severity: 'critical', message: 'replica lag 5 min', phaseId: 'initialization' }, { actor: 'test' });
  await tracker.apply('orders', { action: 'create_alert', severity: 'info', message: 'copy started' }, { actor: 'test' });
  await tracker.apply('search', { action: 'start_phase', phaseId: 'initialization' }, { actor: 'test' });
  await tracker.apply('search', { action: 'fail_phase', phaseId: 'initialization', error: 'index mapping refused' }, { actor: 'test' });
  srv = await serveHttp(trackerApi({ tracker, token: 'tok', defaultMigrationId: 'orders' }));
});
afterAll(() => srv.close());

describe('CLI conventions', () => {
  it('prints the package version and lists every command in --help without loading any', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect((await cli(['--version'])).stdout.trim()).toBe(pkg.version);
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const name of ['status', 'migrations', 'alerts', 'ack', 'phase', 'validate', 'completion']) expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    expect(help.stdout).toMatch(/Global options/);
    // laziness: after --help no command module is in the require cache; after `status`, only status's
    const probe = (args: string[]) =>
      `require('tsx/cjs');const m=require(${JSON.stringify(path.join(ROOT, 'lib/cli/main.ts'))});m.main(['node','mm',${args.map((a) => JSON.stringify(a)).join(',')}]).then(()=>{process.stderr.write('\\nLOADED '+Object.keys(require.cache).filter(f=>/lib\\/cli\\/commands\\/(?!index)/.test(f)).map(f=>require('path').basename(f)).join(',')+'\\n')})`;
    const h = await new Promise<string>((r) => execFile(process.execPath, ['-e', probe(['--help'])], { cwd: ROOT }, (_e, _o, err) => r(String(err))));
    expect(h).toMatch(/^LOADED $/m);
    const s = await new Promise<string>((r) => execFile(process.execPath, ['-e', probe(['status'])], { cwd: ROOT, env: { ...process.env, ...at() } }, (_e, _o, err) => r(String(err))));
    expect(s).toMatch(/^LOADED status\.ts$/m);
  });

  it('answers a usage error with one line and a hint, exit 2', async () => {
    const typo = await cli(['staus']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^migration-monitor: unknown command 'staus'/);
    expect(typo.stderr).toMatch(/Did you mean status\?/);
    expect(typo.stderr).toMatch(/run 'migration-monitor --help' for usage/);
    expect(typo.stderr).not.toMatch(/Commands:/); // not the whole help
    const badOpt = await cli(['status', '--bogus'], at());
    expect(badOpt.code).toBe(2);
    expect(badOpt.stderr.trim().split('\n')).toEqual(["migration-monitor: unknown option '--bogus'", "(run 'migration-monitor status --help' for usage)"]);
    const badGlobal = await cli(['--bogus', 'status']);
    expect(badGlobal.code).toBe(2);
    expect(badGlobal.stderr).toMatch(/unknown global option '--bogus'/);
  });

  it('accepts global options before the command; the command\'s own flag wins', async () => {
    const j = await cli(['--url', srv.url, '-o', 'json', 'status']);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ migrationId: 'orders', health: { status: (await tracker.health('orders')).status } });
    const y = await cli(['--url', srv.url, '--format=json', '--migration', 'search', 'status', '-o', 'yaml']);
    expect(y.stdout).toMatch(/^migrationId: search$/m);
    expect(y.stdout).toMatch(/^ {2}status: unhealthy$/m);
    expect((await cli(['-o', 'xml', 'status'], at())).code).toBe(2);
  });

  it('status leads with the tracker\'s health verdict, the same as /health', async () => {
    const orders = await cli(['status'], at());
    expect(orders.code).toBe(0);
    // the same verdict, with the same reasons, as the tracker's /health for that migration
    const h = (await tracker.health('orders')).migrations[0]!;
    expect(orders.stdout).toMatch(new RegExp(`^Health: ${h.status}${h.reasons.length ? ' — ' : '$'}`, 'm'));
    for (const r of h.reasons) expect(orders.stdout).toContain(r);
    const search = await cli(['status', '--migration', 'search'], at());
    expect(search.stdout).toMatch(/^Health: unhealthy — phase "initialization" failed: index mapping refused$/m);
  });

  it('lists migrations with status, health, progress and ETA, in every format', async () => {
    const t = await cli(['migrations'], at());
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^ID\s+Name\s+Status\s+Health\s+Progress\s+ETA/m);
    const ordersHealth = (await tracker.health('orders')).status;
    expect(ordersHealth).not.toBe('unhealthy');
    expect(t.stdout).toMatch(new RegExp(`^orders\\s+Orders DB\\s+in_progress\\s+${ordersHealth}\\s+\\d`, 'm'));
    expect(t.stdout).toMatch(/^search\s+Search index\s+failed\s+unhealthy/m);
    const rows = JSON.parse((await cli(['migrations', '-o', 'json'], at())).stdout) as Array<{ id: string; health: string; progress: number }>;
    expect(rows.map((r) => [r.id, r.health])).toEqual([
      ['orders', ordersHealth],
      ['search', 'unhealthy'],
    ]);
    expect((await cli(['migrations', '-o', 'markdown'], at())).stdout).toMatch(/^\| orders \| Orders DB \|/m);
    expect((await cli(['migrations', '-o', 'yaml'], at())).stdout).toMatch(/^- id: orders$/m);
  });

  it('lists alerts with ids, worst first, so `ack <id>` is usable; acknowledged ones leave the list', async () => {
    const t = await cli(['alerts'], at());
    expect(t.code).toBe(0);
    const lines = t.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+Severity\s+Phase\s+Age\s+Message/);
    expect(lines[2]).toMatch(/critical\s+initialization\s+\d+s\s+replica lag 5 min/);
    const [critical] = JSON.parse((await cli(['alerts', '-o', 'json', '--severity', 'error'], at())).stdout) as Array<{ id: string; severity: string }>;
    expect(critical!.severity).toBe('critical');
    const ack = await cli(['ack', critical!.id, '-o', 'json'], at());
    expect(ack.code).toBe(0);
    expect(JSON.parse(ack.stdout)).toMatchObject({ ok: true });
    const after = JSON.parse((await cli(['alerts', '-o', 'json'], at())).stdout) as Array<{ id: string }>;
    expect(after.map((a) => a.id)).not.toContain(critical!.id);
    const all = JSON.parse((await cli(['alerts', '--all', '-o', 'json'], at())).stdout) as Array<{ id: string; acknowledged: boolean }>;
    expect(all.find((a) => a.id === critical!.id)?.acknowledged).toBe(true);
    expect((await cli(['alerts', '--severity', 'loud'], at())).code).toBe(2);
  });

  it('keeps --json as a deprecated alias of --format json', async () => {
    const r = await cli(['alert', 'info', 'hello', '--json'], at());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ alert: { severity: 'info' } });
    expect(r.stderr).toMatch(/--json is deprecated: use --format json/);
  });

  it('colours only on request (FORCE_COLOR) and never with NO_COLOR; fits the table to COLUMNS', async () => {
    const plain = await cli(['status', '--migration', 'search'], at());
    expect(plain.stdout).not.toMatch(/\x1b\[/);
    const forced = await cli(['status', '--migration', 'search'], at({ FORCE_COLOR: '1' }));
    expect(forced.stdout).toMatch(/\x1b\[31munhealthy/);
    expect((await cli(['--no-color', 'status', '--migration', 'search'], at({ FORCE_COLOR: '1' }))).stdout).not.toMatch(/\x1b\[/);
    expect((await cli(['status', '--migration', 'search'], at({ FORCE_COLOR: '1', NO_COLOR: '1' }))).stdout).not.toMatch(/\x1b\[/);
    const narrow = await cli(['alerts', '--all'], at({ COLUMNS: '50' }));
    for (const line of narrow.stdout.trim().split('\n')) expect(line.length).toBeLessThanOrEqual(50);
    expect(narrow.stdout).toMatch(/…/);
  });

  it('prints bash and zsh completion that ask the CLI for commands and options', async () => {
    const bash = await cli(['completion', 'bash']);
    expect(bash.stdout).toMatch(/complete -o default -F _migration_monitor migration-monitor/);
    expect((await cli(['completion', 'zsh'])).stdout).toMatch(/^#compdef migration-monitor/);
    expect((await cli(['completion', 'fish'])).code).toBe(2);
    expect((await cli(['__complete', ''])).stdout.split('\n')).toEqual(expect.arrayContaining(['status', 'migrations', 'alerts', 'ack']));
    expect((await cli(['__complete', 'phase', ''])).stdout.split('\n')).toEqual(expect.arrayContaining(['start', 'progress', 'complete']));
    expect((await cli(['__complete', '--url', 'x', 'status', '--f'])).stdout.split('\n')).toEqual(expect.arrayContaining(['--format', '--migration']));
    expect((await cli(['__complete', 'report', '-o', ''])).stdout.trim().split('\n')).toEqual(['table', 'json', 'yaml', 'markdown']);
    expect((await cli(['__complete', '-o', ''])).stdout.trim().split('\n')).toEqual(['table', 'json', 'yaml', 'markdown']);
  });

  it('gives every command a description and examples', async () => {
    const names = (await cli(['__complete', ''])).stdout.trim().split('\n');
    for (const name of names) {
      const h = await cli([name, '--help']);
      expect({ name, code: h.code }).toEqual({ name, code: 0 });
      expect({ name, examples: /\nExamples:\n {2}\$ migration-monitor /.test(h.stdout) }).toEqual({ name, examples: true });
    }
  });
});
