import type { FileHandle, FileSystem, OpenFlags } from '../../io/file-system.js';
import { ForwardingFileSystem } from '../../io/forwarding-file-system.js';

/**
 * Open segment files at most, per log manager (three per segment: .log, .index, .timeindex). Well
 * below a server's `ulimit -n` (20,000 on the benchmark machine), leaving room for sockets: 10,000
 * partitions have 30,000 segment files, but only the ones in use need descriptors.
 */
export const FILE_HANDLES_MAX = 4096;
/** A segment needs its three files; the bound must leave room for them beside syncs holding handles. */
export const FILE_HANDLES_MIN = 4;
/**
 * Slots fdatasyncs may not take: one for a synchronous open (which must always find a handle it may
 * close) and one for a short-lived handle opened outside the cache (a producer snapshot, the
 * cleaner's staged file).
 */
const UNPINNED_SLOTS_RESERVED = 2;

/**
 * One file of a segment, opened on first use and closed whenever the cache needs the descriptor.
 * get() returns a handle to use at once: any later call into the cache may close it.
 */
export class CachedFile {
  /** Open handle, or null while evicted (or before the first use). */
  handle: FileHandle | null = null;
  /** Flags for the next open: the creating flags the first time, then 'r+' (the file exists). */
  flags: OpenFlags;
  /** fdatasyncs running on `handle`; a pinned handle is never closed under them. */
  pins = 0;
  /** The owner is done with the file; the handle closes as soon as no sync uses it. */
  released = false;
  /** Neighbours in the cache's recency list while open (prev: more recent). */
  prev: CachedFile | null = null;
  next: CachedFile | null = null;

  constructor(
    private readonly cache: FileHandleCache,
    readonly path: string,
    flags: OpenFlags,
  ) {
    this.flags = flags;
  }

  get(): FileHandle {
    return this.cache.acquire(this);
  }

  /** fdatasync the file, holding its handle open until the sync returns. */
  sync(): Promise<void> {
    return this.cache.sync(this);
  }

  /** Close the handle (now, or when the last sync on it returns) and forget the file. */
  release(): void {
    this.cache.release(this);
  }
}

export interface FileHandleStats {
  readonly maxOpen: number;
  readonly open: number;
  readonly peakOpen: number;
  /** Opens of segment files, first ones and reopens after eviction. */
  readonly opens: number;
  readonly evictions: number;
}

/**
 * A FileSystem that bounds the descriptors the disk engine holds: segments register their files
 * (CachedFile) and the least recently used handle is closed when `maxOpen` would be exceeded. Every
 * other operation is passed through; handles opened directly with open() count toward the bound too
 * (they are short-lived: a snapshot's temporary file, the cleaner's staged copy) but are never closed
 * by the cache.
 *
 * Handles being fdatasynced are pinned and never closed under the sync. Pins are bounded at
 * maxOpen - UNPINNED_SLOTS_RESERVED (a sync waits for a slot, which frees when another sync returns),
 * so a synchronous open always finds an unpinned handle to close and never fails for want of one.
 *
 * Closing a handle between a write and its fdatasync is safe on Linux: dirty pages belong to the
 * file, not the descriptor, so an fdatasync through a new descriptor writes them back, and since
 * Linux 4.13 (errseq_t) a writeback error nobody has seen yet is reported to it too.
 *
 * Use is a move to the front of a linked list: no syscall and no allocation while the working set
 * fits, so a busy partition's active segment stays open as long as it is used.
 */
export class FileHandleCache extends ForwardingFileSystem {
  /** Most recently used open cached file, and the least. */
  private head: CachedFile | null = null;
  private tail: CachedFile | null = null;
  /** Open handles: cached ones plus raw ones. */
  private openCount = 0;
  private pinCount = 0;
  private readonly rawHandles = new Set<FileHandle>();
  /** Syncs waiting for a pin slot, oldest first; at most one per file being synced. */
  private slotWaiters: Array<() => void> = [];
  private peakOpen = 0;
  private opens = 0;
  private evictions = 0;

