import { formatDuration, planCapacity, type CapacityEstimate } from '../capacity';
import { isDomainError } from '../errors';
import { bytes } from '../report/format';
import type { PreflightConfig } from './config';

/**
 * Preflight (seed 004): is this migration ready to start? Both sides reachable (and their versions), what
 * there is to copy (tables, row estimates, size), enough free disk on the target for the copy times the
 * replication factor, enough memory here for the planned batches, and how long the capacity planner says it
 * takes. One verdict: ready (exit 0), not ready (1), could not check (3: a side unreachable, or a figure
 * that could not be measured). Pure: every measurement comes through `PreflightPorts`.
 */

export type Side = 'source' | 'target';

export interface TableInventory {
  name: string;
  /** Row estimate (pg_class.reltuples), or the exact count when `exact`. */
  rows: number;
  /** Bytes on disk with indexes and TOAST (pg_total_relation_size); null when the connector cannot tell. */
  bytes: number | null;
  exact: boolean;
}

export interface SideInventory {
  /** e.g. `postgres:public.media_items`. */
  label: string;
  /** Server version, e.g. `15.8`; null when the connector has none to tell. */
  version: string | null;
  tables: TableInventory[];
  /** PostgreSQL's data directory when the server runs on this machine (free disk is read there). */
  dataDirectory?: string;
  /** How sizes were found, when not by the database (e.g. `JSON size of 1000 sampled rows × count`). */
  sizeBasis?: string;
}

export interface PreflightPorts {
  /** Reach a side and list what it holds. Throws when it cannot (the message is shown with the side's name). */
  inventory(side: Side): Promise<SideInventory>;
  /** Read up to `rows` rows from the source: how many came, their JSON size and how long it took. */
  readSample(rows: number): Promise<{ rows: number; bytes: number; ms: number }>;
  /** statfs of a path: bytes free to an unprivileged writer, and the disk's size. */
  freeDisk(path: string): Promise<{ free: number; total: number }>;
  /** Bytes of memory free on this machine. */
  freeMemory(): number;
  now(): number;
}

export type SideReport =
  | ({ side: Side; connector: string; type: string; reachable: true; rows: number; bytes: number | null } & SideInventory)
  | { side: Side; connector: string; type: string; reachable: false; error: string };

export type ItemStatus = 'ok' | 'insufficient' | 'unknown';

export interface PreflightResult {
  name?: string;
  at: string;
  verdict: 'ready' | 'not_ready' | 'could_not_check';
  exitCode: 0 | 1 | 3;
  sides: { source: SideReport; target: SideReport };
  disk: { status: ItemStatus; requiredBytes: number | null; availableBytes: number | null; replicationFactor: number; path?: string; basis: string };
  memory: { status: ItemStatus; requiredBytes: number | null; availableBytes: number; basis: string };
  estimate: {
    status: 'ok' | 'too_long' | 'unknown';
    rows: number | null;
    copyRatePerSecond: number | null;
    rateBasis: string;
    plan: CapacityEstimate | null;
    /** `2 h 3 min` */
    total: string | null;
    maxDurationSeconds?: number;
  };
  /** Why it is not ready, or what could not be checked. Empty when ready. */
  reasons: string[];
  warnings: string[];
}

export async function runPreflight(cfg: PreflightConfig, ports: PreflightPorts): Promise<PreflightResult> {
  const s = cfg.settings;
  const reasons: string[] = [];
  const warnings: string[] = [];
  const [source, target] = await Promise.all((['source', 'target'] as const).map((side) => sideReport(cfg, side, ports)));
  for (const r of [source!, target!]) if (!r.reachable) reasons.push(`could not check the ${r.side}: ${r.error}`);

  // what the copy reads: size from the database, else from a sample; the sample also gives the read rate
  let sample: { rows: number; bytes: number; ms: number } | null = null;
  if (source!.reachable) {
    try {
      sample = await ports.readSample(Math.min(s.batchSize, 1000));
    } catch (e) {
      warnings.push(`reading a sample batch from the source failed: ${(e as Error).message}`);
    }
  }
  const srcRows = source!.reachable ? source!.rows : null;
  const srcBytes = source!.reachable ? source!.bytes : null;
  const rowBytes = sample && sample.rows > 0 ? sample.bytes / sample.rows : srcBytes !== null && srcRows ? srcBytes / srcRows : null;

  const disk = diskCheck(cfg, target!, srcBytes, ports);
  const memory = memoryCheck(cfg, rowBytes, ports);
  const estimate = estimateCheck(cfg, srcRows, sample);
  const [d, m, e] = await Promise.all([disk, memory, estimate]);
  if (d.status === 'insufficient') reasons.push(`not enough disk on the target: ${bytes(d.requiredBytes!)} needed (${bytes(srcBytes!)} × ${s.replicationFactor}), ${bytes(d.availableBytes!)} available (${d.basis})`);
  if (d.status === 'unknown' && source!.reachable && target!.reachable) reasons.push(`could not check the target's free disk: ${d.basis}`);
  if (m.status === 'insufficient') reasons.push(`not enough memory for the planned copy: ${bytes(m.requiredBytes!)} needed, ${bytes(m.availableBytes)} available (${m.basis})`);
  if (m.status === 'unknown') warnings.push(`memory need unknown: ${m.basis}`);
  if (e.status === 'too_long') reasons.push(`the copy is predicted to take ${e.total}, longer than maxDurationSeconds ${formatDuration(s.maxDurationSeconds!)}`);
  if (e.problem) reasons.push(e.problem);
  if (e.status === 'unknown' && !e.problem && source!.reachable) warnings.push(`no time prediction: ${e.rateBasis}`);

  const unreachable = !source!.reachable || !target!.reachable;
  const blocked = d.status === 'insufficient' || m.status === 'insufficient' || e.status === 'too_long' || e.problem !== undefined;
  const verdict = unreachable ? 'could_not_check' : blocked ? 'not_ready' : d.status === 'unknown' ? 'could_not_check' : 'ready';
  const { problem: _p, ...est } = e;
  return {
    ...(cfg.name ? { name: cfg.name } : {}),
    at: new Date(ports.now()).toISOString(),
    verdict,
    exitCode: verdict === 'ready' ? 0 : verdict === 'not_ready' ? 1 : 3,
    sides: { source: source!, target: target! },
    disk: d,
    memory: m,
    estimate: est,
    reasons,
    warnings,
  };
}

