/** The real set: dev-eval's groups of related photos (brackets, bursts, viewpoints, object views). */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** Real group kinds, in table order. Object views are scored like viewpoint changes. */
export const REAL_KINDS = ['bracket', 'burst', 'viewpoint', 'object-views'] as const;
export type RealKind = (typeof REAL_KINDS)[number];

export interface RealGroup {
  kind: RealKind;
  name: string;
  /** Absolute paths of the group's photos. */
  files: string[];
}

export interface RealSet {
  groups: RealGroup[];
  distractors: string[];
  /** Listed files that are missing on disk and were left out. */
  missing: string[];
}

interface GroupsJson {
  groups: { kind: string; name: string; photos: string[] }[];
  distractors: string[];
}

/** Reads groups.json of `dir`; null (with the reason logged) when the folder is absent. */
export async function loadRealSet(
  dir: string,
  log: (line: string) => void,
): Promise<RealSet | null> {
  const listing = path.join(dir, 'groups.json');
  if (!existsSync(listing)) {
    log(`real set: ${listing} not found, real groups are left out`);
    return null;
  }
  const json = JSON.parse(await readFile(listing, 'utf8')) as GroupsJson;
  const missing: string[] = [];
  const keep = (rel: string): boolean => {
    const present = existsSync(path.join(dir, rel));
    if (!present) missing.push(rel);
    return present;
  };

  const groups: RealGroup[] = [];
  for (const group of json.groups) {
    if (!isRealKind(group.kind)) {
      log(
        `real set: group ${group.name} has unknown kind ${group.kind} (known: ${REAL_KINDS.join(', ')}); left out`,
      );
      continue;
    }
    const files = group.photos.filter(keep).map((rel) => path.join(dir, rel));
    if (files.length >= 2) groups.push({ kind: group.kind, name: group.name, files });
  }
  const distractors = json.distractors.filter(keep).map((rel) => path.join(dir, rel));
  if (missing.length > 0) log(`real set: ${missing.length} listed files are missing and left out`);
  return { groups, distractors, missing };
}

function isRealKind(kind: string): kind is RealKind {
  return (REAL_KINDS as readonly string[]).includes(kind);
}
