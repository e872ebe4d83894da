/**
 * Decides whether a requested image path may be served: only photos the database knows (by exact
 * path) inside the user's library folders, with traversal (`..`, encoded or not) and symbolic
 * links that lead out refused. Any other file in a library folder (a text file, the database
 * itself) is refused even though it lies inside one.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { MediaResolution } from './protocol';

/**
 * Content types by extension. Limitation: files are served as they are, full size; a browser
 * cannot draw HEIC or RAW, so those show no preview in review (their metadata still shows).
 */
export const MEDIA_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.bmp': 'image/bmp',
  '.heic': 'image/heic',
  '.heif': 'image/heif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
};

/**
 * Resolves `requested` (an absolute path, already URL-decoded exactly once by the caller) against
 * the library `roots`. Refuses: empty or relative paths, NUL bytes, any `..` segment, leftover
 * percent-encoding (a second encoding layer), paths outside every root, paths `isPhoto` does not
 * know as a photo (looked up exactly as requested), and paths whose real location (symbolic links
 * followed) is outside the real location of every root.
 */
export async function resolveMediaPath(
  requested: string,
  roots: readonly string[],
  isPhoto: (exactPath: string) => boolean,
): Promise<MediaResolution> {
  const lexical = checkLexically(requested, roots);
  if (!lexical.ok) return lexical;
  if (!isPhoto(requested)) return { ok: false, reason: 'not a photo of the library' };

  let real: string;
  let stat: fs.Stats;
  try {
    real = await fs.promises.realpath(lexical.path);
    stat = await fs.promises.stat(real);
  } catch {
    return { ok: false, reason: 'no such file' };
  }
  if (!stat.isFile()) return { ok: false, reason: 'not a file' };
  const realRoots = await Promise.all(roots.map((r) => fs.promises.realpath(r).catch(() => null)));
  if (!realRoots.some((r) => r !== null && isInsideRoot(real, r))) {
    return { ok: false, reason: 'a symbolic link leads outside the library folders' };
  }
  return { ok: true, path: real, size: stat.size };
}

/**
 * The checks that need no disk access; exported for tests.
 * Limitation: a file whose real name contains `%` followed by two hex digits is refused too (it
 * cannot be told apart from a second encoding layer), so such a photo shows no preview.
 */
export function checkLexically(
  requested: string,
  roots: readonly string[],
): { ok: true; path: string } | { ok: false; reason: string } {
  if (!requested) return { ok: false, reason: 'empty path' };
  if (requested.includes('\0')) return { ok: false, reason: 'NUL byte in path' };
  if (/%[0-9a-f]{2}/i.test(requested)) return { ok: false, reason: 'encoded characters in path' };
  if (!path.isAbsolute(requested)) return { ok: false, reason: 'not an absolute path' };
  if (requested.split(/[\\/]/).includes('..'))
    return { ok: false, reason: 'parent-folder segment' };
  const normal = path.resolve(requested);
  if (!roots.some((root) => isInsideRoot(normal, path.resolve(root)))) {
    return { ok: false, reason: 'outside the library folders' };
  }
  return { ok: true, path: normal };
}

function isInsideRoot(file: string, root: string): boolean {
  const base = root.endsWith(path.sep) ? root : root + path.sep;
  return file.startsWith(base);
}
