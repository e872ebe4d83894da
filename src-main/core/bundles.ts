/**
 * What travels together: the rules that turn the files of one folder into photos and their
 * companions. A photographer's "one photo" is often several files; Doppel acts on them as one.
 *
 * Rules (file names compared case-insensitively, within one folder):
 * - Sidecars: `NAME.EXT.xmp`, `NAME.EXT.pp3` (RawTherapee) and `NAME.EXT.dop` (DxO) belong to the
 *   photo `NAME.EXT`. `NAME.xmp` (Lightroom, digiKam), `NAME.AAE` (Apple edits) and `NAME.THM`
 *   (Canon thumbnails) belong to the photo whose stem is `NAME`; when several photos share the stem
 *   a RAW file wins, then HEIC, then JPEG, then the first by name. A sidecar with no photo is an
 *   orphan: reported, never scanned as a photo.
 * - Live Photos: a `.MOV` with the same stem as a photo is that photo's video companion (HEIC
 *   first, then JPEG). It is never decoded. A MOV with no photo is not a photo and is skipped.
 * - RAW + JPEG/HEIC pairs: same folder, same stem, one RAW and one JPEG or HEIC. Both files are
 *   scanned; the pair is shown as one photo (the JPEG/HEIC, with the RAW as companion) when their
 *   capture times are within 2 s, or when either has none. See `pairRawWithRendered`.
 * - Edited versions: Apple's `IMG_E1234.EXT` beside `IMG_1234.*`, and `NAME-edited.EXT` (Google
 *   Photos exports) beside `NAME.*`. Both are photos; see `findEditedOriginal`.
 */

export type CompanionKind = 'xmp' | 'aae' | 'thm' | 'pp3' | 'dop' | 'live-video' | 'raw';
export type BundleKind = 'raw+jpeg' | 'live-photo' | 'edited-version';

export const RAW_EXTENSIONS = [
  'cr2',
  'cr3',
  'crw',
  'nef',
  'nrw',
  'arw',
  'srf',
  'sr2',
  'dng',
  'rw2',
  'orf',
  'raf',
  'pef',
  'srw',
  'x3f',
  'mrw',
  '3fr',
  'erf',
  'kdc',
  'iiq',
];
const RENDERED_EXTENSIONS = ['heic', 'heif', 'jpg', 'jpeg'];
/** Extensions of files that are never photos themselves. */
const SIDECAR_EXTENSIONS: Record<string, CompanionKind> = {
  xmp: 'xmp',
  aae: 'aae',
  thm: 'thm',
  pp3: 'pp3',
  dop: 'dop',
};
const VIDEO_EXTENSIONS = ['mov'];

/** Seconds within which a RAW and a JPEG/HEIC of one stem count as one shot. */
export const RAW_PAIR_MAX_SECONDS = 2;

export interface FolderPlan {
  /** Names to scan as photos (content still decides whether they are images). */
  photos: string[];
  /** Companions by the name of the photo they belong to. */
  companions: Map<string, { name: string; kind: CompanionKind }[]>;
  /** Sidecars whose photo is missing. */
  orphans: { name: string; kind: CompanionKind }[];
  /** Videos with no photo: skipped, they are not photos. */
  skipped: string[];
}

function extOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

function stemOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return (dot > 0 ? name.slice(0, dot) : name).toLowerCase();
}

/** True for a RAW camera file, by extension. */
export function isRawName(name: string): boolean {
  return RAW_EXTENSIONS.includes(extOf(name));
}

/** Orders photos sharing a stem: RAW first, then HEIC, then JPEG, then by name. */
function ownerRank(name: string): number {
  const ext = extOf(name);
  if (RAW_EXTENSIONS.includes(ext)) return 0;
  if (ext === 'heic' || ext === 'heif') return 1;
  if (ext === 'jpg' || ext === 'jpeg') return 2;
  return 3;
}

