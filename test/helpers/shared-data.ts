/** Locates the read-only shared data beside the repository, when this machine has it. */
import fs from 'node:fs';
import path from 'node:path';

/** Repository root, from either the source tree or the compiled dist/ tree. */
export const REPO_ROOT = findRepoRoot(__dirname);

function findRepoRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

/** `../shared` beside the repository, or null when absent. */
export const SHARED_DIR: string | null = (() => {
  const dir = path.resolve(REPO_ROOT, '..', 'shared');
  return fs.existsSync(dir) ? dir : null;
})();

/** A path inside ../shared, or null when that path does not exist. */
export function sharedPath(...parts: string[]): string | null {
  if (!SHARED_DIR) return null;
  const p = path.join(SHARED_DIR, ...parts);
  return fs.existsSync(p) ? p : null;
}
