import type { FileHandle, FileSystem } from '../../src/io/file-system.js';

/** Wraps a FileSystem, counting fdatasyncs and writes; can be told to fail writes. */
export class CountingFileSystem implements FileSystem {
  fdatasyncs = 0;
  /** Paths passed to fdatasync, in call order. */
  readonly syncedPaths: string[] = [];
  /** Paths passed to write, in call order. */
  readonly writtenPaths: string[] = [];
  /** When set, write() calls it first; it may throw to simulate a failing disk. */
  beforeWrite: ((path: string) => void) | null = null;

  constructor(private readonly inner: FileSystem) {}

  fdatasync(handle: FileHandle): Promise<void> {
    this.fdatasyncs++;
    this.syncedPaths.push(handle.path);
    return this.inner.fdatasync(handle);
  }

  mkdirp(path: string): void {
    this.inner.mkdirp(path);
  }
  readdir(path: string): string[] {
    return this.inner.readdir(path);
  }
  exists(path: string): boolean {
    return this.inner.exists(path);
  }
  open(path: string, flags: Parameters<FileSystem['open']>[1]): FileHandle {
    return this.inner.open(path, flags);
  }
  write(handle: FileHandle, buffers: readonly Uint8Array[], position: number): number {
    this.beforeWrite?.(handle.path);
    this.writtenPaths.push(handle.path);
    return this.inner.write(handle, buffers, position);
  }
  read(handle: FileHandle, buf: Uint8Array, offset: number, length: number, position: number): number {
    return this.inner.read(handle, buf, offset, length, position);
  }
  size(handle: FileHandle): number {
    return this.inner.size(handle);
  }
  truncate(handle: FileHandle, length: number): void {
    this.inner.truncate(handle, length);
  }
  rename(from: string, to: string): void {
    this.inner.rename(from, to);
  }
  unlink(path: string): void {
    this.inner.unlink(path);
  }
  rmrf(path: string): void {
    this.inner.rmrf(path);
  }
  readFile(path: string): Buffer {
    return this.inner.readFile(path);
  }
  writeFileAtomic(path: string, data: Uint8Array): void {
    this.inner.writeFileAtomic(path, data);
  }
  close(handle: FileHandle): void {
    this.inner.close(handle);
  }
  fsyncDir(path: string): Promise<void> {
    return this.inner.fsyncDir(path);
  }
}
