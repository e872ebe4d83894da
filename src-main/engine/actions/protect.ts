/** Protected folders: a copy inside one is always kept, and nothing inside one is ever moved. */
import fs from 'node:fs';
import path from 'node:path';

/**
 * The absolute forms of `dirs` to compare paths against: each as given (resolved) and, when it
 * exists, its real path, so a protected folder reached through a symlink is still protected.
 */
export function protectForms(dirs: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const dir of dirs) {
    const abs = path.resolve(dir);
    forms.add(abs);
    try {
      forms.add(fs.realpathSync(abs));
    } catch {
      // A protected folder that does not exist (yet) still protects its path.
    }
  }
  return [...forms];
}

/** The protected folder holding `file` (checked as given and through its real path), or null. */
export function protectingFolder(file: string, forms: readonly string[]): string | null {
  const candidates = [path.resolve(file)];
  try {
    candidates.push(fs.realpathSync(file));
  } catch {
    // A file that is gone is judged by its path alone.
  }
  for (const dir of forms) {
    if (candidates.some((f) => isInside(f, dir))) return dir;
  }
  return null;
}

/** True when `file` lies inside `dir` (at any depth), or is `dir` itself. */
export function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  if (rel === '') return true;
  return rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
