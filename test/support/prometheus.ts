import { spawnSync } from 'node:child_process';

/** Parse the text exposition format: `name{a="b"} value` lines into a lookup, plus TYPE lines. */
export function parseExposition(text: string) {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels = (m[2] ?? '').slice(1, -1);
    const sorted = labels ? labels.split(/,(?=[a-z_]+=")/).sort().join(',') : '';
    samples.set(`${m[1]}{${sorted}}`, Number(m[3]));
  }
  return { samples, types, get: (name: string, labels: Record<string, string> = {}) => samples.get(`${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',')}}`) };
}

/** `promtool check metrics`: the reference linter of the exposition format and naming conventions. */
export function expectPromtoolClean(text: string) {
  const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (lint.error) throw new Error('promtool is not installed: apt-get install prometheus');
  expect(lint.stdout + lint.stderr).toBe('');
  expect(lint.status).toBe(0);
}
