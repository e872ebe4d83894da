/**
 * The keep rule: which copy of a group Doppel suggests keeping, and a plain-words reason for every
 * copy. Pure: it sees metadata records, never the disk.
 */
import type { GroupKind } from '../contract/types';

/** The criteria a user may reorder with `--prefer`; listed in their default order. */
export const KEEP_CRITERIA = [
  'resolution',
  'bundle',
  'size',
  'format',
  'exif',
  'sharpness',
  'date',
] as const;
export type KeepCriterion = (typeof KEEP_CRITERIA)[number];
export const DEFAULT_KEEP_ORDER: readonly KeepCriterion[] = KEEP_CRITERIA;

/** What the rule knows about one copy. */
export interface KeepCandidate {
  /** Absolute path; also the last tie-breaker. */
  path: string;
  /** Pixels across and down (for RAW files, the sensor size from metadata); null when unknown. */
  width: number | null;
  height: number | null;
  /** File size in bytes. */
  size: number;
  /**
   * Bytes of the files that travel with this copy (its RAW half, XMP/AAE edits, Live Photo video);
   * 0 or absent for a lone file. The `bundle` criterion prefers the copy carrying more of them.
   */
  companionBytes?: number;
  /** Content type detected from the bytes (`jpeg`, `heic`, `raw`...), null when unknown. */
  format: string | null;
  /** How many metadata (EXIF) fields the file carries. */
  exifFields: number;
  /** Higher is sharper; any scale, as long as one group uses one. Absent when not measured. */
  sharpness?: number | null;
  /** Capture date (ISO 8601 or EXIF `YYYY:MM:DD HH:MM:SS`), null when the file has none. */
  takenAt: string | null;
  /** Modification time in ms since the epoch; an older file wins a full tie. */
  mtimeMs?: number;
  /** sha256 of the bytes; copies with the same hash are called identical in the reasons. */
  contentHash?: string | null;
  /**
   * Why this copy is kept whatever its rank, in words that follow "keep: " (e.g. "inside
   * protected folder /photos/originals"); absent for ordinary copies.
   */
  mustKeep?: string | null;
}

/** The rule's verdict on one copy. */
export interface KeepDecision {
  path: string;
  keep: boolean;
  /** One line for a person: `keep: highest resolution 4032x3024`, `trash: same picture as ...`. */
  reason: string;
  /** 0 for the best copy by the criteria, then 1, 2...; protection does not change ranks. */
  rank: number;
}

export interface KeepOptions {
  /** Criteria in priority order; missing ones are appended in default order. */
  order?: readonly KeepCriterion[];
  /** The group's kind, which words the trash reasons ("identical copy of", "similar to"). */
  kind?: GroupKind;
}

/**
 * Ranks the copies of one group and decides which to keep.
 *
 * The rule, in order:
 * 1. Copies are ranked by the criteria in `order` (default: resolution, bundle, file size, format,
 *    EXIF completeness, sharpness, capture date); the first criterion that differs decides.
 *    - resolution: more pixels (width x height; a RAW file's sensor size) wins; unknown is lowest.
 *    - bundle: the copy carrying more companion data wins (a JPEG with its RAW and XMP edits over
 *      a lone JPEG).
 *    - size: the larger file wins (less compression, more data).
 *    - format: RAW > HEIC > JPEG > WebP/AVIF > PNG > other formats > PNG screenshots (a PNG whose
 *      name says screenshot).
 *    - exif: more metadata fields wins.
 *    - sharpness: higher wins; used only when every copy of the group has a sharpness value.
 *    - date: the oldest capture date wins; a copy without one comes after those with one.
 * 2. Full ties are broken by: a name that does not look like a copy (`IMG_1 (1).jpg`,
 *    `x copy.jpg`), then the older modification time, then the path in code-point order.
 * 3. The best-ranked copy is kept. A copy marked `mustKeep` (inside a protected folder, or kept
 *    by an earlier group) is also kept, whatever its rank; all other copies are suggested for the
 *    trash, each with the criterion that separates it from the best copy. Trash reasons call a
 *    copy "identical" when its bytes match the kept one (or the group is `exact`), "similar" in a
 *    `similar` group, and "same picture" otherwise.
 * Returns the decisions best rank first. A group of one copy keeps it.
 */
export function decideKeep(
  candidates: readonly KeepCandidate[],
  options: KeepOptions = {},
): KeepDecision[] {
  const order = completeOrder(options.order ?? DEFAULT_KEEP_ORDER);
  const active = order.filter((c) => c !== 'sharpness' || candidates.every(hasSharpness));
  const ranked = [...candidates].sort((a, b) => compareCandidates(a, b, active));
  const best = ranked[0];
  if (!best) return [];

  return ranked.map((c, rank) => {
    if (rank === 0) return { path: c.path, keep: true, rank, reason: keepReason(ranked, active) };
    if (c.mustKeep) return { path: c.path, keep: true, rank, reason: `keep: ${c.mustKeep}` };
    return { path: c.path, keep: false, rank, reason: trashReason(c, best, active, options.kind) };
  });
}

