/** Sizes as tools print them: `1,234,567`, `4.0 MB`, `19.4 kB`, `1.431 MiB`, `12k`, `0 B`. Null when unreadable. */
const SIZE = /^([\d,]*\.?\d+)\s*([kKMGTP]?)(i?)([bB]?)(?:ytes?)?$/;
const POW: Record<string, number> = { '': 0, K: 1, M: 2, G: 3, T: 4, P: 5 };

export function parseSize(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = SIZE.exec(v.trim());
  if (!m) return null;
  const n = Number(m[1]!.replace(/,/g, ''));
  if (!Number.isFinite(n)) return null;
  const base = m[3] ? 1024 : m[2] && !m[4] ? 1024 : 1000;
  return Math.round(n * base ** POW[m[2]!.toUpperCase()]!);
}
