import type { FileHandle } from '../../src/io/file-system.js';
import { ForwardingFileSystem } from '../../src/io/forwarding-file-system.js';

/** Wraps a FileSystem, counting fdatasyncs and writes; can be told to fail writes. */
export class CountingFileSystem extends ForwardingFileSystem {
  fdatasyncs = 0;
  /** Paths passed to fdatasync, in call order. */
  readonly syncedPaths: string[] = [];
  /** Paths passed to write, in call order. */
  readonly writtenPaths: string[] = [];
  /** When set, write() calls it first; it may throw to simulate a failing disk. */
  beforeWrite: ((path: string) => void) | null = null;

  override fdatasync(handle: FileHandle): Promise<void> {
    this.fdatasyncs++;
    this.syncedPaths.push(handle.path);
    return this.inner.fdatasync(handle);
  }

  override write(handle: FileHandle, buffers: readonly Uint8Array[], position: number): number {
    this.beforeWrite?.(handle.path);
    this.writtenPaths.push(handle.path);
    return this.inner.write(handle, buffers, position);
  }
}
