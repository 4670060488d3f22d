import { FileStore } from '../../../lib/adapters/file/file-store';
import { ManualClock } from '../../../lib/core/clock';
import { detectProfile, LogAnalyzer, parseLogWatchConfig, trackerSink } from '../../../lib/core/logwatch';
import { RunRelay } from '../../../lib/core/run/relay';
import { Tracker } from '../../../lib/core/tracker/service';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function relay(detectWaitMs: number) {
  const tracker = new Tracker({ store: FileStore.inMemory(), clock: new ManualClock(Date.UTC(2026, 0, 1, 10)) });
  const sink = trackerSink(tracker);
  const samples: string[][] = [];
  const r = new RunRelay({
    sink,
    migrationId: 'm',
    phaseId: 'p',
    runId: 'run-1',
    command: 'aws s3 sync a s3://b',
    expectUpdateSeconds: 60,
    detectWaitMs,
    makeAnalyzer: (first) => {
      samples.push([...first]);
      return new LogAnalyzer({ sink, config: parseLogWatchConfig({}), completionByExit: true });
    },
  });
  return { r, samples };
}

describe('RunRelay profile detection window', () => {
  it('a tool slow to print its first line (a cold Python start under load) still gets its lines looked at: the window opens at the first line', async () => {
    const { r, samples } = relay(150);
    // nothing for longer than the whole window, then a warning line and the tool's own line just after it
    await wait(400);
    r.push('/usr/lib/python3/dist-packages/urllib3/connectionpool.py:1045: InsecureRequestWarning: Unverified HTTPS request');
    await wait(20);
    r.push('upload: files/f0.bin to s3://bkt/run/f0.bin');
    r.finish({ code: 0, signal: null });
    const d = await r.drain(5000);
    expect(d.delivered).toBe(true);
    expect(samples).toHaveLength(1);
    expect(samples[0]).toHaveLength(2);
    expect(detectProfile(samples[0]!)).toBe('aws-s3');
  });

  it('a tool that stays quiet after its first line does not hold the analyzer past the window', async () => {
    const { r, samples } = relay(100);
    r.push('just one line');
    await wait(600);
    expect(samples).toHaveLength(1);
    r.finish({ code: 0, signal: null });
    expect((await r.drain(5000)).delivered).toBe(true);
  });
});
