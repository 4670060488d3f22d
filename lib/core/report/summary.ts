/** What a report keeps of itself for the next one, and what one pass over the activity log gathers. */
import * as z from '../zod';
import type { ActivityEntry } from '../model';

/** The small, stored digest of a report that the next report compares itself against. */
export const reportSummarySchema = z.object({
  reportId: z.string(),
  migrationId: z.string(),
  generatedAt: z.string(),
  status: z.enum(['not_started', 'in_progress', 'paused', 'completed', 'failed', 'rolled_back']),
  overallProgress: z.number(),
  estimatedCompletion: z.nullable(z.string()),
  phases: z.record(z.string(), z.object({ status: z.string(), progress: z.number() })),
  openAlerts: z.record(z.string(), z.number()),
  risks: z.array(z.string()),
});
export type ReportSummary = z.output<typeof reportSummarySchema>;

/** Facts about the activity log gathered in one pass (bounded memory whatever the log's size). */
export interface ActivityDigest {
  total: number;
  byAction: Map<string, number>;
  recent: ActivityEntry[];
  /** Routine entries (metric updates, progress reports) in the window: counted, not listed. */
  routine: { count: number; latestAt: number };
  /** Per running phase: the distinct run ids seen reporting on it since it started. */
  runIds: Map<string, Set<string>>;
  /** `conflict.*` entries in the window (at most 20). */
  conflicts: ActivityEntry[];
}