/** Splits the file names of one folder into photos, companions, orphans and skipped videos. */
export function planFolder(names: string[]): FolderPlan {
  const sorted = [...names].sort();
  const photos = sorted.filter(
    (n) => !(extOf(n) in SIDECAR_EXTENSIONS) && !VIDEO_EXTENSIONS.includes(extOf(n)),
  );
  const byFullName = new Map(photos.map((p) => [p.toLowerCase(), p]));
  const byStem = new Map<string, string[]>();
  for (const p of photos) {
    const list = byStem.get(stemOf(p)) ?? [];
    list.push(p);
    byStem.set(stemOf(p), list);
  }
  const ownerByStem = (stem: string, prefer: (n: string) => number): string | undefined =>
    [...(byStem.get(stem) ?? [])].sort((a, b) => prefer(a) - prefer(b) || a.localeCompare(b))[0];

  const plan: FolderPlan = { photos, companions: new Map(), orphans: [], skipped: [] };
  const attach = (owner: string, name: string, kind: CompanionKind): void => {
    const list = plan.companions.get(owner) ?? [];
    list.push({ name, kind });
    plan.companions.set(owner, list);
  };

  for (const name of sorted) {
    const ext = extOf(name);
    if (VIDEO_EXTENSIONS.includes(ext)) {
      const owner = ownerByStem(stemOf(name), (n) =>
        RENDERED_EXTENSIONS.includes(extOf(n)) ? ownerRank(n) : 9,
      );
      if (owner && RENDERED_EXTENSIONS.includes(extOf(owner))) attach(owner, name, 'live-video');
      else plan.skipped.push(name);
      continue;
    }
    const kind = SIDECAR_EXTENSIONS[ext];
    if (!kind) continue;
    const base = name.slice(0, name.length - ext.length - 1);
    // NAME.EXT.xmp names its photo exactly; NAME.xmp names only a stem.
    const exact = byFullName.get(base.toLowerCase());
    const owner = exact ?? ownerByStem(base.toLowerCase(), ownerRank);
    if (owner) attach(owner, name, kind);
    else plan.orphans.push({ name, kind });
  }
  return plan;
}

/**
 * Whether a RAW and a rendered photo (JPEG/HEIC) of the same stem in one folder are one shot:
 * capture times within RAW_PAIR_MAX_SECONDS, or unknown for either.
 */
export function isRawPair(rawTakenAt: string | null, renderedTakenAt: string | null): boolean {
  if (!rawTakenAt || !renderedTakenAt) return true;
  const a = Date.parse(rawTakenAt);
  const b = Date.parse(renderedTakenAt);
  if (Number.isNaN(a) || Number.isNaN(b)) return true;
  return Math.abs(a - b) <= RAW_PAIR_MAX_SECONDS * 1000;
}

/** The RAW/rendered name pairs of one folder by stem: `[raw, rendered]`. */
export function rawPairCandidates(names: string[]): [string, string][] {
  const byStem = new Map<string, { raw?: string; rendered?: string }>();
  for (const n of [...names].sort()) {
    const entry = byStem.get(stemOf(n)) ?? {};
    if (isRawName(n)) entry.raw ??= n;
    else if (RENDERED_EXTENSIONS.includes(extOf(n))) entry.rendered ??= n;
    byStem.set(stemOf(n), entry);
  }
  return [...byStem.values()].filter((e) => e.raw && e.rendered).map((e) => [e.raw!, e.rendered!]);
}

/**
 * For an edited version's file name, the stem its original has: `IMG_E1234.JPG` -> `img_1234`,
 * `beach-edited.jpg` -> `beach`. Returns null for a name that is not an edited version.
 */
export function findEditedOriginal(name: string): string | null {
  const stem = stemOf(name);
  const apple = /^(img)_e(\d{4,})$/.exec(stem);
  if (apple) return `${apple[1]}_${apple[2]}`;
  const google = /^(.+)-edited$/.exec(stem);
  if (google) return google[1];
  return null;
}

/** The lower-cased stem of a file name (exported for callers that match edited versions). */
export function stemOfName(name: string): string {
  return stemOf(name);
}

/** Extensions that name image files; a file named so that does not decode is a problem. */
const IMAGE_EXTENSIONS = [
  'jpg',
  'jpeg',
  'jpe',
  'jfif',
  'png',
  'webp',
  'avif',
  'heic',
  'heif',
  'hif',
  'gif',
  'tif',
  'tiff',
  'bmp',
  'dib',
];

/** True when a file's name says it is an image (a RAW file included). */
export function isImageName(name: string): boolean {
  const ext = extOf(name);
  return IMAGE_EXTENSIONS.includes(ext) || RAW_EXTENSIONS.includes(ext);
}
