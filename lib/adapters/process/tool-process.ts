import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { constants } from 'node:os';
import type { ToolExit } from '../../core/run/relay';

export interface ToolProcessOptions {
  argv: string[];
  /** Each line of stdout and stderr (split on \n and \r: progress meters redraw with \r). */
  onLine: (text: string, stream: 'stdout' | 'stderr') => void;
  /** Copy the tool's output to ours (default true): the user still sees it. */
  passThrough?: boolean;
  /** Copy the tool's stdout to our stderr (our stdout then carries only what we print ourselves). */
  stdoutToStderr?: boolean;
  /** Append the tool's output here too. */
  logFile?: string;
  /** Lines longer than this are cut (the rest still reaches the pass-through and the log file). */
  maxLineBytes?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ToolProcess {
  child: ChildProcess;
  exited: Promise<ToolExit>;
  /** Send a signal to the tool (Ctrl-C stops the tool, not only the wrapper). */
  signal(sig: NodeJS.Signals): void;
}

/** The exit code a shell reports for a tool killed by a signal: 128 + its number. */
export const exitCodeOf = (e: ToolExit): number => e.code ?? 128 + (e.signal ? (constants.signals[e.signal] ?? 0) : 0);

/**
 * Start a tool with stdin inherited and stdout/stderr piped: every chunk goes on to our own streams and the
 * log file at once, and is cut into lines for `onLine`. Nothing here waits on the tracker.
 */
export function startTool(o: ToolProcessOptions): ToolProcess {
  const [cmd, ...args] = o.argv;
  if (!cmd) throw new Error('no command to run (give it after --)');
  const child = spawn(cmd, args, { stdio: ['inherit', 'pipe', 'pipe'], env: o.env ?? process.env, cwd: o.cwd });
  const log = o.logFile ? fs.createWriteStream(o.logFile, { flags: 'a' }) : undefined;
  const max = o.maxLineBytes ?? 64 * 1024;
  const pending: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  const wire = (stream: 'stdout' | 'stderr', src: NodeJS.ReadableStream, dst: NodeJS.WriteStream) => {
    src.setEncoding('utf8');
    src.on('data', (chunk: string) => {
      if (o.passThrough !== false) dst.write(chunk);
      log?.write(chunk);
      const parts = (pending[stream] + chunk).split(/\r\n|\r|\n/);
      pending[stream] = parts.pop() ?? '';
      if (pending[stream].length > max) {
        parts.push(pending[stream].slice(0, max));
        pending[stream] = '';
      }
      for (const p of parts) o.onLine(p, stream);
    });
  };
  wire('stdout', child.stdout!, o.stdoutToStderr ? process.stderr : process.stdout);
  wire('stderr', child.stderr!, process.stderr);
  // Listening from the start: a stream may close before the process reports its exit.
  const closed = (s: NodeJS.ReadableStream) => new Promise<void>((r) => s.once('close', () => r()));
  const outputClosed = Promise.all([closed(child.stdout!), closed(child.stderr!)]);
  const exited = new Promise<ToolExit>((resolve) => {
    child.once('error', (e) => {
      o.onLine(`${cmd}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'command not found' : e.message}`, 'stderr');
      resolve({ code: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 127 : 126, signal: null });
    });
    child.once('exit', (code, signal) => {
      void outputClosed.then(() => {
        for (const s of ['stdout', 'stderr'] as const) if (pending[s]) o.onLine(pending[s], s);
        log?.end();
        resolve({ code, signal });
      });
    });
  });
  return {
    child,
    exited,
    signal: (sig) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
  };
}
