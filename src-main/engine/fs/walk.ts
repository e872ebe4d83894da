/**
 * The folder walk: every regular file under the scan roots, one stat each, streamed as it goes.
 * Skips hidden and system folders, never loops on links, and keeps raw name bytes so files whose
 * names are not UTF-8 can still be opened. Reads only: nothing is ever written to the roots.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isUtf8 } from 'node:buffer';
import picomatch from 'picomatch';
import { AppError, PROBLEM_CATALOG, type ProblemCode } from '../../contract/errors';

/** Options for walk. */
export interface WalkOptions {
  /**
   * Globs (picomatch) of files and folders to leave out, matched against the path relative to
   * its root and against the absolute path, with `/` separators; a glob without a slash also
   * matches any base name (`*.tmp`). A matching folder is not entered.
   */
  exclude?: string[];
  /** Also walk names starting with a dot (system and trash folders stay skipped). */
  includeHidden?: boolean;
  /** The file system to read; tests inject failures through it. Defaults to node:fs. */
  fs?: WalkFs;
}

/** What walk needs from a stat: the file's identity, size and modification time. */
export type WalkStat = Pick<
  fs.Stats,
  'size' | 'mtimeMs' | 'dev' | 'ino' | 'isFile' | 'isDirectory'
>;

/** The reads walk makes, all on raw byte paths. */
export interface WalkFs {
  /** Entry names of a folder, as raw bytes. */
  readdir(dir: Buffer): Promise<Buffer[]>;
  /** Stat following symbolic links. */
  stat(file: Buffer): Promise<WalkStat>;
  /** Stat of the link itself; only used to explain a failed stat. */
  lstat(file: Buffer): Promise<{ isSymbolicLink(): boolean }>;
}

/** One result of walk: a regular file, or a place the walk could not go, with its reason. */
export type WalkEntry =
  | {
      kind: 'file';
      /** Absolute path for display and storage; bytes that are not UTF-8 appear as `\xNN`. */
      path: string;
      /** The exact path bytes: open the file with these. */
      pathBytes: Buffer;
      size: number;
      mtimeMs: number;
      dev: number;
      ino: number;
      /** False when the path holds bytes that are not UTF-8 (then `path` escapes them). */
      nameIsUtf8: boolean;
    }
  | { kind: 'problem'; path: string; code: ProblemCode; detail: string };

/** Folder names never walked: OS trash, indexes and NAS metadata (compared case-insensitively). */
export const SYSTEM_FOLDER_NAMES: ReadonlySet<string> = new Set(
  [
    '$recycle.bin',
    'recycler',
    'recycled',
    'system volume information',
    '.trash',
    '.trashes',
    '.fseventsd',
    '.spotlight-v100',
    '.documentrevisions-v100',
    '.temporaryitems',
    '.thumbnails',
    'lost+found',
    '@eadir',
    '#recycle',
    '#snapshot',
    '@recycle',
    '.@__thumb',
  ].map((n) => n.toLowerCase()),
);

/** Stats run this many at a time: enough to hide disk latency, few enough to stay gentle on a NAS. */
const STAT_CONCURRENCY = 32;
const SEP = Buffer.from(path.sep);

// Limitation: only Linux is tested. On Windows node:fs takes these byte paths as UTF-8 without
// the `\\?\` prefix it adds to string paths, so paths over 260 characters there rely on the
// system's long-path setting, and names with unpaired UTF-16 surrogates may show as VANISHED.

/** A folder waiting to be read, with the chain of folders above it (for loop detection). */
interface Folder {
  bytes: Buffer;
  display: string;
  /** Path relative to its root, `/`-separated; '' for a root. */
  rel: string;
  isUtf8: boolean;
  key: string;
  parent: Folder | null;
}

type Visit =
  | { kind: 'file'; entry: WalkEntry & { kind: 'file' } }
  | { kind: 'folder'; folder: Folder }
  | { kind: 'problem'; entry: WalkEntry & { kind: 'problem' } }
  | { kind: 'skip' };

/**
 * Walks `roots` depth-first in name order and yields each regular file once (by device and
 * inode, however many links reach it), following symbolic links to files and folders. A link
 * back to a folder above it yields one SYMLINK_LOOP problem and is not followed; a folder that
 * vanishes or cannot be read yields a problem and the walk goes on. Sockets, FIFOs and devices
 * are skipped. Memory holds one folder's names plus the folders still to visit.
 */
