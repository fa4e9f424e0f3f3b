/**
 * The durable-append limit of the disk the broker uses: sequential 16 KiB writes to a fresh file in
 * os.tmpdir() (where the disk broker's data dirs are made), with fdatasync after every MiB, for a fixed
 * window. This is what a log that syncs every MiB could at best reach on this machine; durable produce
 * is compared with it. Synchronous calls: nothing else runs in this process while it is measured.
 */
import { closeSync, fdatasyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const WRITE_BYTES = 16 * 1024;
const SYNC_EVERY_BYTES = 1024 * 1024;
/** Long windows write gigabytes; start a new file (and delete the old one) at this size, like a segment roll. */
const FILE_ROLL_BYTES = 1024 * 1024 * 1024;

export interface FsyncLimitResult {
  bytes: number;
  syncs: number;
  seconds: number;
  bytesPerSecond: number;
}

export async function measureFsyncLimit(seconds: number): Promise<FsyncLimitResult> {
  const dir = await mkdtemp(join(tmpdir(), 'fjord-bench-fsync-'));
  const buf = Buffer.alloc(WRITE_BYTES, 0x5a);
  let fileIndex = 0;
  let path = join(dir, `append-${fileIndex}.log`);
  let fd = openSync(path, 'wx');
  let bytes = 0;
  let syncs = 0;
  let sinceSync = 0;
  let inFile = 0;
  try {
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    let now = t0;
    while (now < deadline) {
      let off = 0;
      while (off < WRITE_BYTES) off += writeSync(fd, buf, off, WRITE_BYTES - off);
      bytes += WRITE_BYTES;
      sinceSync += WRITE_BYTES;
      inFile += WRITE_BYTES;
      if (sinceSync >= SYNC_EVERY_BYTES) {
        fdatasyncSync(fd);
        syncs++;
        sinceSync = 0;
        now = performance.now();
      }
      if (inFile >= FILE_ROLL_BYTES) {
        closeSync(fd);
        unlinkSync(path);
        path = join(dir, `append-${++fileIndex}.log`);
        fd = openSync(path, 'wx');
        inFile = 0;
      }
    }
    // Only synced bytes count: the window ends right after a sync.
    const elapsed = (now - t0) / 1000;
    return { bytes, syncs, seconds: elapsed, bytesPerSecond: bytes / elapsed };
  } finally {
    closeSync(fd);
    await rm(dir, { recursive: true, force: true });
  }
}
