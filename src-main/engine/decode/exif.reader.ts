/**
 * Reads the metadata a photo carries (date taken, camera, orientation, Apple burst and Live
 * Photo identifiers, how complete its EXIF is) with exifr from the bytes already in memory, or
 * with our own TIFF reader for RAW containers exifr does not open.
 */
import * as exifr from 'exifr';
import { TAG, TiffReader, type Ifd } from './tiff.reader';

/** The metadata fields of PhotoMeta that come from EXIF, XMP and maker notes. */
export interface ExifSummary {
  takenAt: string | null;
  camera: string | null;
  orientation: number | null;
  burstId: string | null;
  contentId: string | null;
  hasExif: boolean;
  exifFieldCount: number;
}

/** Tag blocks keyed by numeric tag (as exifr gives them with translateKeys off). */
export interface TagBlocks {
  ifd0?: Record<string, unknown>;
  exif?: Record<string, unknown>;
  gps?: Record<string, unknown>;
  makerNote?: Uint8Array;
  /** Any other block (XMP namespaces...), searched by name for Apple identifiers. */
  [block: string]: unknown;
}

/** The summary of a file without metadata. */
export const NO_EXIF: ExifSummary = {
  takenAt: null,
  camera: null,
  orientation: null,
  burstId: null,
  contentId: null,
  hasExif: false,
  exifFieldCount: 0,
};

const T = {
  MAKE: 0x010f,
  MODEL: 0x0110,
  ORIENTATION: 0x0112,
  DATE_TIME_ORIGINAL: 0x9003,
  CREATE_DATE: 0x9004,
  OFFSET_TIME_ORIGINAL: 0x9011,
  OFFSET_TIME_DIGITIZED: 0x9012,
  SUB_SEC_ORIGINAL: 0x9291,
  SUB_SEC_DIGITIZED: 0x9292,
  MAKER_NOTE: 0x927c,
} as const;

/**
 * Tags that describe the file's layout rather than the photo (sizes, strips, pointers, embedded
 * blobs). They are not counted as EXIF fields, so a bare TIFF does not look richly tagged.
 */
const STRUCTURAL_TAGS = new Set([
  0x00fe, 0x00ff, 0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x010a, 0x0111, 0x0115, 0x0116, 0x0117,
  0x011a, 0x011b, 0x011c, 0x0124, 0x0125, 0x0128, 0x013d, 0x0140, 0x0142, 0x0143, 0x0144, 0x0145,
  0x014a, 0x0152, 0x0153, 0x0201, 0x0202, 0x0211, 0x0212, 0x0213, 0x0214, 0x02bc, 0x83bb, 0x8649,
  0x8769, 0x8773, 0x8825, 0x927c, 0xa005, 0xa002, 0xa003,
]);

/** Apple maker note tags (ExifTool's Apple table): BurstUUID, and the Live Photo pairing id. */
const APPLE_BURST_UUID = 0x000b;
const APPLE_CONTENT_IDENTIFIER = 0x0011;

const EXIFR_OPTIONS = {
  tiff: true,
  exif: true,
  gps: true,
  ifd1: false,
  interop: false,
  makerNote: true,
  userComment: false,
  xmp: true,
  icc: false,
  iptc: false,
  jfif: false,
  ihdr: false,
  mergeOutput: false,
  translateKeys: false,
  translateValues: false,
  reviveValues: false,
  sanitize: true,
  silentErrors: true,
} as Parameters<typeof exifr.parse>[1];

/**
 * exifr's tag blocks for `input` (a whole JPEG, TIFF, PNG, HEIC or AVIF file, or a bare TIFF/EXIF
 * block), or null when it finds none or does not know the format. Never throws.
 */
export async function readTagBlocks(input: Buffer): Promise<TagBlocks | null> {
  try {
    const blocks = (await exifr.parse(input, EXIFR_OPTIONS)) as TagBlocks | undefined;
    return blocks && typeof blocks === 'object' ? blocks : null;
  } catch {
    return null;
  }
}

