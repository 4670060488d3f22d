/**
 * Every command and sub-command the registry knows (lib/cli/commands/index.ts, all loaded), walked from the
 * program, so a command added later cannot escape these checks: it takes the one output switch
 * `-o/--format table|json|yaml|markdown` (or the registry says why it prints no data), a bad value is one
 * usage line and the command's hint with exit 2 and the action never runs, the global `-o` before the
 * command works, `--help` describes it with an example, and other usage errors are one line and the hint.
 *
 * In-process, with each command's action replaced by a recorder: what is checked here is the parsing and
 * conventions; what each command prints in each format is checked by its own test file.
 */
import type { Command } from 'commander';
import { COMMANDS, type LazyCommand } from '../../lib/cli/commands';
import { allCommands, buildProgram, commandPath, runProgram, takeGlobals, usageHint } from '../../lib/cli/main';
import { FORMAT_ENV, FORMATS, FORMATTED } from '../../lib/cli/output';

const lazy = COMMANDS.filter((c): c is LazyCommand => typeof c !== 'function');
const noData = new Map(lazy.flatMap((c) => Object.entries(c.noData ?? {})));

interface Ran {
  code: number | undefined;
  out: string;
  err: string;
  /** The format each recorded action saw, by command path. */
  actions: Array<{ path: string; format: unknown }>;
}

/** The CLI's own parse path (global options, then the program) with every action recording instead of running. */
async function run(argv: string[]): Promise<Ran> {
  const program = buildProgram(() => true);
  const actions: Ran['actions'] = [];
  for (const cmd of allCommands(program)) {
    if (cmd.commands.length) continue;
    cmd.action(() => {
      actions.push({ path: commandPath(cmd), format: cmd.opts()['format'] });
    });
  }
  let out = '';
  let err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const saved = process.env[FORMAT_ENV];
  let code: number | undefined;
  try {
    let rest: string[];
    try {
      rest = takeGlobals(argv, process.env);
    } catch (x) {
      err += `${(x as Error).message}\n`;
      return { code: 2, out, err, actions };
    }
    code = await runProgram(program, ['node', 'migration-monitor', ...rest]);
  } finally {
    o.mockRestore();
    e.mockRestore();
    if (saved === undefined) delete process.env[FORMAT_ENV];
    else process.env[FORMAT_ENV] = saved;
  }
  return { code, out, err, actions };
}

/** Arguments that satisfy a command's required positionals and options, so only what a test adds is judged. */
function minimalArgs(cmd: Command): string[] {
  const positional = cmd.registeredArguments.filter((a) => a.required).map(() => 'x');
  const options = cmd.options.filter((o) => o.mandatory).flatMap((o) => [o.long!, 'x']);
  return [...commandPath(cmd).split(' '), ...positional, ...options];
}

delete process.env[FORMAT_ENV];
const program = buildProgram(() => true);
const every = allCommands(program);
const leaves = every.filter((c) => !c.commands.length);
const groups = every.filter((c) => c.commands.length);
const formatted = leaves.filter((c) => !noData.has(commandPath(c)));

