import type { FileHandle, FileSystem, OpenFlags } from './file-system.js';

/**
 * A FileSystem that passes every call to another one. Wrappers (the disk engine's file-handle cache,
 * counting and fault-injecting test doubles) extend it and override only the calls they change.
 */
export class ForwardingFileSystem implements FileSystem {
  constructor(readonly inner: FileSystem) {}

  mkdirp(path: string): void {
    this.inner.mkdirp(path);
  }
  readdir(path: string): string[] {
    return this.inner.readdir(path);
  }
  exists(path: string): boolean {
    return this.inner.exists(path);
  }
  open(path: string, flags: OpenFlags): FileHandle {
    return this.inner.open(path, flags);
  }
  write(handle: FileHandle, buffers: readonly Uint8Array[], position: number): number {
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
  fdatasync(handle: FileHandle): Promise<void> {
    return this.inner.fdatasync(handle);
  }
  fsyncDir(path: string): Promise<void> {
    return this.inner.fsyncDir(path);
  }
}
