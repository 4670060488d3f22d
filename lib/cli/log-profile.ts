import { nearest, PROFILE_NAMES, type ExplainEntry } from '../core/logwatch';
import { CliError } from './errors';

/** `--profile x`: a known profile, or exit 2 with the nearest name. */
export function checkProfile(name: string | undefined): string | undefined {
  if (name === undefined || PROFILE_NAMES.includes(name)) return name;
  const hint = nearest(name, PROFILE_NAMES);
  throw new CliError(`--profile ${name}: no such profile${hint ? `; did you mean "${hint}"?` : ''} (profiles: ${PROFILE_NAMES.join(', ')})`, 2);
}

/** One `--explain` line: the rule that matched the line and what it did. */
export function explainLine(e: ExplainEntry): string {
  const text = e.line.text.length > 100 ? `${e.line.text.slice(0, 97)}...` : e.line.text;
  const what = e.pattern ? `[${e.pattern}] ${e.did.length ? e.did.join('; ') : 'no update (nothing new)'}` : `(${e.outcome})`;
  return `explain: ${JSON.stringify(text)} -> ${what}`;
}