async function sideReport(cfg: PreflightConfig, side: Side, ports: PreflightPorts): Promise<SideReport> {
  const { name, connector } = cfg[side];
  const base = { side, connector: name, type: connector.type };
  try {
    const inv = await ports.inventory(side);
    const rows = inv.tables.reduce((n, t) => n + t.rows, 0);
    const known = inv.tables.every((t) => t.bytes !== null);
    const size = known ? inv.tables.reduce((n, t) => n + (t.bytes ?? 0), 0) : null;
    return { ...base, reachable: true, rows, bytes: size, ...inv };
  } catch (e) {
    return { ...base, reachable: false, error: `${side} connector "${name}" (${connector.type}): ${(e as Error).message}` };
  }
}

async function diskCheck(cfg: PreflightConfig, target: SideReport, srcBytes: number | null, ports: PreflightPorts): Promise<PreflightResult['disk']> {
  const s = cfg.settings;
  const requiredBytes = srcBytes === null ? null : Math.ceil(srcBytes * s.replicationFactor);
  const path = s.targetPath ?? (target.reachable ? target.dataDirectory : undefined);
  let availableBytes: number | null = null;
  let basis: string;
  if (path) {
    try {
      const fs = await ports.freeDisk(path);
      availableBytes = fs.free;
      basis = `free space at ${path}`;
    } catch (e) {
      basis = `statfs ${path} failed: ${(e as Error).message}`;
    }
  } else {
    basis = 'no preflight.targetPath and the target is not a PostgreSQL server on this machine (set targetPath or diskBudget)';
  }
  if (s.diskBudget !== undefined) {
    availableBytes = availableBytes === null ? s.diskBudget : Math.min(availableBytes, s.diskBudget);
    basis = path && !basis.startsWith('statfs') ? `${basis}, capped by diskBudget ${bytes(s.diskBudget)}` : `diskBudget ${bytes(s.diskBudget)}`;
  }
  const status: ItemStatus = requiredBytes === null || availableBytes === null ? 'unknown' : requiredBytes <= availableBytes ? 'ok' : 'insufficient';
  if (requiredBytes === null && availableBytes !== null) basis += '; the source size is unknown';
  return { status, requiredBytes, availableBytes, replicationFactor: s.replicationFactor, ...(path ? { path } : {}), basis };
}

async function memoryCheck(cfg: PreflightConfig, rowBytes: number | null, ports: PreflightPorts): Promise<PreflightResult['memory']> {
  const s = cfg.settings;
  const free = ports.freeMemory();
  const availableBytes = s.memoryBudget !== undefined ? Math.min(free, s.memoryBudget) : free;
  const basis = `${s.memoryBudget !== undefined ? `memoryBudget ${bytes(s.memoryBudget)}, ` : ''}${bytes(free)} free here; ${s.workers} workers × ${s.batchSize} rows × 2 buffers`;
  if (rowBytes === null) return { status: 'unknown', requiredBytes: null, availableBytes, basis: `${basis}; the row size is unknown (empty source)` };
  const requiredBytes = Math.ceil(rowBytes * s.batchSize * s.workers * 2);
  return { status: requiredBytes <= availableBytes ? 'ok' : 'insufficient', requiredBytes, availableBytes, basis: `${basis} × ${bytes(Math.round(rowBytes))} a row` };
}

async function estimateCheck(cfg: PreflightConfig, rows: number | null, sample: { rows: number; ms: number } | null): Promise<PreflightResult['estimate'] & { problem?: string }> {
  const s = cfg.settings;
  const measured = sample && sample.rows > 0 ? sample.rows / Math.max(sample.ms, 1) * 1000 : null;
  const rate = s.copyRatePerSecond ?? measured;
  const rateBasis = s.copyRatePerSecond !== undefined ? 'configured copyRatePerSecond' : measured !== null ? `measured source read rate over ${sample!.rows} rows (an upper bound: writing is slower)` : 'no copyRatePerSecond and no rows to measure a read rate on';
  const out = { rows, copyRatePerSecond: rate === null ? null : round(rate), rateBasis, ...(s.maxDurationSeconds ? { maxDurationSeconds: s.maxDurationSeconds } : {}) };
  if (rows === null || rate === null) return { status: 'unknown', ...out, plan: null, total: null };
  try {
    const plan = planCapacity({ totalEvents: rows, copyRatePerSecond: rate, lagEvents: s.lagEvents, writeRatePerSecond: s.writeRatePerSecond, cutoverPauseSeconds: s.cutoverPauseSeconds, bufferFactor: s.bufferFactor });
    const tooLong = s.maxDurationSeconds !== undefined && plan.totalSeconds > s.maxDurationSeconds;
    return { status: tooLong ? 'too_long' : 'ok', ...out, plan, total: formatDuration(plan.totalSeconds) };
  } catch (e) {
    if (!isDomainError(e)) throw e;
    return { status: 'unknown', ...out, plan: null, total: null, problem: `capacity planner: ${e.message}` };
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
