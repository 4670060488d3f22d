import fs from 'node:fs';
import path from 'node:path';
import type { BuildInfo } from '../adapters/prometheus/server-metrics';

/** The git commit of a checkout at `root` (HEAD, or the branch ref it names), or undefined outside one. */
function gitRevision(root: string): string | undefined {
  try {
    const head = fs.readFileSync(path.join(root, '.git', 'HEAD'), 'utf8').trim();
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    const sha = ref ? fs.readFileSync(path.join(root, '.git', ref), 'utf8').trim() : head;
    return /^[0-9a-f]{40}$/.test(sha) ? sha.slice(0, 12) : undefined;
  } catch {
    return undefined; // not a checkout (an installed package, an image, a worktree's .git file): `unknown` below
  }
}

/**
 * What `migration_build_info` says about this process: the package version, the revision
 * (`MIGRATION_MONITOR_REVISION` when an image build sets it, else the git checkout's commit, else `unknown`)
 * and the Node.js runtime.
 */
export function buildInfo(env: NodeJS.ProcessEnv = process.env): BuildInfo {
  let root: string | undefined;
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) {
      root = dir;
      break;
    }
  }
  const version = root ? (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version : undefined;
  const revision = env['MIGRATION_MONITOR_REVISION']?.trim() || (root && gitRevision(root)) || 'unknown';
  return { version: version ?? 'unknown', revision, runtime: `node ${process.version}` };
}
