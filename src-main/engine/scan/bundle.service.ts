/**
 * Applies the bundle rules of core/bundles.ts to scanned photos: which RAW files are the second
 * half of a RAW+JPEG pair, which photos are edited versions of another, and the companion files
 * every photo carries (its own sidecars and videos, plus those of its RAW half).
 */
import path from 'node:path';
import type { BundleKind } from '../../contract/types';
import { findEditedOriginal, isRawPair, rawPairCandidates, stemOfName } from '../../core/bundles';
import type { CompanionRow } from '../db/companion.repository';
import type { PhotoRow } from '../db/photo.repository';

export interface BundleInfo {
  /** RAW photo id -> id of the JPEG/HEIC it pairs with (the RAW is then a companion). */
  rawOf: Map<number, number>;
  /** Edited version photo id -> id of its original. */
  editedOf: Map<number, number>;
  /** The bundle kind shown on a photo, where it is one. */
  bundle: Map<number, BundleKind>;
  /** Absolute paths of the files that travel with a photo. */
  companions: Map<number, string[]>;
}

/** Works out every bundle among `photos` (readable ones) and their recorded companions. */
export function describeBundles(
  photos: PhotoRow[],
  companions: Map<number, CompanionRow[]>,
): BundleInfo {
  const info: BundleInfo = {
    rawOf: new Map(),
    editedOf: new Map(),
    bundle: new Map(),
    companions: new Map(),
  };
  const byFolder = new Map<string, PhotoRow[]>();
  for (const p of photos) {
    const list = byFolder.get(path.dirname(p.path)) ?? [];
    list.push(p);
    byFolder.set(path.dirname(p.path), list);
  }
  for (const folder of byFolder.values()) {
    const byName = new Map(folder.map((p) => [path.basename(p.path), p]));
    for (const [rawName, renderedName] of rawPairCandidates([...byName.keys()])) {
      const raw = byName.get(rawName)!;
      const rendered = byName.get(renderedName)!;
      if (!isRawPair(raw.taken_at, rendered.taken_at)) continue;
      info.rawOf.set(raw.id, rendered.id);
      info.bundle.set(rendered.id, 'raw+jpeg');
    }
    const byStem = new Map<string, PhotoRow[]>();
    for (const p of folder) {
      const stem = stemOfName(path.basename(p.path));
      byStem.set(stem, [...(byStem.get(stem) ?? []), p]);
    }
    for (const p of folder) {
      const originalStem = findEditedOriginal(path.basename(p.path));
      const original = originalStem
        ? byStem.get(originalStem)?.find((o) => !info.rawOf.has(o.id))
        : undefined;
      if (!original || original.id === p.id) continue;
      info.editedOf.set(p.id, original.id);
      info.bundle.set(p.id, 'edited-version');
    }
  }
  for (const p of photos) {
    const own = companions.get(p.id) ?? [];
    if (!info.bundle.has(p.id) && own.some((c) => c.kind === 'live-video'))
      info.bundle.set(p.id, 'live-photo');
  }
  const rawHalves = new Map<number, PhotoRow>();
  const byId = new Map(photos.map((p) => [p.id, p]));
  for (const [rawId, renderedId] of info.rawOf) rawHalves.set(renderedId, byId.get(rawId)!);
  for (const p of photos) {
    if (info.rawOf.has(p.id)) continue;
    const paths = (companions.get(p.id) ?? []).map((c) => c.path);
    const raw = rawHalves.get(p.id);
    if (raw) paths.push(raw.path, ...(companions.get(raw.id) ?? []).map((c) => c.path));
    if (paths.length) info.companions.set(p.id, paths.sort());
  }
  return info;
}