export async function* walk(roots: string[], opts: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  const reader = opts.fs ?? NODE_FS;
  const isExcluded = excludeMatcher(opts.exclude ?? []);
  const seenFolders = new Set<string>();
  const seenFiles = new Map<number, Set<number>>();
  const walkState: WalkState = { reader, isExcluded, opts, seenFolders, seenFiles };

  for (const root of roots) {
    const abs = path.resolve(root);
    const rootFolder: Folder = {
      bytes: Buffer.from(abs),
      display: abs,
      rel: '',
      isUtf8: true,
      key: '',
      parent: null,
    };
    const visit = await visitRoot(walkState, rootFolder);
    if (visit.kind === 'file' || visit.kind === 'problem') yield visit.entry;
    if (visit.kind !== 'folder') continue;

    const stack: Folder[] = [visit.folder];
    while (stack.length) {
      const folder = stack.pop() as Folder;
      const children: Folder[] = [];
      for await (const child of readFolder(walkState, folder)) {
        if (child.kind === 'folder') children.push(child.folder);
        else if (child.kind !== 'skip') yield child.entry;
      }
      // Reversed so the first name is visited first.
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
    }
  }
}

interface WalkState {
  reader: WalkFs;
  isExcluded: (rel: string, abs: string) => boolean;
  opts: WalkOptions;
  seenFolders: Set<string>;
  seenFiles: Map<number, Set<number>>;
}

async function visitRoot(state: WalkState, root: Folder): Promise<Visit> {
  let stat: WalkStat;
  try {
    stat = await state.reader.stat(root.bytes);
  } catch (err) {
    const problem = problemFor(err, 'folder');
    return problemVisit(root.display, problem.code, problem.detail);
  }
  return classify(state, root, stat);
}

/** Reads one folder; yields its entries in name order, stat'ing a batch at a time. */
async function* readFolder(state: WalkState, folder: Folder): AsyncGenerator<Visit> {
  let names: Buffer[];
  try {
    names = await state.reader.readdir(folder.bytes);
  } catch (err) {
    const problem = problemFor(err, 'folder');
    yield problemVisit(folder.display, problem.code, problem.detail);
    return;
  }
  names.sort(Buffer.compare);

  const wanted = names.filter((name) => !isSkippedName(name, state.opts.includeHidden === true));
  for (let start = 0; start < wanted.length; start += STAT_CONCURRENCY) {
    const batch = wanted.slice(start, start + STAT_CONCURRENCY);
    const stats = await Promise.all(batch.map((name) => statChild(state, folder, name)));
    // Classified in name order, so which of two links to one folder is walked never depends on
    // which stat finished first.
    for (const result of stats) {
      if (result === null) continue;
      if ('error' in result) yield await statFailure(state, result.item, result.error);
      else yield classify(state, result.item, result.stat);
    }
  }
}

type ChildStat = { item: Folder; stat: WalkStat } | { item: Folder; error: unknown } | null;

/** Stats one entry of `parent`; null when an exclude glob leaves it out. */
async function statChild(state: WalkState, parent: Folder, name: Buffer): Promise<ChildStat> {
  const nameIsUtf8 = isUtf8(name);
  const shownName = nameIsUtf8 ? name.toString('utf8') : escapeNonUtf8(name);
  const child: Folder = {
    bytes: Buffer.concat([parent.bytes, SEP, name]),
    display: parent.display + path.sep + shownName,
    rel: parent.rel ? `${parent.rel}/${shownName}` : shownName,
    isUtf8: parent.isUtf8 && nameIsUtf8,
    key: '',
    parent,
  };
  if (state.isExcluded(child.rel, child.display)) return null;
  try {
    return { item: child, stat: await state.reader.stat(child.bytes) };
  } catch (error) {
    return { item: child, error };
  }
}

/** Turns a stat into a file to yield, a folder to enter, a loop problem, or nothing. */
function classify(state: WalkState, item: Folder, stat: WalkStat): Visit {
  if (stat.isDirectory()) {
    const key = `${stat.dev}:${stat.ino}`;
    if (state.seenFolders.has(key)) {
      const target = ancestorWithKey(item.parent, key);
      if (!target) return { kind: 'skip' }; // reached before through another link: walked once
      const detail = `${PROBLEM_CATALOG.SYMLINK_LOOP} (it leads back to ${target.display})`;
      return problemVisit(item.display, 'SYMLINK_LOOP', detail);
    }
    state.seenFolders.add(key);
    return { kind: 'folder', folder: { ...item, key } };
  }
  if (!stat.isFile()) return { kind: 'skip' };

  let inodes = state.seenFiles.get(stat.dev);
  if (!inodes) state.seenFiles.set(stat.dev, (inodes = new Set()));
  if (inodes.has(stat.ino)) return { kind: 'skip' };
  inodes.add(stat.ino);
  return {
    kind: 'file',
    entry: {
      kind: 'file',
      path: item.display,
      pathBytes: item.bytes,
      size: stat.size,
      mtimeMs: stat.mtimeMs,
      dev: stat.dev,
      ino: stat.ino,
      nameIsUtf8: item.isUtf8,
    },
  };
}

