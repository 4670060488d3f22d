import type * as z from './zod';
import { DomainError } from './errors';

/** One readable line per problem: `phases[2].dependencies[0]: expected string, received number`. */
export function formatZodError(err: z.core.$ZodError): string {
  return err.issues
    .map((i) => {
      const path = i.path
        .map((p, idx) => (typeof p === 'number' ? `[${p}]` : idx === 0 ? String(p) : `.${String(p)}`))
        .join('');
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}

/** Parse untrusted input or throw a 400 DomainError naming every problem. */
export function parseOrThrow<T>(schema: z.ZodMiniType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input);
  if (!r.success) throw new DomainError('validation_failed', `invalid ${what}: ${formatZodError(r.error)}`);
  return r.data;
}
