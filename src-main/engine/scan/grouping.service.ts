/**
 * Turns cached features into embeddings (through the current head) and embeddings into stored
 * groups. Runs after every scan and whenever thresholds or the head change; never decodes.
 */
import { applyHead } from '../../core/head';
import {
  groupPhotos,
  thresholdsProblem,
  type GroupingThresholds,
  type VectorSet,
} from '../../core/grouping';
import { listViews, photoDistance } from '../../core/neighbors';
import type { PhotoRepository, PhotoRow, StoredGroup } from '../db/photo.repository';
import type { LoadedModel } from '../ml';
import type { CompanionRepository } from '../db/companion.repository';
import { describeBundles, type BundleInfo } from './bundle.service';
import { excludedPairs } from '../learn/label.repository';
import { createLogger } from '../log/logger';

const log = createLogger('grouping');

/** Label of the groups that list RAW+JPEG pairs, shown only when asked for (`--pairs`). */
export const RAW_PAIR_LABEL = 'raw+jpeg';

/** Features turned into embeddings per transaction. */
const HEAD_BATCH = 2048;

/** Computes missing embeddings for the current head from cached features; returns how many. */
export function refreshEmbeddings(repo: PhotoRepository, model: LoadedModel): number {
  const { card, head } = model;
  const hashes = repo.hashesMissingEmbeddings(card.networkVersion, head.version);
  for (let start = 0; start < hashes.length; start += HEAD_BATCH) {
    const slice = hashes.slice(start, start + HEAD_BATCH);
    const rows = slice.flatMap((hash) =>
      repo.featuresOf(hash, card.networkVersion).map((f) => ({ hash, ...f })),
    );
    const dims = card.output.dims;
    const input = new Float32Array(rows.length * dims);
    rows.forEach((r, i) => input.set(r.data, i * dims));
    const out = applyHead(head, input, rows.length);
    const outDims = head.outDims;
    repo.transaction(() =>
      rows.forEach((r, i) =>
        repo.putEmbedding(r.hash, head.version, r.view, out.slice(i * outDims, (i + 1) * outDims)),
      ),
    );
  }
  return hashes.length;
}

/**
 * Groups again from the cache alone (no photo is read): embeddings the current head lacks are
 * computed from cached features, then every group is rebuilt. Returns the groups stored.
 */
export function regroupFromCache(
  repo: PhotoRepository,
  companions: CompanionRepository,
  model: LoadedModel,
  thresholds?: GroupingThresholds,
): StoredGroup[] {
  refreshEmbeddings(repo, model);
  return rebuildGroups(repo, companions, model, thresholds);
}

/**
 * The grouping thresholds in force: the user's saved ones (each missing value taken from the model
 * card), else the card's defaults. A saved pair that cannot be used (out of order, not a number,
 * unreadable JSON; written by an older Doppel, or left over from another model) never stops a scan
 * or a regroup: the card's thresholds are used instead, with one warning.
 */
export function currentThresholds(repo: PhotoRepository, model: LoadedModel): GroupingThresholds {
  const saved = repo.getSetting('thresholds');
  const defaults = model.card.thresholds;
  if (!saved) return { ...defaults };
  let merged: GroupingThresholds;
  try {
    const parsed = JSON.parse(saved) as Partial<GroupingThresholds> | null;
    merged = {
      nearDuplicate: parsed?.nearDuplicate ?? defaults.nearDuplicate,
      similar: parsed?.similar ?? defaults.similar,
    };
  } catch {
    merged = { nearDuplicate: Number.NaN, similar: Number.NaN };
  }
  const problem = thresholdsProblem(merged);
  if (!problem) return merged;
  warnOnce(
    `the saved grouping thresholds cannot be used (${saved}); using the model's ` +
      `(near-duplicate ${defaults.nearDuplicate}, similar ${defaults.similar}). ` +
      `Set valid ones with doppel groups --near D --similar D.`,
  );
  return { ...defaults };
}

const warned = new Set<string>();
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  log.warn(message);
}

/** One unique content (a set of byte-identical photos) with its embedding views. */
interface Content {
  hash: string;
  photos: PhotoRow[];
}

/**
 * Rebuilds every group from the embeddings of the current head and stores them.
 * - `exact`: photos with the same bytes (same size and SHA-256).
 * - `near-duplicate` / `similar`: grouped over unique contents by the no-chaining rule of
 *   core/grouping; each content brings all its byte-identical photos along, so a photo may sit in
 *   an exact group and in a near-duplicate group at once.
 * Members are ordered with the anchor first; distances are to the anchor.
 */