/**
 * Tag blocks read by our own TIFF reader from IFD0 and its EXIF and GPS directories: for RAW
 * containers exifr does not open (ORF's magic, CR3's CMT boxes).
 */
export function readTiffTagBlocks(reader: TiffReader, ifd0: Ifd | null): TagBlocks {
  const toRecord = (ifd: Ifd | null): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const entry of ifd?.entries.values() ?? []) {
      out[entry.tag] = entry.type === 2 ? reader.string(entry) : reader.uint(entry);
    }
    return out;
  };
  const sub = (tag: number): Ifd | null => {
    const offset = reader.uint(ifd0?.entries.get(tag));
    return offset ? reader.readIfd(offset) : null;
  };
  const blocks: TagBlocks = { ifd0: toRecord(ifd0) };
  const exif = sub(TAG.EXIF_IFD);
  if (exif) blocks.exif = toRecord(exif);
  const gps = sub(TAG.GPS_IFD);
  if (gps) blocks.gps = toRecord(gps);
  return blocks;
}

/** Merges blocks read from several places (CR3 keeps IFD0 and EXIF in separate boxes). */
export function mergeTagBlocks(...parts: (TagBlocks | null)[]): TagBlocks | null {
  const present = parts.filter((p): p is TagBlocks => p !== null);
  if (!present.length) return null;
  const out: TagBlocks = {};
  for (const part of present) {
    for (const [name, block] of Object.entries(part)) {
      const prev = out[name];
      out[name] =
        block instanceof Uint8Array || typeof block !== 'object' || block === null
          ? (prev ?? block)
          : { ...(block as object), ...((prev as object | undefined) ?? {}) };
    }
  }
  return out;
}

/** Summarises tag blocks into the fields PhotoMeta carries. */
export function summarizeTagBlocks(blocks: TagBlocks | null): ExifSummary {
  if (!blocks) return NO_EXIF;
  const ifd0 = blocks.ifd0 ?? {};
  const exif = blocks.exif ?? {};
  const exifFieldCount = [blocks.ifd0, blocks.exif, blocks.gps].reduce(
    (sum, block) => sum + countFields(block),
    0,
  );
  const orientation = Number(ifd0[T.ORIENTATION]);
  const apple = readAppleIds(blocks.makerNote);
  const xmpIds = findXmpIds(blocks);
  return {
    takenAt: readTakenAt(exif),
    camera: formatCamera(ifd0[T.MAKE], ifd0[T.MODEL]),
    orientation:
      Number.isInteger(orientation) && orientation >= 1 && orientation <= 8 ? orientation : null,
    burstId: apple.burstId ?? xmpIds.burstId,
    contentId: apple.contentId ?? xmpIds.contentId,
    hasExif: exifFieldCount > 0,
    exifFieldCount,
  };
}

/** Tags of a block that came from binary EXIF (numeric keys) and describe the photo. */
function countFields(block: Record<string, unknown> | undefined): number {
  if (!block) return 0;
  return Object.keys(block).filter((key) => /^\d+$/.test(key) && !STRUCTURAL_TAGS.has(Number(key)))
    .length;
}

function readTakenAt(exif: Record<string, unknown>): string | null {
  return (
    formatExifDate(
      exif[T.DATE_TIME_ORIGINAL],
      exif[T.SUB_SEC_ORIGINAL],
      exif[T.OFFSET_TIME_ORIGINAL],
    ) ??
    formatExifDate(exif[T.CREATE_DATE], exif[T.SUB_SEC_DIGITIZED], exif[T.OFFSET_TIME_DIGITIZED]) ??
    // XMP's exif:DateTimeOriginal lands in the same block under its name (already ISO 8601).
    formatExifDate(exif.DateTimeOriginal, undefined, undefined)
  );
}

const DATE_PATTERN =
  /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?/;

/**
 * An EXIF date ("2019:10:20 18:34:30", optionally with sub-seconds and an offset tag) as ISO 8601
 * local time ("2019-10-20T18:34:30.12+02:00"), or null for a missing or impossible date.
 * EXIF dates carry no zone unless the OffsetTime tags exist, so none is invented.
 */
