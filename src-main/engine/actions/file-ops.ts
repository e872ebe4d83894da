/**
 * The file operations behind apply, undo and reconcile: hashing, and a move that never overwrites
 * and never leaves a half-written file under its final name.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The few file-system calls a move makes, as a seam: tests replace one of them to inject EXDEV,
 * EPERM or EACCES. Same semantics as the `node:fs` functions of the same name.
 */
export interface ActionFs {
  linkSync(existing: string, newPath: string): void;
  renameSync(from: string, to: string): void;
  unlinkSync(file: string): void;
  copyFileSync(from: string, to: string, mode: number): void;
}

/** The real file system. */
export const NODE_FS: ActionFs = {
  linkSync: (a, b) => fs.linkSync(a, b),
  renameSync: (a, b) => fs.renameSync(a, b),
  unlinkSync: (a) => fs.unlinkSync(a),
  copyFileSync: (a, b, mode) => fs.copyFileSync(a, b, mode),
};

/**
 * Test seam: a file system on which every folder behaves as its own device, so any link or rename
 * between two folders fails with EXDEV (as between two disks), and a move must copy.
 */
export function withFoldersAsDevices(base: ActionFs): ActionFs {
  const exdev = (from: string, to: string): void => {
    if (path.dirname(from) === path.dirname(to)) return;
    throw Object.assign(new Error(`EXDEV: cross-device link not permitted, '${from}' -> '${to}'`), {
      code: 'EXDEV',
    });
  };
  return {
    ...base,
    linkSync: (a, b) => (exdev(a, b), base.linkSync(a, b)),
    renameSync: (a, b) => (exdev(a, b), base.renameSync(a, b)),
  };
}

/** Named points inside a move where a test may pause (to be killed there). */
export type PausePoint = 'journaled' | 'info-written' | 'linked' | 'copied' | 'placed' | 'done';

/** What a move needs besides its two paths. */
export interface TransferOptions {
  fs: ActionFs;
  /** Where a copy across devices is written before it is verified; must be in `to`'s folder. */
  partial: string;
  /** sha256 (hex) the bytes must have; a copy that differs is removed and the move refused. */
  expectedHash: string;
  pause?: (point: PausePoint) => void;
}

/** How a move went: by a new name on the same device, or by a verified copy. */
export type TransferMethod = 'link' | 'rename' | 'copy';

/** Thrown when the copy made across devices does not hash to the expected content. */
export class CopyMismatchError extends Error {
  readonly code = 'COPY_MISMATCH';
  constructor(file: string) {
    super(`the copy of ${file} does not match the original`);
    this.name = 'CopyMismatchError';
  }
}

/** sha256 of a file's bytes, hex; reads it in 1 MiB chunks. Throws the fs error when unreadable. */
export function hashFile(file: string): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** True when a path exists (without following a final symlink). */
export function pathExists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** True when two existing paths are the same file (one inode, two names). */
export function isSameFile(a: string, b: string): boolean {
  try {
    const [sa, sb] = [fs.statSync(a), fs.statSync(b)];
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/** Removes a file if present; returns whether it was there. */
export function removeIfPresent(file: string, fsx: ActionFs = NODE_FS): boolean {
  try {
    fsx.unlinkSync(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Moves `from` to `to` without ever overwriting `to` (throws EEXIST) and without a half-written
 * file at `to`. Same device: a hard link then removing the old name (falls back to a checked rename
 * where the file system has no hard links). Across devices (EXDEV): copy to `partial`, fsync,
 * verify the hash, link into place, then remove the original. On any error the file is left only at
 * `from`. Throws the fs error (EEXIST, EACCES, EPERM, EROFS...) or CopyMismatchError.
 */
export function transferFile(from: string, to: string, opts: TransferOptions): TransferMethod {
  try {
    opts.fs.linkSync(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EXDEV') return copyAcross(from, to, opts);
    if (!isNoHardLinks(code)) throw err;
    return renameChecked(from, to, opts);
  }
  opts.pause?.('linked');
  try {
    opts.fs.unlinkSync(from);
  } catch (err) {
    // The old name cannot go (a read-only folder): drop the new name so one copy stays, at home.
    removeIfPresent(to, opts.fs);
    throw err;
  }
  syncFolder(path.dirname(to));
  return 'link';
}

// EPERM also comes from an immutable file; the rename that follows then fails the same way.
function isNoHardLinks(code: string | undefined): boolean {
  return (
    code === 'EPERM' ||
    code === 'ENOTSUP' ||
    code === 'EOPNOTSUPP' ||
    code === 'ENOSYS' ||
    code === 'EMLINK'
  );
}

// Limitation: on file systems without hard links (FAT, exFAT, some network shares) the name is
// checked free and then renamed; another program creating that very name in between would be
// overwritten. Node has no rename-without-replace (renameat2 RENAME_NOREPLACE).
function renameChecked(from: string, to: string, opts: TransferOptions): TransferMethod {
  if (pathExists(to)) throw Object.assign(new Error(`EEXIST: ${to}`), { code: 'EEXIST' });
  try {
    opts.fs.renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EXDEV') return copyAcross(from, to, opts);
    throw err;
  }
  syncFolder(path.dirname(to));
  return 'rename';
}

function copyAcross(from: string, to: string, opts: TransferOptions): TransferMethod {
  const { fs: fsx, partial } = opts;
  removeIfPresent(partial, fsx);
  try {
    fsx.copyFileSync(from, partial, fs.constants.COPYFILE_EXCL);
    const stat = fs.statSync(from);
    // Seconds as a float keep the time to the microsecond (a Date would round to the millisecond).
    fs.utimesSync(partial, stat.atimeMs / 1000, stat.mtimeMs / 1000);
    syncFile(partial);
    opts.pause?.('copied');
    if (hashFile(partial) !== opts.expectedHash) throw new CopyMismatchError(from);
    placeVerifiedCopy(partial, to, fsx);
  } catch (err) {
    removeIfPresent(partial, fsx);
    throw err;
  }
  opts.pause?.('placed');
  try {
    fsx.unlinkSync(from);
  } catch (err) {
    removeIfPresent(to, fsx);
    throw err;
  }
  syncFolder(path.dirname(from));
  return 'copy';
}

// The final name appears only once the bytes are verified, by a link (no overwrite) or, where
// hard links are missing, a checked rename.
function placeVerifiedCopy(partial: string, to: string, fsx: ActionFs): void {
  try {
    fsx.linkSync(partial, to);
  } catch (err) {
    if (!isNoHardLinks((err as NodeJS.ErrnoException).code)) throw err;
    if (pathExists(to)) throw Object.assign(new Error(`EEXIST: ${to}`), { code: 'EEXIST' });
    fsx.renameSync(partial, to);
    syncFolder(path.dirname(to));
    return;
  }
  try {
    fsx.unlinkSync(partial);
  } catch {
    // A leftover partial name is harmless (the file is complete under `to`); reconcile removes it.
  }
  syncFolder(path.dirname(to));
}

/** Flushes a file's bytes to disk. */
export function syncFile(file: string): void {
  // Read-only is enough for fsync on POSIX, and works when the copy kept a read-only mode.
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Flushes a folder's entries (new and removed names) to disk; a no-op where unsupported. */
export function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows and some network file systems cannot fsync a folder; the move itself succeeded.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