export function rebuildGroups(
  repo: PhotoRepository,
  companions: CompanionRepository,
  model: LoadedModel,
  thresholds: GroupingThresholds = currentThresholds(repo, model),
): StoredGroup[] {
  const allPhotos = repo.listOkPhotos();
  const bundles = describeBundles(allPhotos, companions.byPhoto());
  // The RAW half of a RAW+JPEG pair travels with its JPEG/HEIC and is not grouped on its own.
  const photos = allPhotos.filter((p) => !bundles.rawOf.has(p.id));
  const contents = byContent(photos);
  const groups: StoredGroup[] = [];

  for (const content of contents) {
    if (content.photos.length < 2) continue;
    groups.push({
      kind: 'exact',
      label: null,
      members: content.photos.map((p) => ({ photoId: p.id, distance: 0 })),
    });
  }

  const embeddings = repo.allEmbeddings(model.head.version);
  // Icons, tracking pixels and thumbnails carry too little picture to compare by content: a
  // 1x1 pixel and an 8x8 badge embed almost the same. They keep their exact groups only.
  const usable = contents.filter(
    (c) => embeddings.get(c.hash)?.has('identity') && !tooSmallToCompare(c.photos[0]),
  );
  const set = toVectorSet(usable, embeddings, model.head.outDims);
  const expand = (members: number[], distances: number[]): StoredGroup['members'] =>
    members.flatMap((c, i) =>
      usable[c].photos.map((p) => ({ photoId: p.id, distance: distances[i] })),
    );
  const excluded = excludedPairs(repo.db);
  const exclude = (a: number, b: number): boolean => excluded(usable[a].hash, usable[b].hash);
  for (const group of groupPhotos(set, thresholds, { exclude })) {
    const memberPhotos = group.members.flatMap((c) => usable[c].photos);
    groups.push({
      kind: group.kind,
      label: burstLabel(memberPhotos),
      members: expand(group.members, group.distances),
    });
    // A near-duplicate set inside a same-scene group is also listed as its own near-duplicate
    // group, so plans (which act on near-duplicates by default) still see it.
    for (const nearSet of group.nearDuplicateSets ?? []) {
      const views = listViews(set);
      const distances = nearSet.map((c) => photoDistance(set, nearSet[0], c, views));
      groups.push({ kind: 'near-duplicate', label: null, members: expand(nearSet, distances) });
    }
  }
  joinEditedVersions(groups, bundles, usable, set, exclude);
  joinBursts(groups, usable, set);
  groups.push(...rawPairGroups(allPhotos, bundles, embeddings, model.head.outDims));

  repo.replaceGroups(groups);
  return groups;
}

/** Below this many pixels on its shorter side a photo is grouped only by its bytes (`exact`). */
export const MIN_COMPARABLE_SIDE = 32;

function tooSmallToCompare(photo: PhotoRow): boolean {
  const { width, height } = photo;
  return width !== null && height !== null && Math.min(width, height) < MIN_COMPARABLE_SIDE;
}

function byContent(photos: PhotoRow[]): Content[] {
  const map = new Map<string, Content>();
  for (const photo of photos) {
    if (!photo.content_hash) continue;
    let content = map.get(photo.content_hash);
    if (!content) map.set(photo.content_hash, (content = { hash: photo.content_hash, photos: [] }));
    content.photos.push(photo);
  }
  return [...map.values()];
}

/** Builds the identity vectors plus every extra view of each content. */
function toVectorSet(
  contents: Content[],
  embeddings: Map<string, Map<string, Float32Array>>,
  dims: number,
): VectorSet {
  const data = new Float32Array(contents.length * dims);
  const extraOwners: number[] = [];
  const extra: Float32Array[] = [];
  contents.forEach((c, i) => {
    const views = embeddings.get(c.hash)!;
    data.set(views.get('identity')!, i * dims);
    for (const [view, vector] of views) {
      if (view === 'identity') continue;
      extraOwners.push(i);
      extra.push(vector);
    }
  });
  const viewData = new Float32Array(extra.length * dims);
  extra.forEach((v, i) => viewData.set(v, i * dims));
  return {
    dims,
    count: contents.length,
    data,
    views: extra.length ? { photo: Int32Array.from(extraOwners), data: viewData } : undefined,
  };
}

