import { posix } from 'node:path';
import type { FileHandle, FileSystem, OpenFlags } from '../io/file-system.js';

/**
 * An in-memory FileSystem that models what survives a power loss: each file keeps the bytes written
 * so far and, separately, the bytes made durable by the last completed fdatasync. crash() throws away
 * everything not durable, optionally keeping a prefix of the most recent write (a torn write).
 *
 * Simplifications, on purpose: creating, renaming and unlinking files and directories is durable at
 * once (so fsyncDir is a no-op), and writeFileAtomic is durable when it returns, which is what the
 * real implementation guarantees.
 */

/** Bounds on what a test can create, so a runaway test fails instead of eating the machine's memory. */
export const MEMORY_FS_MAX_FILES = 100_000;
export const MEMORY_FS_MAX_OPEN_HANDLES = 100_000;

interface MemoryFile {
  /** Written contents; only the first `length` bytes are meaningful. */
  data: Buffer;
  length: number;
  /** Contents as of the last completed fdatasync (or creation). */
  durable: Buffer;
}

interface LastWrite {
  readonly file: MemoryFile;
  readonly position: number;
  readonly bytes: Buffer;
  readonly seq: number;
}

class MemoryFileHandle implements FileHandle {
  constructor(
    readonly path: string,
    readonly file: MemoryFile,
    readonly writable: boolean,
    readonly generation: number,
  ) {}
  closed = false;
}

export interface CrashOptions {
  /**
   * Keep this many leading bytes of the most recent unsynced write, as if power failed while the disk
   * was writing it. Omitted: the whole unsynced write is lost.
   */
  readonly tearLastWriteAt?: number;
}

export interface MemoryFileSystemOptions {
  /** Awaited inside every fdatasync before it takes effect; lets tests hold syncs in flight. */
  readonly syncDelay?: () => Promise<void>;
}

