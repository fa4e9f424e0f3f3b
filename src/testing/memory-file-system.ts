import { posix } from 'node:path';
import type { FileHandle, FileSystem, OpenFlags } from '../io/file-system.js';

/**
 * An in-memory FileSystem that models what survives a power loss: each file keeps the bytes written
 * so far and, separately, the bytes made durable by the last completed fdatasync. crash() throws away
 * everything not durable, optionally keeping a prefix of the most recent write (a torn write).
 *
 * Faults (see setCapacity, injectFault, flipBit): a disk that is full (ENOSPC after a short write),
 * operations failing with EIO (by path, for the next N or until cleared; a failed fdatasync leaves the
 * durable contents as they were), and flipped bits in stored bytes. Errors look like Node's: an Error
 * with `code`, `syscall` and `path`.
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

/** Operations a fault rule can fail. */
export type FaultOperation = 'write' | 'fdatasync' | 'read' | 'truncate';

/**
 * Fail matching operations with an errno code, as Node would (`err.code`): every matching one, or
 * only the next `count`. `path` limits the rule to paths containing the string, or matching the regexp.
 */
export interface FaultRule {
  readonly code: 'EIO' | 'ENOSPC' | 'EROFS' | 'EDQUOT';
  readonly operations: readonly FaultOperation[];
  readonly path?: string | RegExp;
  readonly count?: number;
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
  /** Operations failed by a fault rule or by the capacity limit. */
  injectedFaults = 0;
  /** Total bytes the files may hold (their written lengths); null is unlimited. */
  private capacityBytes: number | null = null;
  private faultRules: Array<{ rule: FaultRule; remaining: number }> = [];

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

  /**
   * Disk full: writes that would make the files hold more than `bytes` in total fail with ENOSPC
   * after writing the part that fits (a short write, which Node's writev loop turns into ENOSPC).
   * Shrinking and overwriting in place still work. null lifts the limit.
   */
  setCapacity(bytes: number | null): void {
    this.capacityBytes = bytes;
  }

  /** The disk is full from now on (at exactly what is used) or no longer. */
  setDiskFull(full: boolean): void {
    this.capacityBytes = full ? this.usedBytes() : null;
  }

  /** Bytes held by all files (written, not necessarily durable). */
  usedBytes(): number {
    let total = 0;
    for (const f of this.files.values()) total += f.length;
    return total;
  }

  /** Fail operations matching `rule` (see FaultRule). */
  injectFault(rule: FaultRule): void {
    this.faultRules.push({ rule, remaining: rule.count ?? Number.POSITIVE_INFINITY });
  }

  /** Remove every fault rule and the capacity limit: the disk is healthy again. */
  clearFaults(): void {
    this.faultRules = [];
    this.capacityBytes = null;
  }

  /**
   * Flip one bit of a stored byte, in both the written and the durable contents (media corruption,
   * which no fsync protects against).
   */
  flipBit(path: string, byteOffset: number, bit = 0): void {
    const file = this.fileAt(normalize(path), 'open');
    const mask = 1 << (bit & 7);
    if (byteOffset < 0 || byteOffset >= file.length) throw new RangeError(`No byte ${byteOffset} in ${path} (${file.length} bytes)`);
    file.data[byteOffset] = (file.data[byteOffset] as number) ^ mask;
    if (byteOffset < file.durable.length) {
      file.durable = Buffer.from(file.durable);
      file.durable[byteOffset] = (file.durable[byteOffset] as number) ^ mask;
    }
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
    this.checkFault('write', h.path, 'write');
    let bytes = Buffer.concat(buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
    const room = this.roomFor(h.file, position, bytes.length);
    const full = room < bytes.length;
    if (full) bytes = bytes.subarray(0, room);
    if (bytes.length > 0) {
      this.writeInto(h.file, [bytes], position);
      this.lastWrite = { file: h.file, position, bytes, seq: ++this.writeSeq };
    }
    if (full) {
      this.injectedFaults++;
      throw fsError('ENOSPC', 'write', h.path);
    }
    return bytes.length;
  }

  read(handle: FileHandle, buf: Uint8Array, offset: number, length: number, position: number): number {
    const h = this.live(handle, 'read');
    this.checkFault('read', h.path, 'read');
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
    this.checkFault('truncate', h.path, 'ftruncate');
    if (length > h.file.length) {
      if (this.roomFor(h.file, 0, length) < length) {
        this.injectedFaults++;
        throw fsError('ENOSPC', 'ftruncate', h.path);
      }
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
    this.checkFault('read', normalize(path), 'read');
    return this.contents(path);
  }

  writeFileAtomic(path: string, data: Uint8Array): void {
    const p = normalize(path);
    this.requireParent(p, 'open');
    this.checkFault('write', p, 'write');
    // The temporary file is written in full while the old one still exists.
    if (this.capacityBytes !== null && this.usedBytes() + data.byteLength > this.capacityBytes) {
      this.injectedFaults++;
      throw fsError('ENOSPC', 'write', `${p}.tmp`);
    }
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
    let failure: unknown = null;
    try {
      this.checkFault('fdatasync', h.path, 'fdatasync');
    } catch (err) {
      failure = err;
    }
    await this.syncDelay();
    if (generation !== this.generation) return; // the machine "rebooted" while the disk was busy
    // A failed writeback leaves the durable contents as they were.
    if (failure !== null) throw failure;
    file.durable = snapshot;
    if (this.lastWrite !== null && this.lastWrite.file === file && this.lastWrite.seq <= seqAtStart) {
      this.lastWrite = null;
    }
  }

  async fsyncDir(path: string): Promise<void> {
    const p = normalize(path);
    if (!this.dirs.has(p)) throw fsError('ENOENT', 'fsync', p);
  }

  /** Bytes a write of `length` at `position` may put in `file` before the capacity runs out. */
  private roomFor(file: MemoryFile, position: number, length: number): number {
    if (this.capacityBytes === null) return length;
    const free = Math.max(0, this.capacityBytes - this.usedBytes());
    // Overwriting existing bytes needs no room; only growth past the current end does.
    return Math.max(0, Math.min(length, file.length + free - position));
  }

  private checkFault(operation: FaultOperation, path: string, syscall: string): void {
    for (const f of this.faultRules) {
      if (f.remaining <= 0 || !f.rule.operations.includes(operation)) continue;
      const pattern = f.rule.path;
      if (pattern !== undefined && !(typeof pattern === 'string' ? path.includes(pattern) : pattern.test(path))) continue;
      f.remaining--;
      this.injectedFaults++;
      throw fsError(f.rule.code, syscall, path);
    }
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
