/**
 * The one environment parser: every runtime shell and composition reads its variables through `parseEnv`, so
 * a bad environment always reads `<who>: bad environment: <variable>: <problem>; …`, with every problem at once.
 * Old variable names are accepted as aliases of the canonical ones (`withAliases`), never the other way round.
 */
import * as z from '../core/zod';
import { formatZodError } from '../core/validation-util';

/** A deployment mistake (missing or malformed variable): a server-side error naming the setting, never a 4xx. */
export class EnvError extends Error {
  override readonly name = 'EnvError';
}

/** Parse `env` with `schema`; aliases fill canonical names that are unset; an empty variable counts as unset. */
export function parseEnv<S extends z.ZodMiniType>(schema: S, env: NodeJS.ProcessEnv, who: string, aliases: Aliases = {}): z.output<S> {
  const set = Object.fromEntries(Object.entries(withAliases(env, aliases)).filter(([, v]) => v !== undefined && v !== ''));
  const r = schema.safeParse(set);
  if (!r.success) throw new EnvError(`${who}: bad environment: ${formatZodError(r.error)}`);
  return r.data;
}

/** canonical name → older names still accepted. */
export type Aliases = Record<string, readonly string[]>;

/** A copy of `env` where each unset canonical variable takes the first set alias. */
export function withAliases(env: NodeJS.ProcessEnv, aliases: Aliases): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const [canonical, old] of Object.entries(aliases)) {
    if (out[canonical] !== undefined && out[canonical] !== '') continue;
    const from = old.find((a) => env[a] !== undefined && env[a] !== '');
    if (from) out[canonical] = env[from];
  }
  return out;
}

/** `a, b,c` → `['a', 'b', 'c']`. */
export const envList = z.pipe(z.string(), z.transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)));

/** `true`/`false`/`1`/`0` → boolean. */
export const envFlag = z.pipe(z.enum(['true', 'false', '1', '0']), z.transform((v) => v === 'true' || v === '1'));

/** A variable holding JSON, parsed (the problem is named with the variable). */
export const envJson = z.pipe(z.string(), z.transform((s, ctx) => {
  try {
    return JSON.parse(s) as unknown;
  } catch (e) {
    ctx.issues.push({ code: 'custom', message: `not valid JSON: ${(e as Error).message}`, input: s });
    return z.NEVER;
  }
}));