/** A failed stat: a dangling link, a link cycle, or a file gone since its folder was read. */
async function statFailure(state: WalkState, item: Folder, err: unknown): Promise<Visit> {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    const isLink = await state.reader.lstat(item.bytes).then(
      (s) => s.isSymbolicLink(),
      () => false,
    );
    if (isLink) return problemVisit(item.display, 'BROKEN_LINK', PROBLEM_CATALOG.BROKEN_LINK);
  }
  const problem = problemFor(err, 'file');
  return problemVisit(item.display, problem.code, problem.detail);
}

function ancestorWithKey(folder: Folder | null, key: string): Folder | null {
  for (let f = folder; f; f = f.parent) if (f.key === key) return f;
  return null;
}

function problemVisit(where: string, code: ProblemCode, detail: string): Visit {
  return { kind: 'problem', entry: { kind: 'problem', path: where, code, detail } };
}

/** Maps a failed read or stat to the problem a person understands. */
export function problemFor(
  err: unknown,
  what: 'file' | 'folder',
): { code: ProblemCode; detail: string } {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return {
        code: 'VANISHED',
        detail:
          what === 'folder'
            ? 'The folder disappeared during the scan (or does not exist).'
            : PROBLEM_CATALOG.VANISHED,
      };
    case 'EACCES':
    case 'EPERM':
      return {
        code: 'UNREADABLE',
        detail:
          what === 'folder'
            ? 'The folder cannot be read: permission denied, so the photos in it were not scanned.'
            : PROBLEM_CATALOG.UNREADABLE,
      };
    case 'ELOOP':
      return { code: 'SYMLINK_LOOP', detail: PROBLEM_CATALOG.SYMLINK_LOOP };
    default: {
      const why = code ?? (err instanceof Error ? err.message : String(err));
      return { code: 'IO_ERROR', detail: `${PROBLEM_CATALOG.IO_ERROR} (${why})` };
    }
  }
}

/** Dot names (unless asked for) and system folders; decided on the name alone, before any stat. */
function isSkippedName(name: Buffer, includeHidden: boolean): boolean {
  if (!includeHidden && name[0] === 0x2e) return true;
  return SYSTEM_FOLDER_NAMES.has(name.toString('latin1').toLowerCase()) || isTrashPerUser(name);
}

/** `.Trash-1000`: the freedesktop trash of one user on a removable or secondary disk. */
function isTrashPerUser(name: Buffer): boolean {
  return /^\.trash-\d+$/i.test(name.toString('latin1'));
}

function excludeMatcher(globs: string[]): (rel: string, abs: string) => boolean {
  if (globs.length === 0) return () => false;
  const options = {
    dot: true,
    nocase: process.platform === 'win32' || process.platform === 'darwin',
  };
  // Globs without a slash test the base name, as in .gitignore. Done here rather than with
  // picomatch's `basename` option, which stops absolute globs from matching at all.
  const nameGlobs = globs.filter((g) => !g.includes('/'));
  const pathGlobs = globs.filter((g) => g.includes('/'));
  let matchesName: (p: string) => boolean;
  let matchesPath: (p: string) => boolean;
  try {
    matchesName = nameGlobs.length ? picomatch(nameGlobs, options) : () => false;
    matchesPath = pathGlobs.length ? picomatch(pathGlobs, options) : () => false;
  } catch (err) {
    throw new AppError('BAD_ARGUMENT', {
      name: '--exclude',
      given: globs.join(' '),
      accepted: `glob patterns such as "**/cache/**" or "*.tmp" (${(err as Error).message})`,
    });
  }
  const toSlashes = (p: string): string => (path.sep === '/' ? p : p.split(path.sep).join('/'));
  return (rel, abs) =>
    matchesName(rel.slice(rel.lastIndexOf('/') + 1)) ||
    matchesPath(rel) ||
    matchesPath(toSlashes(abs));
}

/**
 * Decodes a name that is not valid UTF-8 for display: valid sequences as text, every other byte
 * as `\xNN`, so two different raw names never show (or get stored) as the same path.
 */
export function escapeNonUtf8(name: Buffer): string {
  let out = '';
  let runStart = 0;
  let i = 0;
  while (i < name.length) {
    const len = sequenceLength(name[i]);
    if (len > 0 && i + len <= name.length && isUtf8(name.subarray(i, i + len))) {
      i += len;
      continue;
    }
    out +=
      name.toString('utf8', runStart, i) +
      `\\x${name[i].toString(16).toUpperCase().padStart(2, '0')}`;
    i += 1;
    runStart = i;
  }
  return out + name.toString('utf8', runStart);
}

/** The length a UTF-8 sequence starting with `lead` must have; 0 for a byte that cannot lead. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

const NODE_FS: WalkFs = {
  readdir: (dir) => fs.promises.readdir(dir, { encoding: 'buffer' }),
  stat: (file) => fs.promises.stat(file),
  lstat: (file) => fs.promises.lstat(file),
};
