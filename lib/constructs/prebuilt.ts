import fs from 'node:fs';
import path from 'node:path';

/**
 * Handler code shipped prebuilt inside the package (`npm run build` → dist/assets, see
 * scripts/build-assets.ts): a consumer's synth uses these instead of bundling, so it needs neither esbuild
 * nor tsx nor this repository's sources. In a source checkout there is no manifest and the constructs bundle
 * the TypeScript entries as before.
 */
export interface AssetManifest {
  aws: Array<{ entry: string; define: Record<string, string>; dir: string }>;
  gcp: Array<{ entry: string; exportName: string; adapter: string; name: string; dir: string }>;
}

/** Where the compiled constructs find the assets: dist/lib/constructs → dist/assets. */
export const ASSETS_DIR = path.join(__dirname, '../../assets');

let cached: AssetManifest | null | undefined;
export function assetManifest(dir = ASSETS_DIR): AssetManifest | null {
  if (dir !== ASSETS_DIR) return readManifest(dir);
  if (cached === undefined) cached = readManifest(dir);
  return cached;
}

function readManifest(dir: string): AssetManifest | null {
  const f = path.join(dir, 'manifest.json');
  return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, 'utf8')) as AssetManifest) : null;
}

/** "lambda/report.ts" from any absolute or relative entry path. */
export const entryKey = (entry: string) => `${path.basename(path.dirname(path.resolve(entry)))}/${path.basename(entry)}`;

const sameDefines = (a: Record<string, string>, b: Record<string, string>) => {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
};

/** The prebuilt Lambda bundle directory for this entry and these esbuild defines, if the package has it. */
export function prebuiltLambda(entry: string, define: Record<string, string>): string | undefined {
  const m = assetManifest();
  const hit = m?.aws.find((a) => a.entry === entryKey(entry) && sameDefines(a.define, define));
  return hit && path.join(ASSETS_DIR, hit.dir);
}

/** The prebuilt Cloud Run function directory (index.js + package.json) for these options, if the package has it. */
export function prebuiltCloudRun(o: { entry: string; exportName: string; adapter: string; name: string }): string | undefined {
  const m = assetManifest();
  const hit = m?.gcp.find((a) => a.entry === entryKey(o.entry) && a.exportName === o.exportName && a.adapter === o.adapter && a.name === o.name);
  return hit && path.join(ASSETS_DIR, hit.dir);
}
