import { Command, CommanderError } from 'commander';
import { packageVersion } from '../compose/build-info';
import { COMMANDS, type LazyCommand, type RegisterCommand } from './commands';
import { CliError } from './errors';
import { FORMAT_ENV, FORMATS, terminalWidth } from './output';
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

/** The package version (lib/compose/build-info.ts, which migration_build_info reports too). */
export const version = packageVersion;

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
      if (g.env === FORMAT_ENV && !(FORMATS as readonly string[]).includes(v)) throw new CliError(`option '${g.flags}' must be one of ${FORMATS.join(', ')} (got "${v}")`, 2);
      env[g.env] = v;
      i += inline === undefined ? 2 : 1;
    }
  }
  return args.slice(i);
}

/** `(run 'migration-monitor phase start --help' for usage)`: the hint under a usage error of that command. */
export const usageHint = (path: string) => `(run '${[NAME, path].filter(Boolean).join(' ')} --help' for usage)`;

/** `phase start`: a command's words after the program name. */
export function commandPath(cmd: Command): string {
  const words: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) words.unshift(c.name());
  return words.join(' ');
}

/** Every command under `cmd` (depth first), `cmd` excluded. */
export function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/**
 * The conventions every loaded command gets: its own usage hint, help fitted to the terminal width, and a
 * group (`phase`) given no sub-command answers with one line naming them, not its whole help.
 */
function conventions(cmd: Command): void {
  cmd.showHelpAfterError(usageHint(commandPath(cmd)));
  if (cmd.commands.length) {
    const help = cmd.help.bind(cmd);
    cmd.help = ((context?: { error: boolean }) => {
      if (!context?.error) return help(context);
      const what = cmd.parent ? `'${commandPath(cmd)}' needs a sub-command` : 'a command is needed';
      throw new CliError(`${what}: ${cmd.commands.map((c) => c.name()).join(', ')}`, 2, commandPath(cmd));
    }) as Command['help'];
  }
}

const helpWidth = (stream: NodeJS.WriteStream) => {
  const w = terminalWidth(stream);
  return w === Infinity ? 80 : w;
};

/** The program with every command: lazy ones as stubs (name + description) unless `load` names them. */
export function buildProgram(load: (name: string) => boolean = () => true): Command {
  const program = new Command(NAME)
    .description('Monitoring for cloud migrations: tracker API, dashboard, reports, validation, search proxy')
    .version(version(), '-V, --version', 'print the version')
    .usage('[global options] <command> [options]')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      outputError: (s, write) => write(`${NAME}: ${s.replace(/^error: /, '')}`),
      // help wraps at the terminal's width (or COLUMNS); 80 in a pipe
      getOutHelpWidth: () => helpWidth(process.stdout),
      getErrHelpWidth: () => helpWidth(process.stderr),
    });
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
      const before = new Set(program.commands);
      c.load()(program);
      for (const cmd of program.commands.filter((x) => !before.has(x))) {
        for (const sub of [cmd, ...allCommands(cmd)]) {
          const ex = c.examples[commandPath(sub)];
          if (ex?.length) sub.addHelpText('after', `\nExamples:\n${ex.map((e) => `  $ ${e}`).join('\n')}`);
        }
      }
    } else {
      // a stub for help and suggestions; never run (the command's name loads the real one)
      for (const name of c.names) program.command(name).description(c.descriptions[name] ?? '').allowUnknownOption().helpOption(false);
    }
  }
  for (const cmd of [program, ...allCommands(program)]) conventions(cmd);
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
      while (i < words.length - 1 && words[i]!.startsWith('-')) {
        // a global option's value being typed (`-o <TAB>`): the option and what follows it are the words
        if (i + 1 === words.length - 1 && ['-o', '--format'].includes(words[i]!)) break;
        i += GLOBAL_OPTIONS.find((g) => g.flags.split(/[ ,]+/).includes(words[i]!))?.value === undefined && !words[i]!.includes('=') ? 2 : 1;
      }
      process.stdout.write(candidates(words.slice(Math.min(i, words.length - 1)), (name) => buildProgram((n) => n === name), globals).join('\n') + '\n');
      return 0;
    }
    const rest = takeGlobals(argv.slice(2), env);
    const first = rest[0];
    const wanted = first === 'help' ? rest[1] : first;
    // `--help`, `--version`, no command or an unknown one: nothing needs loading
    return await runProgram(buildProgram((name) => name === wanted), [...argv.slice(0, 2), ...rest]);
  } catch (e) {
    return exitOf(e, '');
  }
}

/** A thrown error as the CLI answers it: one line (a usage error adds the hint of its command), and the exit code. */
function exitOf(e: unknown, path: string): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
  if (e instanceof CliError) {
    process.stderr.write(`${NAME}: ${e.message}\n`);
    if (e.exitCode === 2) process.stderr.write(`${usageHint(e.command ?? path)}\n`);
    return e.exitCode;
  }
  throw e;
}

/**
 * Parse and run (global options already taken off `args`): a usage error in the command that was running
 * prints its own hint. Exported for the conventions test, which runs every command with its action stubbed.
 */
export async function runProgram(program: Command, args: string[]): Promise<number | undefined> {
  let path = '';
  program.hook('preAction', (_p, actionCommand) => {
    path = commandPath(actionCommand);
  });
  try {
    await tracedCli(program, args, () => program.parseAsync(args));
  } catch (e) {
    return exitOf(e, path);
  }
  return undefined;
}
