/** A failure the user can act on: printed without a stack trace, with its own exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    /** The command a usage error (exit 2) is about, when it is not the one that ran: its hint names it. */
    readonly command?: string,
  ) {
    super(message);
  }
}