/**
 * Reads a `--prefer` value: criteria separated by commas, most important first (e.g.
 * `format,resolution`). Unlisted criteria follow in default order. Returns the full order, or the
 * offending item when one is unknown or repeated.
 */
export function parseKeepOrder(
  text: string,
): { ok: true; order: KeepCriterion[] } | { ok: false; given: string; accepted: string } {
  const items = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
  const accepted = KEEP_CRITERIA.join(', ');
  const seen = new Set<KeepCriterion>();
  for (const item of items) {
    if (!(KEEP_CRITERIA as readonly string[]).includes(item) || seen.has(item as KeepCriterion)) {
      return { ok: false, given: item, accepted };
    }
    seen.add(item as KeepCriterion);
  }
  if (seen.size === 0) return { ok: false, given: text, accepted };
  return { ok: true, order: completeOrder([...seen]) };
}

/** True when a PNG's file name says it is a screenshot (English, German, French, Dutch, Swedish). */
export function isScreenshotName(filePath: string): boolean {
  return SCREENSHOT_NAME.test(baseName(filePath));
}

const SCREENSHOT_NAME =
  /screen[\s_-]?shot|bildschirmfoto|capture d.[ée]cran|schermafbeelding|skärmavbild/i;
// "IMG_1 (1)", "IMG_1 copy", "IMG_1 copy 2", "IMG_1-copy", "Copy of IMG_1", "IMG_1 - Kopie".
const COPY_NAME =
  /(\s\(\d+\)|[\s_-]copy(\s?\d+)?|\s-\s(copy|kopie|copie|copia)(\s\(\d+\))?)$|^copy of\s/i;

const FORMAT_RANK: Record<string, number> = { raw: 0, heic: 1, jpeg: 2, webp: 3, avif: 3, png: 4 };
const OTHER_FORMAT_RANK = 5;
const SCREENSHOT_RANK = 6;

function completeOrder(order: readonly KeepCriterion[]): KeepCriterion[] {
  const unique = [...new Set(order)];
  return [...unique, ...DEFAULT_KEEP_ORDER.filter((c) => !unique.includes(c))];
}

function hasSharpness(c: KeepCandidate): boolean {
  return typeof c.sharpness === 'number' && Number.isFinite(c.sharpness);
}

/** Negative when `a` is the better copy. Total and transitive, so sorting is stable in meaning. */
function compareCandidates(a: KeepCandidate, b: KeepCandidate, order: KeepCriterion[]): number {
  for (const criterion of order) {
    const diff = compareBy(criterion, a, b);
    if (diff !== 0) return diff;
  }
  return compareTieBreak(a, b);
}

function compareBy(criterion: KeepCriterion, a: KeepCandidate, b: KeepCandidate): number {
  switch (criterion) {
    case 'resolution':
      return pixels(b) - pixels(a);
    case 'bundle':
      return (b.companionBytes ?? 0) - (a.companionBytes ?? 0);
    case 'size':
      return b.size - a.size;
    case 'format':
      return formatRank(a) - formatRank(b);
    case 'exif':
      return b.exifFields - a.exifFields;
    case 'sharpness':
      return (b.sharpness ?? 0) - (a.sharpness ?? 0);
    case 'date':
      return captureTime(a) - captureTime(b);
    default:
      return unknownCriterion(criterion);
  }
}