/** Labels a group a burst when every photo carries the same burst identifier in its metadata. */
function burstLabel(photos: PhotoRow[]): 'burst' | null {
  const first = photos[0]?.burst_id;
  return first && photos.every((p) => p.burst_id === first) ? 'burst' : null;
}

function distanceBetween(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return Math.sqrt(sum);
}

/**
 * Puts each edited version in a near-duplicate group with its original: into the original's group
 * when only the original has one, as a new pair when neither has. When both already sit in
 * different groups they stay there. Limitation: that case does not show the relation in one group.
 */
function joinEditedVersions(
  groups: StoredGroup[],
  bundles: BundleInfo,
  contents: Content[],
  set: VectorSet,
  exclude: (a: number, b: number) => boolean,
): void {
  const contentOf = new Map<number, number>();
  contents.forEach((c, i) => c.photos.forEach((p) => contentOf.set(p.id, i)));
  const vectorOf = (photoId: number): Float32Array | null => {
    const i = contentOf.get(photoId);
    return i === undefined ? null : set.data.subarray(i * set.dims, (i + 1) * set.dims);
  };
  const groupOf = (photoId: number): StoredGroup | undefined =>
    groups.find((g) => g.kind !== 'exact' && g.members.some((m) => m.photoId === photoId));
  for (const [editedId, originalId] of bundles.editedOf) {
    const a = vectorOf(originalId);
    const b = vectorOf(editedId);
    if (!a || !b) continue;
    // The user said these are not duplicates: the file names do not overrule that.
    const [ca, cb] = [contentOf.get(originalId)!, contentOf.get(editedId)!];
    if (exclude(Math.min(ca, cb), Math.max(ca, cb))) continue;
    const distance = distanceBetween(a, b);
    const withOriginal = groupOf(originalId);
    const withEdited = groupOf(editedId);
    if (withOriginal && withEdited) continue;
    if (withOriginal) {
      const anchor = vectorOf(withOriginal.members[0].photoId)!;
      withOriginal.members.push({ photoId: editedId, distance: distanceBetween(anchor, b) });
    } else if (!withEdited) {
      groups.push({
        kind: 'near-duplicate',
        label: null,
        members: [
          { photoId: originalId, distance: 0 },
          { photoId: editedId, distance },
        ],
      });
    }
  }
}

/** One group per RAW+JPEG pair (rendered file first), listed only with `--pairs`. */
function rawPairGroups(
  photos: PhotoRow[],
  bundles: BundleInfo,
  embeddings: Map<string, Map<string, Float32Array>>,
  dims: number,
): StoredGroup[] {
  const byId = new Map(photos.map((p) => [p.id, p]));
  const vector = (id: number): Float32Array | undefined =>
    embeddings.get(byId.get(id)?.content_hash ?? '')?.get('identity');
  return [...bundles.rawOf].map(([rawId, renderedId]) => {
    const a = vector(renderedId);
    const b = vector(rawId);
    const distance = a && b && a.length === dims ? distanceBetween(a, b) : 0;
    return {
      kind: 'near-duplicate' as const,
      label: RAW_PAIR_LABEL,
      members: [
        { photoId: renderedId, distance: 0 },
        { photoId: rawId, distance },
      ],
    };
  });
}

/**
 * Photos marked as one burst in their metadata (Apple's burst identifier) form a `similar` group
 * labelled `burst`, even where the network alone would not join them. Frames already in another
 * group stay there; the others form the burst group. Limitation: a burst split across groups that
 * way is labelled only where its frames meet.
 */
function joinBursts(groups: StoredGroup[], contents: Content[], set: VectorSet): void {
  const grouped = new Set(
    groups.filter((g) => g.kind !== 'exact').flatMap((g) => g.members.map((m) => m.photoId)),
  );
  const bursts = new Map<string, { content: number; photoId: number }[]>();
  contents.forEach((c, i) =>
    c.photos.forEach((p) => {
      if (!p.burst_id || grouped.has(p.id)) return;
      bursts.set(p.burst_id, [...(bursts.get(p.burst_id) ?? []), { content: i, photoId: p.id }]);
    }),
  );
  const views = listViews(set);
  for (const frames of bursts.values()) {
    if (frames.length < 2) continue;
    const anchor = frames[0].content;
    groups.push({
      kind: 'similar',
      label: 'burst',
      members: frames.map((f) => ({
        photoId: f.photoId,
        distance: f.content === anchor ? 0 : photoDistance(set, anchor, f.content, views),
      })),
    });
  }
}
