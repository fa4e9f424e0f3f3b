/**
 * The file operations the log needs, behind an interface so storage never touches node:fs and tests
 * can swap in an in-memory file system that simulates power loss.
 *
 * Synchronous by default: appends to one partition must be ordered and the files are local, so a
 * blocking write into the page cache is cheaper than a round trip through the libuv pool. The one
 * slow operation, fdatasync, is asynchronous so the event loop keeps serving while the disk works.
 */

/** An open file. Opaque: only the FileSystem that opened it can use it. */
export interface FileHandle {
  readonly path: string;
}

/**
 * r  — read only; the file must exist.
 * r+ — read/write; the file must exist.
 * w+ — read/write; created, or truncated if it exists.
 * c+ — read/write; created if missing, contents kept (no Node string flag has this meaning).
 */
export type OpenFlags = 'r' | 'r+' | 'w+' | 'c+';

export interface FileSystem {
  /** Create the directory and any missing parents; no error if it exists. */
  mkdirp(path: string): void;
  /** Names (not paths) of the entries in a directory. */
  readdir(path: string): string[];
  exists(path: string): boolean;
  open(path: string, flags: OpenFlags): FileHandle;
  /** Write all of `buffers` at `position` with one writev (looping only on a short write). */
  write(handle: FileHandle, buffers: readonly Uint8Array[], position: number): number;
  /** Read up to `length` bytes into `buf` at `offset` from file `position`; fewer only at end of file. */
  read(handle: FileHandle, buf: Uint8Array, offset: number, length: number, position: number): number;
  size(handle: FileHandle): number;
  truncate(handle: FileHandle, length: number): void;
  rename(from: string, to: string): void;
  unlink(path: string): void;
  /** Remove a file or a directory tree; no error if it is missing. */
  rmrf(path: string): void;
  readFile(path: string): Buffer;
  /** Replace a file so that after a crash it holds either the old or the new contents, never a mix. */
  writeFileAtomic(path: string, data: Uint8Array): void;
  close(handle: FileHandle): void;
  /** Make the file's data (and the size needed to read it back) durable. Runs off the event loop. */
  fdatasync(handle: FileHandle): Promise<void>;
  /** Make the directory's entries (files created, renamed or removed in it) durable. */
  fsyncDir(path: string): Promise<void>;
}
