/**
 * The machine's limits, measured at the start of every run that needs them, because each target is a
 * ratio to them and they move with the machine's load: loopback TCP to a discarding child process with
 * 16 KiB and 1 MiB writes, and sequential appends with fdatasync every MiB. Each is measured `runs`
 * times over the same window as the cases; the median is the limit.
 */
import { LoopbackSink, type LoopbackResult } from './loopback.js';
import { measureFsyncLimit, type FsyncLimitResult } from './fsync-limit.js';
import { fmt, markdownTable, median, spread, MB } from './stats.js';
import type { Limits, SuiteOptions } from './suite.js';

export interface LimitsReport {
  limits: Limits;
  markdown: string;
  json: { loopback16k: LoopbackResult[]; loopback1m: LoopbackResult[]; fsyncPerMiB: FsyncLimitResult[]; limits: Limits };
}

export const UNMEASURED_LIMITS: Limits = { loopback16k: Number.NaN, loopback1m: Number.NaN, fsyncPerMiB: Number.NaN };

export async function measureLimits(o: SuiteOptions, log: (m: string) => void): Promise<LimitsReport> {
  const loop16k: LoopbackResult[] = [];
  const loop1m: LoopbackResult[] = [];
  const fsync: FsyncLimitResult[] = [];
  const sink = await LoopbackSink.start();
  try {
    for (let r = 0; r < o.runs; r++) {
      loop16k.push(await sink.measure(16 * 1024, o.seconds));
      log(`limits run ${r + 1}: loopback 16 KiB ${fmt(loop16k.at(-1)!.bytesPerSecond / MB)} MB/s`);
      loop1m.push(await sink.measure(1024 * 1024, o.seconds));
      log(`limits run ${r + 1}: loopback 1 MiB ${fmt(loop1m.at(-1)!.bytesPerSecond / MB)} MB/s`);
      fsync.push(await measureFsyncLimit(o.seconds));
      log(`limits run ${r + 1}: fdatasync every MiB ${fmt(fsync.at(-1)!.bytesPerSecond / MB)} MB/s`);
    }
  } finally {
    await sink.stop();
  }
  const limits: Limits = {
    loopback16k: median(loop16k.map((l) => l.bytesPerSecond)),
    loopback1m: median(loop1m.map((l) => l.bytesPerSecond)),
    fsyncPerMiB: median(fsync.map((f) => f.bytesPerSecond)),
  };
  const markdown = [
    '### Limits (measured in this run)',
    '',
    markdownTable(['limit', 'MB/s', 'how'], [
      ['loopback 16 KiB', spread(loop16k.map((l) => l.bytesPerSecond / MB)), 'one TCP connection to a child process that discards, 16 KiB writes'],
      ['loopback 1 MiB', spread(loop1m.map((l) => l.bytesPerSecond / MB)), 'the same with 1 MiB writes'],
      ['fdatasync every MiB', spread(fsync.map((f) => f.bytesPerSecond / MB)), `16 KiB appends to a fresh file in the temp dir, fdatasync after each MiB`],
    ]),
  ].join('\n');
  return { limits, markdown, json: { loopback16k: loop16k, loopback1m: loop1m, fsyncPerMiB: fsync, limits } };
}