function compareTieBreak(a: KeepCandidate, b: KeepCandidate): number {
  const copyDiff = Number(looksLikeCopy(a)) - Number(looksLikeCopy(b));
  if (copyDiff !== 0) return copyDiff;
  const mtimeDiff = (a.mtimeMs ?? Infinity) - (b.mtimeMs ?? Infinity);
  if (mtimeDiff !== 0 && Number.isFinite(mtimeDiff)) return mtimeDiff;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function keepReason(ranked: KeepCandidate[], order: KeepCriterion[]): string {
  const [best, runnerUp] = ranked;
  const why = runnerUp ? winningPhrase(best, runnerUp, order) : 'only copy';
  return `keep: ${best.mustKeep ? `${best.mustKeep}, and ${why}` : why}`;
}

function winningPhrase(best: KeepCandidate, other: KeepCandidate, order: KeepCriterion[]): string {
  const criterion = order.find((c) => compareBy(c, best, other) !== 0);
  if (criterion) return bestPhrase(criterion, best);
  if (looksLikeCopy(other) && !looksLikeCopy(best))
    return 'equal on every criterion; the other name looks like a copy';
  if (best.mtimeMs !== undefined && other.mtimeMs !== undefined && best.mtimeMs !== other.mtimeMs) {
    return `equal on every criterion; oldest file (modified ${isoDay(best.mtimeMs)})`;
  }
  return 'equal on every criterion; first by path';
}

function trashReason(
  c: KeepCandidate,
  best: KeepCandidate,
  order: KeepCriterion[],
  kind: GroupKind | undefined,
): string {
  const identical =
    kind === 'exact' || (Boolean(c.contentHash) && c.contentHash === best.contentHash);
  const relation = identical
    ? 'identical copy of'
    : kind === 'similar'
      ? 'similar to'
      : 'same picture as';
  const kept = best.mustKeep ? `${best.path} (kept: ${best.mustKeep})` : best.path;
  const criterion = order.find((k) => compareBy(k, best, c) !== 0);
  return `trash: ${relation} ${kept}, ${criterion ? worsePhrase(criterion, c, best) : tieBreakPhrase(c, best)}`;
}

function tieBreakPhrase(c: KeepCandidate, best: KeepCandidate): string {
  if (looksLikeCopy(c) && !looksLikeCopy(best))
    return 'equal otherwise; its name looks like a copy';
  if (c.mtimeMs !== undefined && best.mtimeMs !== undefined && c.mtimeMs !== best.mtimeMs) {
    return `equal otherwise; newer file (modified ${isoDay(c.mtimeMs)})`;
  }
  return 'equal on every criterion; later by path';
}

function bestPhrase(criterion: KeepCriterion, c: KeepCandidate): string {
  switch (criterion) {
    case 'resolution':
      return `highest resolution ${dims(c)}`;
    case 'bundle':
      return `carries the most companion data (${formatBytes(c.companionBytes ?? 0)} of RAW, edits or video)`;
    case 'size':
      return `largest file (${formatBytes(c.size)})`;
    case 'format':
      return `preferred format (${formatLabel(c)})`;
    case 'exif':
      return `most complete metadata (${c.exifFields} EXIF fields)`;
    case 'sharpness':
      return `sharpest (${(c.sharpness ?? 0).toPrecision(3)})`;
    case 'date':
      return `oldest capture date (${captureDay(c)})`;
    default:
      return unknownCriterion(criterion);
  }
}

function worsePhrase(criterion: KeepCriterion, c: KeepCandidate, best: KeepCandidate): string {
  switch (criterion) {
    case 'resolution':
      return `lower resolution (${dims(c)} vs ${dims(best)})`;
    case 'bundle':
      return `fewer companion files (${formatBytePair(c.companionBytes ?? 0, best.companionBytes ?? 0)} of RAW, edits or video)`;
    case 'size':
      return `smaller file (${formatBytePair(c.size, best.size)})`;
    case 'format':
      return `less preferred format (${formatLabel(c)} vs ${formatLabel(best)})`;
    case 'exif':
      return `less metadata (${c.exifFields} vs ${best.exifFields} EXIF fields)`;
    case 'sharpness':
      return `less sharp (${(c.sharpness ?? 0).toPrecision(3)} vs ${(best.sharpness ?? 0).toPrecision(3)})`;
    case 'date':
      return `captured later (${captureDay(c)} vs ${captureDay(best)})`;
    default:
      return unknownCriterion(criterion);
  }
}

function unknownCriterion(criterion: never): never {
  throw new Error(`Unknown keep criterion: ${String(criterion)}`);
}

function pixels(c: KeepCandidate): number {
  return c.width && c.height ? c.width * c.height : 0;
}

function dims(c: KeepCandidate): string {
  return c.width && c.height ? `${c.width}x${c.height}` : 'unknown size';
}

function formatRank(c: KeepCandidate): number {
  const format = (c.format ?? '').toLowerCase();
  if (format === 'png' && isScreenshotName(c.path)) return SCREENSHOT_RANK;
  return FORMAT_RANK[format] ?? OTHER_FORMAT_RANK;
}

function formatLabel(c: KeepCandidate): string {
  const label = c.format ? c.format.toUpperCase() : 'unknown format';
  return formatRank(c) === SCREENSHOT_RANK ? 'PNG screenshot' : label;
}

/** Capture time in ms; copies without a usable date sort after every dated copy. */
function captureTime(c: KeepCandidate): number {
  const ms = c.takenAt ? Date.parse(normalizeExifDate(c.takenAt)) : NaN;
  return Number.isFinite(ms) ? ms : Number.MAX_SAFE_INTEGER;
}

function captureDay(c: KeepCandidate): string {
  const ms = captureTime(c);
  return ms === Number.MAX_SAFE_INTEGER ? 'no capture date' : isoDay(ms);
}

// EXIF writes dates as "2019:10:20 18:34:30", which Date.parse does not read.
function normalizeExifDate(text: string): string {
  return text.replace(/^(\d{4}):(\d{2}):(\d{2})[ T]/, '$1-$2-$3T');
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function looksLikeCopy(c: KeepCandidate): boolean {
  const name = baseName(c.path);
  const dot = name.lastIndexOf('.');
  return COPY_NAME.test(dot > 0 ? name.slice(0, dot) : name);
}

function baseName(filePath: string): string {
  return filePath.slice(Math.max(filePath.lastIndexOf('/'), filePath.lastIndexOf('\\')) + 1);
}

// Two sizes that round alike are shown in bytes, so the reason never reads "1.2 MB vs 1.2 MB".
function formatBytePair(a: number, b: number): string {
  const [fa, fb] = [formatBytes(a), formatBytes(b)];
  return fa === fb ? `${a} vs ${b} bytes` : `${fa} vs ${fb}`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