describe('every command follows the CLI conventions', () => {
  it('walks every registered command (the registry is the source)', () => {
    const registered = lazy.flatMap((c) => c.names).sort();
    expect(program.commands.map((c) => c.name()).sort()).toEqual(registered);
    // sub-commands are found too, and nothing is both "no data" and unknown
    expect(leaves.map(commandPath)).toEqual(expect.arrayContaining(['phase start', 'subtask skip', 'export prometheus-rules', 'status', 'report', 'cutover']));
    for (const name of noData.keys()) expect(every.map(commandPath)).toContain(name);
  });

  it.each(leaves.map((c) => [commandPath(c), c] as const))('%s: takes -o/--format with the one set of values, or says why it prints no data', async (path, cmd) => {
    const reason = noData.get(path);
    if (reason !== undefined) {
      expect(reason.length).toBeGreaterThan(10);
      expect(cmd.options.some((o) => o.long === '--format')).toBe(false);
      return;
    }
    expect(FORMATTED.has(cmd)).toBe(true);
    expect(cmd.options.find((o) => o.long === '--format')?.short).toBe('-o');
    const args = minimalArgs(cmd);
    for (const f of FORMATS) {
      const short = await run([...args, '-o', f]);
      expect({ path, f, code: short.code, err: short.err, actions: short.actions }).toEqual({ path, f, code: undefined, err: '', actions: [{ path, format: f }] });
      const long = await run([...args, `--format=${f}`]);
      expect(long.actions).toEqual([{ path, format: f }]);
      // the global switch, before the command
      const global = await run(['-o', f, ...args]);
      expect(global.actions).toEqual([{ path, format: f }]);
    }
    // the command's own flag wins over the global one
    expect((await run(['-o', 'yaml', ...args, '-o', 'json'])).actions).toEqual([{ path, format: 'json' }]);
  });

  it.each(formatted.map((c) => [commandPath(c), c] as const))('%s: a bad format is one usage line and the hint, exit 2, and nothing runs', async (path, cmd) => {
    const bad = await run([...minimalArgs(cmd), '-o', 'xml']);
    expect(bad.code).toBe(2);
    expect(bad.actions).toEqual([]);
    const lines = bad.err.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^migration-monitor: option '-o, --format <format>' argument 'xml' is invalid\. must be one of table, json, yaml, markdown$/);
    expect(lines[1]).toBe(usageHint(path));
    expect(bad.out).toBe('');
    const global = await run(['-o', 'xml', ...minimalArgs(cmd)]);
    expect(global.code).toBe(2);
    expect(global.actions).toEqual([]);
    // a bad MIGRATION_MONITOR_FORMAT in the environment is the same usage error, before anything runs
    process.env[FORMAT_ENV] = 'xml';
    const env = await run(minimalArgs(cmd));
    expect(env.code).toBe(2);
    expect(env.actions).toEqual([]);
    expect(env.err.trimEnd().split('\n')).toEqual([`migration-monitor: ${FORMAT_ENV} must be one of table, json, yaml, markdown (got "xml")`, usageHint(path)]);
  });

  it.each(every.map((c) => [commandPath(c), c] as const))('%s: --help has a description and an example', async (path, cmd) => {
    expect(cmd.description().length).toBeGreaterThan(10);
    const h = await run([...path.split(' '), '--help']);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(new RegExp(`\\nExamples:\\n {2}\\$ migration-monitor ${path.replace(/[-]/g, '\\-')}\\b`));
  });

  it.each(leaves.map((c) => [commandPath(c), c] as const))('%s: an unknown option is one usage line and the hint, never the whole help', async (path, cmd) => {
    const r = await run([...minimalArgs(cmd), '--bogus']);
    expect(r.code).toBe(2);
    expect(r.actions).toEqual([]);
    expect(r.err.trimEnd().split('\n')).toEqual([expect.stringMatching(/^migration-monitor: unknown option '--bogus'/), usageHint(path)]);
  });

  it.each(groups.map((c) => [commandPath(c), c] as const))('%s: without its sub-command answers one line naming them and the hint', async (path, cmd) => {
    const r = await run([path]);
    expect(r.code).toBe(2);
    expect(r.err.trimEnd().split('\n')).toEqual([`migration-monitor: '${path}' needs a sub-command: ${cmd.commands.map((c) => c.name()).join(', ')}`, usageHint(path)]);
    const typo = await run([path, `${cmd.commands[0]!.name()}x`]);
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/Did you mean/);
    expect(typo.err).not.toMatch(/Commands:/);
  });

  it('a missing argument or no command at all is one line and the hint', async () => {
    const missing = await run(['phase', 'start']);
    expect(missing.err.trimEnd().split('\n')).toEqual(["migration-monitor: missing required argument 'phaseId'", usageHint('phase start')]);
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.err.trimEnd().split('\n')).toHaveLength(2);
    expect(none.err).toMatch(/^migration-monitor: a command is needed: serve, status, /);
  });
});
