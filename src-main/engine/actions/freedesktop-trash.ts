/**
 * Doppel's own implementation of the freedesktop.org Trash specification (1.0) for Linux: it picks
 * the trash folder and the trashed name before anything moves, so the journal can record the exact
 * place a file is sent and undo can bring it back. Directories are never trashed here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** One trash folder: `files/` holds trashed files, `info/` their `.trashinfo` records. */
export interface TrashDir {
  root: string;
  files: string;
  info: string;
  /** True for the user's home trash ($XDG_DATA_HOME/Trash). */
  isHome: boolean;
}

/** Where the home trash is and whose per-disk trash folders to use. */
export interface TrashEnv {
  homeTrash: string;
  uid: number;
}

/** The home trash from $XDG_DATA_HOME (when absolute) or ~/.local/share, and this user's id. */
export function defaultTrashEnv(): TrashEnv {
  const xdg = process.env.XDG_DATA_HOME;
  const dataHome = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.local', 'share');
  return { homeTrash: path.join(dataHome, 'Trash'), uid: process.getuid?.() ?? 0 };
}

/**
 * The trash folder for `file`, created when needed: the home trash when the file is on the home
 * trash's device; else `$topdir/.Trash/$uid` (when `$topdir/.Trash` is a sticky, non-symlink folder)
 * or `$topdir/.Trash-$uid`, where $topdir is the file's mount point. When no folder can be made on
 * that disk (read-only, no permission), the home trash (the move then copies across devices).
 */
export function trashDirFor(file: string, env: TrashEnv): TrashDir {
  const home = ensureTrashDir(env.homeTrash, true);
  const fileDev = fs.statSync(path.dirname(file)).dev;
  if (fileDev === fs.statSync(home.root).dev) return home;

  const topdir = mountPointOf(path.dirname(file));
  const shared = path.join(topdir, '.Trash');
  if (isStickyFolder(shared)) {
    const dir = tryEnsureTrashDir(path.join(shared, String(env.uid)));
    if (dir) return dir;
  }
  return tryEnsureTrashDir(path.join(topdir, `.Trash-${env.uid}`)) ?? home;
}

/**
 * The first free trashed name for `original` in `trash`: its own name, then `NAME.2.ext`,
 * `NAME.3.ext`... A name is free when neither `files/NAME` nor `info/NAME.trashinfo` exists.
 */
export function freeTrashName(trash: TrashDir, original: string): string {
  const base = path.basename(original);
  const ext = base.startsWith('.') && base.indexOf('.', 1) < 0 ? '' : path.extname(base);
  const stem = base.slice(0, base.length - ext.length);
  for (let n = 1; ; n += 1) {
    const name = n === 1 ? base : `${stem}.${n}${ext}`;
    const taken =
      fs.existsSync(path.join(trash.files, name)) ||
      fs.existsSync(path.join(trash.info, `${name}.trashinfo`));
    if (!taken) return name;
  }
}

/**
 * Creates `infoPath` exclusively (O_EXCL, so a name another program took in the meantime throws
 * EEXIST) with the original path and deletion date, and flushes it to disk.
 */
export function writeTrashInfo(infoPath: string, original: string, deletedAt: Date): void {
  const fd = fs.openSync(infoPath, 'wx', 0o600);
  try {
    fs.writeSync(fd, formatTrashInfo(original, deletedAt));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The text of a `.trashinfo` file: URL-encoded absolute `Path=` and local `DeletionDate=`. */
export function formatTrashInfo(original: string, deletedAt: Date): string {
  return `[Trash Info]\nPath=${encodeTrashPath(original)}\nDeletionDate=${localIsoSeconds(deletedAt)}\n`;
}

/** The original path recorded in a `.trashinfo` file, or null when unreadable or malformed. */
export function readTrashInfoPath(infoPath: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(infoPath, 'utf8');
  } catch {
    return null;
  }
  if (!/^\[Trash Info\]\s*$/m.test(text)) return null;
  const line = /^Path=(.*)$/m.exec(text);
  if (!line) return null;
  try {
    return decodeURIComponent(line[1].trim());
  } catch {
    return null;
  }
}

/** Percent-encodes each segment of an absolute path, keeping the slashes (as the spec asks). */
export function encodeTrashPath(original: string): string {
  return original.split('/').map(encodeURIComponent).join('/');
}

function localIsoSeconds(d: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

function ensureTrashDir(root: string, isHome: boolean): TrashDir {
  const dir = { root, files: path.join(root, 'files'), info: path.join(root, 'info'), isHome };
  fs.mkdirSync(dir.files, { recursive: true, mode: 0o700 });
  fs.mkdirSync(dir.info, { recursive: true, mode: 0o700 });
  return dir;
}

// A per-disk trash that cannot be used (read-only disk, a symlink planted there) is skipped.
function tryEnsureTrashDir(root: string): TrashDir | null {
  try {
    const existing = fs.lstatSync(root, { throwIfNoEntry: false });
    if (existing && (!existing.isDirectory() || existing.isSymbolicLink())) return null;
    return ensureTrashDir(root, false);
  } catch {
    return null;
  }
}

function isStickyFolder(dir: string): boolean {
  const stat = fs.lstatSync(dir, { throwIfNoEntry: false });
  return Boolean(stat && stat.isDirectory() && !stat.isSymbolicLink() && stat.mode & 0o1000);
}

/** The mount point holding `dir`: the highest ancestor still on the same device. */
function mountPointOf(dir: string): string {
  let current = fs.realpathSync(dir);
  const dev = fs.statSync(current).dev;
  for (;;) {
    const parent = path.dirname(current);
    if (parent === current || fs.statSync(parent).dev !== dev) return current;
    current = parent;
  }
}
