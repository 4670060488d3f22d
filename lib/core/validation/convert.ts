/** How a text value (a CSV cell, a Redis hash field) is read. */
export type TextFieldType = 'string' | 'number' | 'boolean' | 'json' | 'vector';
export const TEXT_FIELD_TYPES = ['string', 'number', 'boolean', 'json', 'vector'] as const;

/**
 * Convert a text value to its type. Empty text is null for every type but string. `vector` accepts JSON
 * (`[1,2]`) and keeps other text (`{1,2}`) for the vector comparison to read.
 */
export function convertText(v: string, type: TextFieldType | undefined, where: string): unknown {
  if (!type || type === 'string') return v;
  if (v === '') return null;
  switch (type) {
    case 'number': {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`${where}: ${JSON.stringify(v)} is not a number`);
      return n;
    }
    case 'boolean':
      if (/^(true|1|yes)$/i.test(v)) return true;
      if (/^(false|0|no)$/i.test(v)) return false;
      throw new Error(`${where}: ${JSON.stringify(v)} is not a boolean`);
    case 'json':
      try {
        return JSON.parse(v);
      } catch (e) {
        throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
      }
    case 'vector':
      return v.trimStart().startsWith('[') ? convertText(v, 'json', where) : v;
  }
}
