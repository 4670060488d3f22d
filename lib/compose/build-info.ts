import fs from 'node:fs';
import path from 'node:path';
import type { BuildInfo } from '../adapters/prometheus/server-metrics';

/** The git commit of a checkout at `root`, or undefined outside one. Reads .git (a directory, or a worktree's
 * `gitdir:` file), HEAD, and the branch it names as a loose ref or in packed-refs, without running git. */
function gitRevision(root: string): string | undefined {
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim() : undefined);
  const dotGit = path.join(root, '.git');
  if (!fs.existsSync(dotGit)) return undefined;
  const gitDir = fs.statSync(dotGit).isDirectory() ? dotGit : path.resolve(root, /^gitdir: (.+)$/m.exec(read(dotGit) ?? '')?.[1] ?? '.git');
  const common = path.resolve(gitDir, read(path.join(gitDir, 'commondir')) ?? '.');
  const head = read(path.join(gitDir, 'HEAD'));
  const ref = head && /^ref: (.+)$/.exec(head)?.[1];
  const packed = (read(path.join(common, 'packed-refs')) ?? '').split('\n').find((l) => ref && l.endsWith(` ${ref}`))?.split(' ')[0];
  const sha = ref ? (read(path.join(gitDir, ref)) ?? read(path.join(common, ref)) ?? packed) : head;
  return sha && /^[0-9a-f]{40}$/.test(sha) ? sha.slice(0, 12) : undefined;
}

/** The directory of the package.json above this file (source or compiled layout), if any. */
function packageRoot(): string | undefined {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  }
  return undefined;
}

/** The package version, from the package.json above this file, or `unknown`. */
export function packageVersion(): string {
  const root = packageRoot();
  return (root && (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version) || 'unknown';
}

/**
 * What `migration_build_info` says about this process: the package version, the revision
 * (`MIGRATION_MONITOR_REVISION` when an image build sets it, else the git checkout's commit, else `unknown`)
 * and the Node.js runtime.
 */
export function buildInfo(env: NodeJS.ProcessEnv = process.env): BuildInfo {
  const root = packageRoot();
  const revision = env['MIGRATION_MONITOR_REVISION']?.trim() || (root && gitRevision(root)) || 'unknown';
  return { version: packageVersion(), revision, runtime: `node ${process.version}` };
}
