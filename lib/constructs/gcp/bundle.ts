import { cpSync, mkdirSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CloudRunAdapter } from '../../adapters/gcp/cloud-run';
import { prebuiltCloudRun } from '../prebuilt';

/** The Cloud Run entry every bundle wraps its handler with. */
export const CLOUD_RUN_ENTRY = path.resolve(__dirname, '../../adapters/gcp/cloud-run.ts');
/**
 * Runtime of the Cloud Run functions: Node.js 24 (GA; Google deprecates it 2028-04-30, decommissions
 * 2028-10-31). nodejs20 was decommissioned 2026-10-30 (no create or update). test/stacks/runtimes.test.ts
 * refuses decommissioned runtimes.
 */
export const GCP_NODE_RUNTIME = 'nodejs24';
/** The export the Functions Framework calls (the function's `entry_point`). */
export const FUNCTION_ENTRY_POINT = 'mmHandler';

/** A handler that cannot be bundled (missing entry, compile error): a user error, not a crash. */
export class BundleError extends Error {}

export interface BundleOptions {
  /** Handler module (TypeScript), e.g. lambda/report.ts. */
  entry: string;
  exportName: string;
  adapter: CloudRunAdapter;
  /** Handler name (logs, HandlerErrors dimension). */
  name: string;
  /** Write a placeholder instead of running esbuild (unit tests). */
  skip?: boolean;
  /** Where to write; default a new temp directory. */
  outDir?: string;
}

/**
 * Bundle a handler for Cloud Run functions (2nd gen) at synth time, with the esbuild JS API: one index.js
 * (handler + Cloud Run entry + dependencies) and a package.json whose `main` points at it. The directory is
 * zipped by a TerraformAsset; Google's build only installs the Functions Framework, no docker build in CI.
 * Running the same index.js with `node index.js` serves the handler on $PORT (container mode).
 */
export function bundleHandler(opts: BundleOptions): string {
  const out = opts.outDir ?? mkdtempSync(path.join(tmpdir(), `mm-bundle-${opts.name}-`));
  mkdirSync(out, { recursive: true });
  const pkg = {
    name: `migration-monitor-${opts.name}`,
    version: '0.0.0',
    private: true,
    main: 'index.js',
    engines: { node: '>=22' },
  };
  writeFileSync(path.join(out, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  if (opts.skip) {
    writeFileSync(
      path.join(out, 'index.js'),
      `exports.${FUNCTION_ENTRY_POINT} = () => { throw new Error('${opts.name}: bundling was skipped (unit-test synth)'); };\n`,
    );
    return out;
  }
  const prebuilt = prebuiltCloudRun({ entry: opts.entry, exportName: opts.exportName, adapter: opts.adapter, name: opts.name });
  if (prebuilt) {
    // the installed package: the bundle built with these very options (dist/assets)
    cpSync(prebuilt, out, { recursive: true });
    return out;
  }
  const entry = path.resolve(opts.entry);
  if (!existsSync(entry))
    throw new BundleError(
      `handler entry ${opts.entry} does not exist (bundling ${opts.name}); point handlers.${opts.name}.entry at it in MM_GCP_CONFIG, or synthesize with --skip-bundling`,
    );
  const options = {
    name: opts.name,
    adapter: opts.adapter,
    exportName: opts.exportName,
  };
  const wrapper = [
    `const mod = require(${JSON.stringify(entry)});`,
    `const { cloudRunEntry } = require(${JSON.stringify(CLOUD_RUN_ENTRY)});`,
    `const entry = cloudRunEntry(mod, ${JSON.stringify(options)});`,
    `exports.${FUNCTION_ENTRY_POINT} = entry.functionsFramework;`,
    `if (require.main === module) entry.listen().then((s) => console.log(JSON.stringify({ severity: 'INFO', message: 'listening on ' + s.url })));`,
  ].join('\n');
  // Required lazily: esbuild is a devDependency, needed only when synthesizing with bundling on.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  let result: import('esbuild').BuildResult;
  try {
    result = esbuild.buildSync({
      stdin: {
        contents: wrapper,
        resolveDir: path.dirname(entry),
        sourcefile: `${opts.name}-cloud-run-entry.js`,
        loader: 'js',
      },
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      outfile: path.join(out, 'index.js'),
      sourcemap: false,
      minify: false,
      legalComments: 'none',
      logLevel: 'silent',
      // Node built-ins only; every package is inside the bundle so Google's build has nothing to resolve.
      external: [],
    });
  } catch (e) {
    throw new BundleError(`bundling ${opts.name} (${opts.entry}) failed: ${(e as Error).message}`);
  }
  if (result.errors.length) throw new BundleError(`bundling ${opts.name} failed: ${result.errors.map((e) => e.text).join('; ')}`);
  return out;
}
