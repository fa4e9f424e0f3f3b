import * as fs from 'node:fs';
import { dirname } from 'node:path';
import type { FileHandle, FileSystem, OpenFlags } from './file-system.js';

class NodeFileHandle implements FileHandle {
  constructor(readonly path: string, readonly fd: number) {}
}

function fdOf(handle: FileHandle): number {
  if (!(handle instanceof NodeFileHandle)) throw new TypeError(`Not a node file handle: ${handle.path}`);
  return handle.fd;
}

const OPEN_FLAGS: Record<OpenFlags, string | number> = {
  r: 'r',
  'r+': 'r+',
  'w+': 'w+',
  'c+': fs.constants.O_RDWR | fs.constants.O_CREAT,
};

/** 0o644: the log is readable by operators' tools, writable only by the broker. */
const FILE_MODE = 0o644;

function fsyncDirSync(path: string): void {
  const fd = fs.openSync(path, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function writeAll(fd: number, buffers: readonly Uint8Array[], position: number): number {
  let total = 0;
  for (const b of buffers) total += b.byteLength;
  let written = fs.writevSync(fd, buffers as Uint8Array[], position);
  // Regular files rarely write short, but it is allowed (e.g. a signal, a full disk at the edge);
  // finish the remainder rather than leave a hole the next append would land after.
  while (written < total) {
    let skip = written;
    const rest: Uint8Array[] = [];
    for (const b of buffers) {
      if (skip >= b.byteLength) {
        skip -= b.byteLength;
        continue;
      }
      rest.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    const n = fs.writevSync(fd, rest, position + written);
    if (n === 0) throw new Error(`writev made no progress on fd ${fd}`);
    written += n;
  }
  return written;
}

export const nodeFileSystem: FileSystem = {
  mkdirp(path) {
    fs.mkdirSync(path, { recursive: true });
  },
  readdir(path) {
    return fs.readdirSync(path);
  },
  exists(path) {
    return fs.existsSync(path);
  },
  open(path, flags) {
    return new NodeFileHandle(path, fs.openSync(path, OPEN_FLAGS[flags], FILE_MODE));
  },
  write(handle, buffers, position) {
    return writeAll(fdOf(handle), buffers, position);
  },
  read(handle, buf, offset, length, position) {
    const fd = fdOf(handle);
    let done = 0;
    // A short read before end of file is legal; keep going so callers can treat short as EOF.
    while (done < length) {
      const n = fs.readSync(fd, buf, offset + done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  },
  size(handle) {
    return fs.fstatSync(fdOf(handle)).size;
  },
  truncate(handle, length) {
    fs.ftruncateSync(fdOf(handle), length);
  },
  rename(from, to) {
    fs.renameSync(from, to);
  },
  unlink(path) {
    fs.unlinkSync(path);
  },
  rmrf(path) {
    fs.rmSync(path, { recursive: true, force: true });
  },
  readFile(path) {
    return fs.readFileSync(path);
  },
  writeFileAtomic(path, data) {
    const tmp = `${path}.tmp`;
    const fd = fs.openSync(tmp, 'w', FILE_MODE);
    try {
      writeAll(fd, [data], 0);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
    // The rename is only durable once the directory entry is.
    fsyncDirSync(dirname(path));
  },
  close(handle) {
    fs.closeSync(fdOf(handle));
  },
  fdatasync(handle) {
    const fd = fdOf(handle);
    return new Promise((resolve, reject) => {
      fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()));
    });
  },
  fsyncDir(path) {
    return new Promise((resolve, reject) => {
      fs.open(path, 'r', (openErr, fd) => {
        if (openErr) return reject(openErr);
        fs.fsync(fd, (syncErr) => {
          fs.close(fd, (closeErr) => {
            const err = syncErr ?? closeErr;
            if (err) reject(err);
            else resolve();
          });
        });
      });
    });
  },
};
