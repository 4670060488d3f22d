/** Times and durations as the reports print them (no imports: shared by the risk rules and the renderers). */

/** `2026-01-02 08:00 UTC` */
export function when(isoTime: string | null | undefined): string {
  if (!isoTime) return '—';
  return `${isoTime.slice(0, 10)} ${isoTime.slice(11, 16)} UTC`;
}

/** A human duration: `45 min`, `3.5 h`, `2.1 days`. */
export function duration(ms: number): string {
  const a = Math.abs(ms);
  if (a < 90 * 60000) return `${Math.round(a / 60000)} min`;
  if (a < 48 * 3600000) return `${Math.round(a / 360000) / 10} h`;
  return `${Math.round(a / 8640000) / 10} days`;
}
