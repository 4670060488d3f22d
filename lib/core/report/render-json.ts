import type { StatusReport } from './model';

/** The report as JSON (the `StatusReport` shape, `schemaVersion` 1), for dashboards and scripts. */
export function renderJson(r: StatusReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
