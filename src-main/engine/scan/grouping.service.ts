/**
 * Turns cached features into embeddings (through the current head) and embeddings into stored
 * groups. Runs after every scan and whenever thresholds or the head change; never decodes.
 */
import type { GroupKind } from '../../contract/types';
import { applyHead } from '../../core/head';
import { groupPhotos, type GroupingThresholds, type VectorSet } from '../../core/grouping';
import type { PhotoRepository, PhotoRow, StoredGroup } from '../db/photo.repository';
import type { LoadedModel } from '../ml';

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

/** The grouping thresholds in force: the user's saved ones, else the model card's defaults. */
export function currentThresholds(repo: PhotoRepository, model: LoadedModel): GroupingThresholds {
  const saved = repo.getSetting('thresholds');
  const defaults = model.card.thresholds;
  if (!saved) return { ...defaults };
  const parsed = JSON.parse(saved) as Partial<GroupingThresholds>;
  return {
    nearDuplicate: parsed.nearDuplicate ?? defaults.nearDuplicate,
    similar: parsed.similar ?? defaults.similar,
  };
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
  model: LoadedModel,
  thresholds: GroupingThresholds = currentThresholds(repo, model),
): StoredGroup[] {
  const photos = repo.listOkPhotos();
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
  const usable = contents.filter((c) => embeddings.get(c.hash)?.has('identity'));
  const set = toVectorSet(usable, embeddings, model.head.outDims);
  for (const group of groupPhotos(set, thresholds)) {
    const members = group.members.flatMap((contentIndex, i) =>
      usable[contentIndex].photos.map((p) => ({ photoId: p.id, distance: group.distances[i] })),
    );
    const memberPhotos = group.members.flatMap((c) => usable[c].photos);
    groups.push({ kind: group.kind as GroupKind, label: burstLabel(memberPhotos), members });
  }

  repo.replaceGroups(groups);
  return groups;
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
