/**
 * The layout's rules, checked on the source: no import cycle (type-only imports included), arrows pointing
 * down (entrypoints → compose → core ← adapters), core free of cloud SDKs, constructs free of handler code,
 * and runtime shells that stay thin.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.join(__dirname, '..');
const DIRS = ['lib', 'lambda', 'cloud-run', 'stacks'];

function files(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return files(rel);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

function resolve(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.join(path.dirname(from), spec);
  for (const c of [base, `${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(path.join(ROOT, c)) && fs.statSync(path.join(ROOT, c)).isFile()) return path.normalize(c);
  throw new Error(`${from}: cannot resolve ${spec}`);
}

const all = DIRS.flatMap(files);
const imports = new Map<string, { local: string[]; packages: string[] }>();
for (const f of all) {
  const info = ts.preProcessFile(fs.readFileSync(path.join(ROOT, f), 'utf8'), true, true);
  const specs = info.importedFiles.map((i) => i.fileName);
  imports.set(f, { local: specs.map((s) => resolve(f, s)).filter((x): x is string => !!x), packages: specs.filter((s) => !s.startsWith('.')) });
}

describe('architecture', () => {
  it('has no import cycle, type-only imports included', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'open');
      stack.push(f);
      for (const to of imports.get(f)?.local ?? []) {
        if (state.get(to) === 'open') cycles.push([...stack.slice(stack.indexOf(to)), to].join(' -> '));
        else if (!state.has(to)) visit(to);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of all) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it('points its arrows down: core imports no adapter, composition, CLI, construct or cloud SDK; adapters do not compose; constructs never import handler code', () => {
    const wrong: string[] = [];
    for (const [f, { local, packages }] of imports) {
      for (const to of local) {
        if (f.startsWith('lib/core/') && /^lib\/(adapters|compose|cli|constructs)\//.test(to)) wrong.push(`${f} -> ${to}`);
        if (f.startsWith('lib/adapters/') && /^lib\/(compose|cli|constructs)\//.test(to)) wrong.push(`${f} -> ${to}`);
        if (f.startsWith('lib/constructs/') && /^(lambda|cloud-run)\//.test(to)) wrong.push(`${f} -> ${to}`);
        if (f.startsWith('lib/compose/') && /^lib\/(cli|constructs)\//.test(to)) wrong.push(`${f} -> ${to}`);
      }
      if (f.startsWith('lib/core/')) for (const p of packages) if (/^(@aws-sdk|@google-cloud|aws-cdk-lib|cdktf|@cdktf|ioredis|pg|nodemailer|prom-client)(\/|$)/.test(p)) wrong.push(`${f} -> ${p}`);
    }
    expect(wrong).toEqual([]);
  });

  it('keeps runtime shells thin: each Lambda and Cloud Run entry is at most 60 non-blank lines and decides nothing from the environment itself', () => {
    for (const f of all.filter((x) => /^(lambda|cloud-run)\/[^/]+\.ts$/.test(x))) {
      const src = fs.readFileSync(path.join(ROOT, f), 'utf8');
      expect({ f, lines: src.split('\n').filter((l) => l.trim()).length <= 60 }).toEqual({ f, lines: true });
      // variables are read by the composition layer (lib/compose), which the shell hands process.env to
      expect({ f, reads: /process\.env\[|process\.env\.[A-Z]/.test(src) }).toEqual({ f, reads: false });
    }
  });

  it('imports zod through its public entry as a namespace (`import * as z`), so bundles tree-shake its locales; never zod internals', () => {
    const wrong = all.filter((f) => {
      const src = fs.readFileSync(path.join(ROOT, f), 'utf8');
      // `import { z }` takes zod's materialized namespace object: every locale (~260 KB) lands in the bundle
      return /import\s*\{\s*z\b[^}]*\}\s*from\s*'zod'/.test(src) || /from\s*'[^']*node_modules\/zod/.test(src) || /from\s*'zod\/v4\/(classic|core\/[a-z])/.test(src);
    });
    expect(wrong).toEqual([]);
  });

  it('builds every schema of lib/, lambda/ and cloud-run/ with zod/mini through lib/core/zod.ts (English messages on), never classic zod: a handler bundle carries ~30 KB of zod, not ~100 KB', () => {
    const src = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');
    const shipped = all.filter((f) => /^(lib|lambda|cloud-run)\//.test(f));
    // the one door: zod/mini and the English locale, configured once
    expect(shipped.filter((f) => /from\s*'zod(\/[^']*)?'/.test(src(f)))).toEqual(['lib/core/zod.ts']);
    expect(src('lib/core/zod.ts')).toMatch(/config\(en\(\)\)/);
    // everyone else takes it as a namespace
    const imports = shipped.flatMap((f) => [...src(f).matchAll(/import\s+(type\s+)?([^'"]+?)\s+from\s*'([^']*\/zod)'/g)].map((m) => ({ f, what: m[2]!.trim(), to: path.join(path.dirname(f), m[3]!) })));
    expect(imports.length).toBeGreaterThanOrEqual(40);
    expect(imports.filter((i) => i.what !== '* as z' || i.to !== 'lib/core/zod')).toEqual([]);
  });
});