export function formatExifDate(value: unknown, subSec: unknown, offset: unknown): string | null {
  if (typeof value !== 'string') return null;
  const m = DATE_PATTERN.exec(value.trim());
  if (!m) return null;
  const [, year, month, day, hour, minute, second = '00', inlineFraction, inlineZone] = m;
  const valid =
    Number(year) >= 1800 &&
    Number(month) >= 1 &&
    Number(month) <= 12 &&
    Number(day) >= 1 &&
    Number(day) <= 31 &&
    Number(hour) <= 23 &&
    Number(minute) <= 59 &&
    Number(second) <= 60;
  if (!valid) return null;
  let iso = `${year}-${month}-${day}T${hour}:${minute}:${second}`;
  const fraction = inlineFraction ?? /^\d+/.exec(String(subSec ?? '').trim())?.[0];
  if (fraction) iso += `.${fraction.slice(0, 3)}`;
  const zone = inlineZone ?? (typeof offset === 'string' ? offset.trim() : '');
  if (zone === 'Z') iso += 'Z';
  else if (/^[+-]\d{2}:?\d{2}$/.test(zone))
    iso += zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  return iso;
}

/**
 * "Make Model", trimmed. When the model already starts with the maker's name as a word ("Canon" /
 * "Canon EOS 350D", "NIKON CORPORATION" / "NIKON D70") the model alone is given, as photo apps
 * show it; "OM Digital Solutions" / "OM-1" stays whole.
 */
export function formatCamera(make: unknown, model: unknown): string | null {
  const clean = (v: unknown): string => (typeof v === 'string' ? v.replace(/\0/g, '').trim() : '');
  const mk = clean(make);
  const md = clean(model);
  if (!mk) return md || null;
  if (!md) return mk;
  const brand = mk.split(/\s+/)[0].toLowerCase();
  const lower = md.toLowerCase();
  const named =
    lower.startsWith(mk.toLowerCase()) || lower === brand || lower.startsWith(`${brand} `);
  return named ? md : `${mk} ${md}`;
}

/** BurstUUID and the Live Photo content identifier from an Apple iOS maker note. */
function readAppleIds(note: Uint8Array | undefined): {
  burstId: string | null;
  contentId: string | null;
} {
  const none = { burstId: null, contentId: null };
  if (!(note instanceof Uint8Array) || note.length < 16) return none;
  const buf = Buffer.from(note.buffer, note.byteOffset, note.byteLength);
  if (buf.toString('latin1', 0, 10) !== 'Apple iOS\0') return none;
  const order = buf.toString('latin1', 12, 14);
  if (order !== 'MM' && order !== 'II') return none;
  // The directory starts after the 14-byte header; its offsets count from the note's start.
  const reader = TiffReader.withByteOrder(buf, 0, order === 'II');
  const ifd = reader.readIfd(14);
  if (!ifd) return none;
  const text = (tag: number): string | null => {
    const value = reader.string(ifd.entries.get(tag));
    return value && /^[\w-]{8,}$/.test(value) ? value : null;
  };
  return { burstId: text(APPLE_BURST_UUID), contentId: text(APPLE_CONTENT_IDENTIFIER) };
}

/** Burst and content identifiers written into XMP by Apple tools, whatever the namespace. */
function findXmpIds(blocks: TagBlocks): { burstId: string | null; contentId: string | null } {
  let burstId: string | null = null;
  let contentId: string | null = null;
  for (const [name, block] of Object.entries(blocks)) {
    if (
      ['ifd0', 'exif', 'gps', 'makerNote'].includes(name) ||
      !block ||
      typeof block !== 'object'
    ) {
      continue;
    }
    for (const [key, value] of Object.entries(block as Record<string, unknown>)) {
      if (typeof value !== 'string' || !value.trim()) continue;
      if (!burstId && /^(BurstUUID|BurstID)$/i.test(key)) burstId = value.trim();
      if (!contentId && /^(ContentIdentifier|MediaGroupUUID)$/i.test(key)) contentId = value.trim();
    }
  }
  return { burstId, contentId };
}