  constructor(
    inner: FileSystem,
    readonly maxOpen: number = FILE_HANDLES_MAX,
  ) {
    super(inner);
    if (!(maxOpen >= FILE_HANDLES_MIN)) throw new Error(`File handle bound ${maxOpen} is below ${FILE_HANDLES_MIN}`);
  }

  /** A segment file opened on first use with `flags` ('w+' truncates then; use it at once). */
  file(path: string, flags: OpenFlags): CachedFile {
    return new CachedFile(this, path, flags);
  }

  stats(): FileHandleStats {
    return { maxOpen: this.maxOpen, open: this.openCount, peakOpen: this.peakOpen, opens: this.opens, evictions: this.evictions };
  }

  acquire(file: CachedFile): FileHandle {
    if (file.released) throw new Error(`${file.path} is closed`);
    const open = file.handle;
    if (open !== null) {
      if (this.head !== file) {
        this.detach(file);
        this.pushFront(file);
      }
      return open;
    }
    this.makeRoom();
    const handle = this.inner.open(file.path, file.flags);
    file.handle = handle;
    file.flags = 'r+';
    this.opens++;
    this.opened();
    this.pushFront(file);
    return handle;
  }

  async sync(file: CachedFile): Promise<void> {
    while (this.pinCount >= this.maxOpen - UNPINNED_SLOTS_RESERVED) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    // Released while waiting: the segment was closed or deleted, and its bytes no longer matter.
    if (file.released) return;
    const handle = this.acquire(file);
    file.pins++;
    this.pinCount++;
    try {
      await this.inner.fdatasync(handle);
    } finally {
      file.pins--;
      this.pinCount--;
      if (file.pins === 0 && file.released && file.handle !== null) this.closeCached(file);
      this.slotWaiters.shift()?.();
    }
  }

  release(file: CachedFile): void {
    if (file.released) return;
    file.released = true;
    if (file.handle !== null && file.pins === 0) this.closeCached(file);
  }

  // FileSystem: segment files come through file(); open/close are counted, the rest passes through.

  override open(path: string, flags: OpenFlags): FileHandle {
    this.makeRoom();
    const handle = this.inner.open(path, flags);
    this.rawHandles.add(handle);
    this.opened();
    return handle;
  }

  override close(handle: FileHandle): void {
    if (this.rawHandles.delete(handle)) this.openCount--;
    this.inner.close(handle);
  }


  private opened(): void {
    this.openCount++;
    if (this.openCount > this.peakOpen) this.peakOpen = this.openCount;
  }

  /** Close least recently used unpinned handles until one more fits. */
  private makeRoom(): void {
    let candidate = this.tail;
    while (this.openCount >= this.maxOpen && candidate !== null) {
      const victim = candidate;
      candidate = candidate.prev;
      if (victim.pins > 0) continue;
      this.evictions++;
      this.closeCached(victim);
    }
    // Only reachable with several raw handles held across awaits; exceeding beats failing the write.
  }

  private closeCached(file: CachedFile): void {
    const handle = file.handle;
    if (handle === null) return;
    file.handle = null;
    this.detach(file);
    this.openCount--;
    this.inner.close(handle);
  }

  private pushFront(file: CachedFile): void {
    file.prev = null;
    file.next = this.head;
    if (this.head !== null) this.head.prev = file;
    this.head = file;
    if (this.tail === null) this.tail = file;
  }

  private detach(file: CachedFile): void {
    if (file.prev !== null) file.prev.next = file.next;
    else if (this.head === file) this.head = file.next;
    if (file.next !== null) file.next.prev = file.prev;
    else if (this.tail === file) this.tail = file.prev;
    file.prev = null;
    file.next = null;
  }
}

/** The cache behind `fs`, or an unbounded one when `fs` is a plain file system (one per caller). */
export function fileHandleCacheOf(fs: FileSystem): FileHandleCache {
  return fs instanceof FileHandleCache ? fs : new FileHandleCache(fs, Number.POSITIVE_INFINITY);
}
