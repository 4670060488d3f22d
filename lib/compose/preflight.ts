/**
 * Composition of a preflight: PostgreSQL sides through the catalog (lib/adapters/sql/pg-inventory.ts), every
 * other connector type through its validation connector (exact count, size from a sampled batch), free disk
 * from statfs and memory from the OS. Shared by the CLI (and any runtime that wants a preflight).
 */
import { statfs } from 'node:fs/promises';
import { freemem } from 'node:os';
import type { PreflightConfig } from '../core/preflight/config';
import { runPreflight, type PreflightPorts, type PreflightResult, type Side, type SideInventory } from '../core/preflight/preflight';
import type { Row, SourceConnector } from '../core/validation/connector';
import { createConnector } from './validation-runtime';

export interface PreflightRunOptions {
  /** Relative file paths in the config resolve against this (the config file's directory). */
  baseDir?: string;
  /** Replace a measurement (tests: a machine with little memory). */
  freeMemory?: () => number;
}

export async function runConfiguredPreflight(cfg: PreflightConfig, opts: PreflightRunOptions = {}): Promise<PreflightResult> {
  const open = new Map<Side, SourceConnector>();
  const connector = (side: Side) => {
    let c = open.get(side);
    if (!c) open.set(side, (c = createConnector(cfg[side].name, cfg[side].connector, opts.baseDir)));
    return c;
  };
  const ports: PreflightPorts = {
    inventory: async (side) => {
      const c = cfg[side].connector;
      if (c.type === 'postgres') {
        const { pgInventory } = require('../adapters/sql/pg-inventory') as typeof import('../adapters/sql/pg-inventory');
        return pgInventory(c, cfg.settings.inventory, { requireTable: side === 'source' });
      }
      return connectorInventory(connector(side), cfg[side].connector.type);
    },
    readSample: async (rows) => {
      const t0 = performance.now();
      const batch = await firstBatch(connector('source'), rows);
      return { rows: batch.length, bytes: jsonBytes(batch), ms: performance.now() - t0 };
    },
    freeDisk: async (path) => {
      const s = await statfs(path);
      return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
    },
    freeMemory: opts.freeMemory ?? freemem,
    now: () => Date.now(),
  };
  try {
    return await runPreflight(cfg, ports);
  } finally {
    const closing = await Promise.allSettled([...open.values()].map((c) => c.close()));
    const failed = closing.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) process.emitWarning(`preflight: closing a connector failed: ${failed.map((f) => (f.reason as Error).message).join('; ')}`);
  }
}

/** Any connector type: its exact count, and a size estimated from the JSON size of one sampled batch. */
async function connectorInventory(c: SourceConnector, type: string): Promise<SideInventory> {
  const rows = await c.count();
  const batch = rows ? await firstBatch(c, 1000) : [];
  const perRow = batch.length ? jsonBytes(batch) / batch.length : 0;
  return {
    label: c.label,
    version: null,
    tables: [{ name: c.label, rows, bytes: Math.round(perRow * rows), exact: true }],
    sizeBasis: batch.length ? `${type}: JSON size of ${batch.length} sampled rows × ${rows}` : `${type}: empty`,
  };
}

async function firstBatch(c: SourceConnector, rows: number): Promise<Row[]> {
  for await (const batch of c.scan({ batchSize: rows })) return batch.slice(0, rows);
  return [];
}

const jsonBytes = (rows: Row[]) => Buffer.byteLength(JSON.stringify(rows.map((r) => [r.key, r.data]), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