function fsError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: ${syscall} '${path}'`);
  err.code = code;
  err.syscall = syscall;
  err.path = path;
  return err;
}

function normalize(path: string): string {
  const p = posix.normalize(path);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

export class MemoryFileSystem implements FileSystem {
  private readonly files = new Map<string, MemoryFile>();
  private readonly dirs = new Set<string>(['/']);
  private openHandles = 0;
  /** Bumped by crash(): handles and in-flight syncs from before the crash are dead. */
  private generation = 0;
  private writeSeq = 0;
  private lastWrite: LastWrite | null = null;
  private readonly syncDelay: () => Promise<void>;

  /** fdatasync calls started, for tests that count syncs. */
  fdatasyncCount = 0;

  constructor(options: MemoryFileSystemOptions = {}) {
    this.syncDelay = options.syncDelay ?? (() => Promise.resolve());
  }

  /**
   * Power loss: every file reverts to its durable contents, open handles become invalid and syncs
   * still in flight take no effect. The file system stays usable, like a rebooted machine.
   */
  crash(options: CrashOptions = {}): void {
    const torn = this.lastWrite;
    for (const file of this.files.values()) {
      file.data = Buffer.from(file.durable);
      file.length = file.durable.length;
    }
    if (torn !== null && options.tearLastWriteAt !== undefined && [...this.files.values()].includes(torn.file)) {
      const keep = torn.bytes.subarray(0, Math.max(0, Math.min(options.tearLastWriteAt, torn.bytes.length)));
      this.writeInto(torn.file, [keep], torn.position);
      // The torn prefix is what the platter holds now, so it is durable by definition.
      torn.file.durable = Buffer.from(torn.file.data.subarray(0, torn.file.length));
    }
    this.lastWrite = null;
    this.generation++;
    this.openHandles = 0;
  }

  /** Written (not necessarily durable) contents of a file, for assertions. */
  contents(path: string): Buffer {
    const file = this.fileAt(normalize(path), 'read');
    return Buffer.from(file.data.subarray(0, file.length));
  }

  /** Durable contents of a file, for assertions. */
  durableContents(path: string): Buffer {
    return Buffer.from(this.fileAt(normalize(path), 'read').durable);
  }

  mkdirp(path: string): void {
    let p = normalize(path);
    const missing: string[] = [];
    while (!this.dirs.has(p)) {
      if (this.files.has(p)) throw fsError('EEXIST', 'mkdir', p);
      missing.push(p);
      p = posix.dirname(p);
    }
    for (const d of missing) this.dirs.add(d);
  }

  readdir(path: string): string[] {
    const dir = normalize(path);
    if (!this.dirs.has(dir)) throw fsError(this.files.has(dir) ? 'ENOTDIR' : 'ENOENT', 'scandir', dir);
    const names: string[] = [];
    for (const p of [...this.dirs, ...this.files.keys()]) {
      if (p !== dir && posix.dirname(p) === dir) names.push(posix.basename(p));
    }
    return names.sort();
  }

  exists(path: string): boolean {
    const p = normalize(path);
    return this.files.has(p) || this.dirs.has(p);
  }

  open(path: string, flags: OpenFlags): FileHandle {
    const p = normalize(path);
    if (this.dirs.has(p)) throw fsError('EISDIR', 'open', p);
    if (this.openHandles >= MEMORY_FS_MAX_OPEN_HANDLES) throw fsError('EMFILE', 'open', p);
    let file = this.files.get(p);
    if (file === undefined) {
      if (flags === 'r' || flags === 'r+') throw fsError('ENOENT', 'open', p);
      file = this.createFile(p);
    } else if (flags === 'w+') {
      // O_TRUNC changes the written contents; like any metadata change it is durable only after sync.
      file.length = 0;
    }
    this.openHandles++;
    return new MemoryFileHandle(p, file, flags !== 'r', this.generation);
  }

  write(handle: FileHandle, buffers: readonly Uint8Array[], position: number): number {
    const h = this.live(handle, 'write');
    if (!h.writable) throw fsError('EBADF', 'write', h.path);
    const written = this.writeInto(h.file, buffers, position);
    this.lastWrite = {
      file: h.file,
      position,
      bytes: Buffer.concat(buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))),
      seq: ++this.writeSeq,
    };
    return written;
  }

  read(handle: FileHandle, buf: Uint8Array, offset: number, length: number, position: number): number {
    const h = this.live(handle, 'read');
    const n = Math.max(0, Math.min(length, h.file.length - position));
    if (n > 0) buf.set(h.file.data.subarray(position, position + n), offset);
    return n;
  }

  size(handle: FileHandle): number {
    return this.live(handle, 'fstat').file.length;
  }

  truncate(handle: FileHandle, length: number): void {
    const h = this.live(handle, 'ftruncate');
    if (!h.writable) throw fsError('EBADF', 'ftruncate', h.path);
    if (length > h.file.length) {
      this.ensureCapacity(h.file, length);
      h.file.data.fill(0, h.file.length, length);
    }
    h.file.length = length;
  }

  rename(from: string, to: string): void {
    const src = normalize(from);
    const dst = normalize(to);
    this.requireParent(dst, 'rename');
    const file = this.files.get(src);
    if (file !== undefined) {
      this.files.delete(src);
      this.files.set(dst, file);
      return;
    }
    if (!this.dirs.has(src)) throw fsError('ENOENT', 'rename', src);
    const prefix = `${src}/`;
    for (const d of [...this.dirs]) {
      if (d === src || d.startsWith(prefix)) {
        this.dirs.delete(d);
        this.dirs.add(dst + d.slice(src.length));
      }
    }
    for (const [p, f] of [...this.files]) {
      if (p.startsWith(prefix)) {
        this.files.delete(p);
        this.files.set(dst + p.slice(src.length), f);
      }
    }
  }

  unlink(path: string): void {
    const p = normalize(path);
    if (!this.files.delete(p)) throw fsError(this.dirs.has(p) ? 'EISDIR' : 'ENOENT', 'unlink', p);
  }

  rmrf(path: string): void {
    const p = normalize(path);
    this.files.delete(p);
    if (!this.dirs.has(p)) return;
    const prefix = `${p}/`;
    for (const f of [...this.files.keys()]) if (f.startsWith(prefix)) this.files.delete(f);
    for (const d of [...this.dirs]) if (d === p || d.startsWith(prefix)) this.dirs.delete(d);
  }

  readFile(path: string): Buffer {
    return this.contents(path);
  }

  writeFileAtomic(path: string, data: Uint8Array): void {
    const p = normalize(path);
    this.requireParent(p, 'open');
    const file = this.createFile(p);
    file.data = Buffer.from(data);
    file.length = data.byteLength;
    file.durable = Buffer.from(data);
  }

  close(handle: FileHandle): void {
    const h = this.live(handle, 'close');
    h.closed = true;
    this.openHandles--;
  }

  async fdatasync(handle: FileHandle): Promise<void> {
    const h = this.live(handle, 'fdatasync');
    const file = h.file;
    // Only what was written before the call is guaranteed; writes racing with the sync are not.
    const snapshot = Buffer.from(file.data.subarray(0, file.length));
    const seqAtStart = this.writeSeq;
    const generation = this.generation;
    this.fdatasyncCount++;
    await this.syncDelay();
    if (generation !== this.generation) return; // the machine "rebooted" while the disk was busy
    file.durable = snapshot;
    if (this.lastWrite !== null && this.lastWrite.file === file && this.lastWrite.seq <= seqAtStart) {
      this.lastWrite = null;
    }
  }

  async fsyncDir(path: string): Promise<void> {
    const p = normalize(path);
    if (!this.dirs.has(p)) throw fsError('ENOENT', 'fsync', p);
  }

  private createFile(p: string): MemoryFile {
    this.requireParent(p, 'open');
    if (!this.files.has(p) && this.files.size >= MEMORY_FS_MAX_FILES) throw fsError('ENOSPC', 'open', p);
    const file: MemoryFile = { data: Buffer.alloc(0), length: 0, durable: Buffer.alloc(0) };
    this.files.set(p, file);
    return file;
  }

  private requireParent(p: string, syscall: string): void {
    const parent = posix.dirname(p);
    if (!this.dirs.has(parent)) throw fsError('ENOENT', syscall, p);
  }

  private fileAt(p: string, syscall: string): MemoryFile {
    const file = this.files.get(p);
    if (file === undefined) throw fsError(this.dirs.has(p) ? 'EISDIR' : 'ENOENT', syscall, p);
    return file;
  }

  private live(handle: FileHandle, syscall: string): MemoryFileHandle {
    if (!(handle instanceof MemoryFileHandle)) throw new TypeError(`Not a memory file handle: ${handle.path}`);
    if (handle.closed || handle.generation !== this.generation) throw fsError('EBADF', syscall, handle.path);
    return handle;
  }

  private ensureCapacity(file: MemoryFile, needed: number): void {
    if (needed <= file.data.length) return;
    const grown = Buffer.alloc(Math.max(needed, file.data.length * 2, 4096));
    file.data.copy(grown, 0, 0, file.length);
    file.data = grown;
  }

  private writeInto(file: MemoryFile, buffers: readonly Uint8Array[], position: number): number {
    let total = 0;
    for (const b of buffers) total += b.byteLength;
    this.ensureCapacity(file, position + total);
    // Writing past the end leaves a hole that reads back as zeros.
    if (position > file.length) file.data.fill(0, file.length, position);
    let at = position;
    for (const b of buffers) {
      file.data.set(b, at);
      at += b.byteLength;
    }
    file.length = Math.max(file.length, at);
    return total;
  }
}
