import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands';
import { CliError } from './errors';
import { tracedCli } from './tracing';

/**
 * `migration-monitor` CLI. Each sub-command lives in its own file under lib/cli/commands/ and registers
 * itself through the COMMANDS list. A command's action sets `process.exitCode` (or throws a CliError).
 */
export async function main(argv: string[]): Promise<number | undefined> {
  const program = new Command('migration-monitor')
    .description('Monitoring for cloud migrations: tracker API, dashboard, reports, validation, search proxy')
    .showHelpAfterError()
    .exitOverride();
  for (const register of COMMANDS) register(program);
  try {
    await tracedCli(program, argv, () => program.parseAsync(argv));
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof CliError) {
      process.stderr.write(`migration-monitor: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
  return undefined;
}
