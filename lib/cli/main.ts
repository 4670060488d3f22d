import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { COMMANDS, type LazyCommand, type RegisterCommand } from './commands';
import { CliError } from './errors';
import { FORMAT_ENV, FORMATS } from './output';
import { tracedCli } from './tracing';

const NAME = 'migration-monitor';

/**
 * Global options: accepted before the sub-command, each the same as its environment variable (so every
 * command, and the processes it starts, sees it). After the sub-command the command's own flag wins.
 */
export const GLOBAL_OPTIONS: Array<{ flags: string; env: string; description: string; value?: string }> = [
  { flags: '--url <url>', env: 'MIGRATION_MONITOR_URL', description: 'tracker API URL' },
  { flags: '--token <token>', env: 'MIGRATION_MONITOR_TOKEN', description: 'bearer token of the tracker API' },
  { flags: '--migration <id>', env: 'MIGRATION_MONITOR_MIGRATION', description: 'migration id (default: the server default)' },
  { flags: '--actor <name>', env: 'MIGRATION_MONITOR_ACTOR', description: 'who makes the change (activity log)' },
  { flags: '--sigv4', env: 'MIGRATION_MONITOR_SIGV4', description: 'sign requests with AWS SigV4', value: 'true' },
  { flags: '--region <region>', env: 'AWS_REGION', description: 'AWS region for --sigv4' },
  { flags: '-o, --format <format>', env: FORMAT_ENV, description: `output format: ${FORMATS.join(', ')}` },
  { flags: '--otlp-endpoint <url>', env: 'OTEL_EXPORTER_OTLP_ENDPOINT', description: 'send OpenTelemetry traces to this OTLP/HTTP collector' },
  { flags: '--no-color', env: 'NO_COLOR', description: 'no colour (also NO_COLOR=1)', value: '1' },
  { flags: '--color', env: 'FORCE_COLOR', description: 'colour even when not a terminal (also FORCE_COLOR=1)', value: '1' },
];

const isLazy = (c: LazyCommand | RegisterCommand): c is LazyCommand => typeof c !== 'function';

/** The package version, from the package.json above this file (source or compiled layout). */
export function version(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const f = path.join(dir, 'package.json');
    if (fs.existsSync(f)) return (JSON.parse(fs.readFileSync(f, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

/**
 * Split leading global options off argv (applied to `env`), returning the rest. A leading option that is
 * not global is a usage error.
 */
export function takeGlobals(args: string[], env: NodeJS.ProcessEnv): string[] {
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-') && args[i] !== '--') {
    const [flag, inline] = args[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    if (['-h', '--help', '-V', '--version'].includes(flag)) break;
    const g = GLOBAL_OPTIONS.find((o) => o.flags.split(/[ ,]+/).includes(flag));
    if (!g) throw new CliError(`unknown global option '${flag}' (global options: ${GLOBAL_OPTIONS.map((o) => o.flags.split(' <')[0]).join(', ')})`, 2);
    if (g.value !== undefined) {
      env[g.env] = g.value;
      if (g.env === 'NO_COLOR') delete env['FORCE_COLOR'];
      if (g.env === 'FORCE_COLOR') delete env['NO_COLOR'];
      i += 1;
    } else {
      const v = inline ?? args[i + 1];
      if (v === undefined) throw new CliError(`option '${g.flags}' needs a value`, 2);
      env[g.env] = v;
      i += inline === undefined ? 2 : 1;
    }
  }
  return args.slice(i);
}

/** The program with every command: lazy ones as stubs (name + description) unless `load` names them. */
export function buildProgram(load: (name: string) => boolean = () => true): Command {
  const program = new Command(NAME)
    .description('Monitoring for cloud migrations: tracker API, dashboard, reports, validation, search proxy')
    .version(version(), '-V, --version', 'print the version')
    .usage('[global options] <command> [options]')
    .showHelpAfterError(`(run '${NAME} <command> --help' for usage)`)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(`${NAME}: ${s.replace(/^error: /, '')}`) });
  // not commander options: those would also swallow a sub-command's own --url/--format (see takeGlobals)
  const pad = Math.max(...GLOBAL_OPTIONS.map((g) => g.flags.length));
  const globals = GLOBAL_OPTIONS.map((g) => `  ${g.flags.padEnd(pad)}  ${g.description} (env ${g.env})`).join('\n');
  program.addHelpText('after', `\nGlobal options (before the command; each is the same as its environment variable):\n${globals}\n\nExamples:\n  $ ${NAME} status\n  $ ${NAME} -o json migrations\n  $ ${NAME} alerts && ${NAME} ack <alert-id>\n  $ source <(${NAME} completion bash)`);
  for (const c of COMMANDS) {
    if (!isLazy(c)) {
      c(program);
      continue;
    }
    if (c.names.some(load)) {
      c.load()(program);
      for (const name of c.names) {
        const cmd = program.commands.find((x) => x.name() === name);
        const ex = c.examples[name];
        if (cmd && ex?.length) cmd.addHelpText('after', `\nExamples:\n${ex.map((e) => `  $ ${e}`).join('\n')}`);
      }
    } else {
      // a stub for help and suggestions; never run (the command's name loads the real one)
      for (const name of c.names) program.command(name).description(c.descriptions[name] ?? '').allowUnknownOption().helpOption(false);
    }
  }
  return program;
}

/** Every top-level command name (for completion and suggestions). */
export const commandNames = (): string[] => COMMANDS.flatMap((c) => (isLazy(c) ? c.names : []));

/**
 * `migration-monitor` CLI. Each sub-command lives in its own file under lib/cli/commands/ and is listed in
 * COMMANDS; only the one that runs is loaded. A command's action sets `process.exitCode` (or throws a CliError).
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  try {
    if (argv[2] === '__complete') {
      const { candidates } = require('./commands/completion') as typeof import('./commands/completion');
      const words = argv.slice(3);
      const globals = GLOBAL_OPTIONS.flatMap((g) => g.flags.split(/[ ,]+/).filter((f) => f.startsWith('-')));
      // completion needs only the typed command: skip global options and their values
      let i = 0;
      while (i < words.length - 1 && words[i]!.startsWith('-')) i += GLOBAL_OPTIONS.find((g) => g.flags.split(/[ ,]+/).includes(words[i]!))?.value === undefined && !words[i]!.includes('=') ? 2 : 1;
      process.stdout.write(candidates(words.slice(Math.min(i, words.length - 1)), (name) => buildProgram((n) => n === name), globals).join('\n') + '\n');
      return 0;
    }
    const rest = takeGlobals(argv.slice(2), env);
    const first = rest[0];
    const wanted = first === 'help' ? rest[1] : first;
    // `--help`, `--version`, no command or an unknown one: nothing needs loading
    const program = buildProgram((name) => name === wanted);
    const args = [...argv.slice(0, 2), ...rest];
    await tracedCli(program, args, () => program.parseAsync(args));
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof CliError) {
      process.stderr.write(`${NAME}: ${e.message}\n`);
      if (e.exitCode === 2) process.stderr.write(`(run '${NAME} --help' for usage)\n`);
      return e.exitCode;
    }
    throw e;
  }
  return undefined;
}
