import type { Command } from 'commander';
import { CliError } from '../errors';
import { FORMATS } from '../output';

/**
 * Shell completion. The scripts ask the CLI itself (`migration-monitor __complete <words...>`), so options
 * and sub-commands are always those of the installed version; only the command being completed is loaded.
 */
const BASH = `# bash completion for migration-monitor: source <(migration-monitor completion bash)
_migration_monitor() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  local IFS=$'\\n'
  COMPREPLY=( $(compgen -W "$(migration-monitor __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" -- "$cur") )
}
complete -o default -F _migration_monitor migration-monitor
`;

const ZSH = `#compdef migration-monitor
# zsh completion for migration-monitor: migration-monitor completion zsh > "\${fpath[1]}/_migration-monitor"
_migration_monitor() {
  local -a words_
  words_=( \${(f)"$(migration-monitor __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)"} )
  compadd -a words_
}
compdef _migration_monitor migration-monitor
`;

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a bash or zsh completion script')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell === 'bash') process.stdout.write(BASH);
      else if (shell === 'zsh') process.stdout.write(ZSH);
      else throw new CliError(`<shell> must be bash or zsh (got "${shell}")`, 2);
    });
}

/** The candidates for the last word, given the words typed after the program name. */
export function candidates(words: string[], build: (commandName: string | undefined) => Command, globals: string[]): string[] {
  const done = words.slice(0, -1);
  const cur = words[words.length - 1] ?? '';
  // the one output switch has the same values everywhere
  if (['-o', '--format'].includes(done[done.length - 1] ?? '')) return [...FORMATS];
  const flags = (c: Command) => c.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x));
  const positional = done.filter((w) => !w.startsWith('-'));
  let cmd = build(positional[0]);
  if (!positional.length) return cur.startsWith('-') ? [...globals, '--help', '--version'] : cmd.commands.map((c) => c.name());
  for (const w of positional) {
    const sub = cmd.commands.find((c) => c.name() === w);
    if (!sub) break;
    cmd = sub;
  }
  if (cur.startsWith('-')) return [...flags(cmd), '--help'];
  return cmd.commands.map((c) => c.name());
}
