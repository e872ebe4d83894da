/**
 * Finds what a RAW file can show without demosaicing: its embedded JPEG previews (from the
 * container's own pointers, then by scanning for JPEG streams), its sensor size and the metadata
 * our own readers can reach where exifr cannot.
 */
import { missingCase } from '../../contract/errors';
import { findBox, listBoxes, type Box } from './bmff.reader';
import { readTiffTagBlocks, type TagBlocks } from './exif.reader';
import { carveJpegs, isDisplayableJpeg, scanJpeg, type JpegStream } from './jpeg.scanner';
import type { RawKind } from './sniff';
import { TAG, TiffReader, type Ifd } from './tiff.reader';

/** What a RAW container offers the decoder. */
export interface RawInfo {
  kind: RawKind;
  /** Sensor image size from the container's metadata (before orientation), null if unknown. */
  sensorWidth: number | null;
  sensorHeight: number | null;
  /** Displayable JPEG previews, largest first. */
  previews: JpegStream[];
  /** Bytes exifr should read for metadata (the file, or RAF's embedded JPEG), or null. */
  exifSource: Buffer | null;
  /** Metadata read by our own TIFF reader, used when exifr finds nothing in exifSource. */
  tags: TagBlocks | null;
}

/** Canon's CR3 metadata container (holds CMT1..CMT4 TIFF blocks and the THMB thumbnail). */
const CR3_METADATA_UUID = '85c0b687820f11e08111f4ce462b6a48';
/** Canon's CR3 preview container (holds the PRVW box with a ~1620x1080 JPEG). */
const CR3_PREVIEW_UUID = 'eaf42b5e1c984b88b9fbb7dc406e4d16';

/** PhotometricInterpretation of colour-filter-array and linear raw sensor data. */
const SENSOR_PHOTOMETRIC = new Set([32803, 34892]);
const SENSOR_COMPRESSIONS = new Set([
  32767, 32769, 32770, 32771, 32772, 34316, 34713, 65000, 65535,
]);

/** Reads previews, sensor size and fallback metadata from a RAW file of kind `kind`. */
export function readRawInfo(buf: Buffer, kind: RawKind): RawInfo {
  switch (kind) {
    case 'RAF':
      return readRaf(buf);
    case 'CR3':
      return readCr3(buf);
    case 'MRW':
      return readMrw(buf);
    case 'CRW':
    case 'X3F':
      return {
        kind,
        sensorWidth: null,
        sensorHeight: null,
        previews: rankPreviews(buf, []),
        exifSource: null,
        tags: null,
      };
    case 'CR2':
    case 'NEF':
    case 'ARW':
    case 'DNG':
    case 'PEF':
    case 'ORF':
    case 'RW2':
    case 'SRW':
    case 'TIFF-RAW':
      return readTiffRaw(buf, kind);
    default:
      return missingCase(kind);
  }
}

/** Candidates found through the container's pointers plus every JPEG stream in the file. */
function rankPreviews(buf: Buffer, pointed: (JpegStream | null)[]): JpegStream[] {
  const byStart = new Map<number, JpegStream>();
  for (const stream of [...pointed, ...carveJpegs(buf)]) {
    if (stream && isDisplayableJpeg(stream) && !byStart.has(stream.start)) {
      byStart.set(stream.start, stream);
    }
  }
  return [...byStart.values()].sort((a, b) => b.width * b.height - a.width * a.height);
}

/** The JPEG in [offset, offset + length) of `buf`, when there is one. */
function jpegAt(buf: Buffer, offset: number | null, length: number | null): JpegStream | null {
  if (offset === null || !length || offset <= 0 || offset >= buf.length) return null;
  return scanJpeg(buf, offset, Math.min(buf.length, offset + length));
}

function readTiffRaw(buf: Buffer, kind: RawKind): RawInfo {
  const reader = TiffReader.open(buf);
  const ifds = reader?.collectIfds(true) ?? [];
  const ifd0 = reader?.readIfd(reader.firstIfdOffset) ?? null;
  const pointed: (JpegStream | null)[] = [];
  for (const ifd of reader ? ifds : []) {
    const r = reader as TiffReader;
    const e = ifd.entries;
    pointed.push(jpegAt(buf, r.uint(e.get(TAG.JPEG_OFFSET)), r.uint(e.get(TAG.JPEG_LENGTH))));
    const compression = r.uint(e.get(TAG.COMPRESSION));
    if (compression === 6 || compression === 7) {
      pointed.push(
        jpegAt(buf, r.uint(e.get(TAG.STRIP_OFFSETS)), r.uint(e.get(TAG.STRIP_BYTE_COUNTS))),
      );
    }
    const rw2Jpeg = e.get(TAG.RW2_JPG_FROM_RAW);
    if (rw2Jpeg) pointed.push(jpegAt(buf, rw2Jpeg.valueOffset, rw2Jpeg.count));
  }
  const sensor = reader ? tiffSensorSize(reader, ifds, ifd0, kind) : null;
  return {
    kind,
    sensorWidth: sensor?.[0] ?? null,
    sensorHeight: sensor?.[1] ?? null,
    previews: rankPreviews(buf, pointed),
    exifSource: buf,
    tags: reader ? readTiffTagBlocks(reader, ifd0) : null,
  };
}

/**
 * Sensor size of a TIFF-based RAW: Panasonic's sensor borders, else the largest directory
 * holding sensor data, else the EXIF pixel dimensions (CR2 keeps no size on its raw directory).
 */
function tiffSensorSize(
  reader: TiffReader,
  ifds: Ifd[],
  ifd0: Ifd | null,
  kind: RawKind,
): [number, number] | null {
  const get = (ifd: Ifd | null, tag: number): number | null => reader.uint(ifd?.entries.get(tag));
  if (kind === 'RW2' && ifd0) {
    const [top, left, bottom, right] = [4, 5, 6, 7].map((tag) => get(ifd0, tag));
    if (
      top !== null &&
      left !== null &&
      bottom !== null &&
      right !== null &&
      right > left &&
      bottom > top
    ) {
      return [right - left, bottom - top];
    }
    const [w, h] = [get(ifd0, 2), get(ifd0, 3)];
    if (w && h) return [w, h];
  }
  let best: [number, number] | null = null;
  for (const ifd of ifds) {
    const photometric = get(ifd, TAG.PHOTOMETRIC);
    const compression = get(ifd, TAG.COMPRESSION);
    const isSensor =
      (photometric !== null && SENSOR_PHOTOMETRIC.has(photometric)) ||
      (compression !== null && SENSOR_COMPRESSIONS.has(compression)) ||
      (kind === 'ORF' && ifd === ifds[0]);
    const w = get(ifd, TAG.IMAGE_WIDTH);
    const h = get(ifd, TAG.IMAGE_LENGTH);
    if (isSensor && w && h && (!best || w * h > best[0] * best[1])) best = [w, h];
  }
  if (best) return best;
  for (const ifd of ifds) {
    const w = get(ifd, TAG.EXIF_IMAGE_WIDTH);
    const h = get(ifd, TAG.EXIF_IMAGE_HEIGHT);
    if (w && h) return [w, h];
  }
  return null;
}

/**
 * Fujifilm RAF: a fixed header pointing at an embedded JPEG (which also holds the EXIF), and a
 * tag directory whose 0x0111 (cropped) or 0x0100 (full) entry gives the sensor size.
 */
function readRaf(buf: Buffer): RawInfo {
  const u32 = (at: number): number | null => (at + 4 <= buf.length ? buf.readUInt32BE(at) : null);
  const jpegOffset = u32(84);
  const jpegLength = u32(88);
  const embedded = jpegAt(buf, jpegOffset, jpegLength);
  const sensor = readRafSensorSize(buf, u32(92));
  const exifSource =
    jpegOffset && jpegLength && jpegOffset + 4 < buf.length
      ? buf.subarray(jpegOffset, Math.min(buf.length, jpegOffset + jpegLength))
      : null;
  return {
    kind: 'RAF',
    sensorWidth: sensor?.[0] ?? null,
    sensorHeight: sensor?.[1] ?? null,
    previews: rankPreviews(buf, [embedded]),
    exifSource,
    tags: null,
  };
}

function readRafSensorSize(buf: Buffer, dirOffset: number | null): [number, number] | null {
  if (!dirOffset || dirOffset + 4 > buf.length) return null;
  const count = buf.readUInt32BE(dirOffset);
  const sizes = new Map<number, [number, number]>();
  let p = dirOffset + 4;
  for (let i = 0; i < Math.min(count, 256) && p + 4 <= buf.length; i++) {
    const tag = buf.readUInt16BE(p);
    const size = buf.readUInt16BE(p + 2);
    if ((tag === 0x0100 || tag === 0x0111) && size === 4 && p + 8 <= buf.length) {
      // Stored as height, then width.
      sizes.set(tag, [buf.readUInt16BE(p + 6), buf.readUInt16BE(p + 4)]);
    }
    p += 4 + size;
  }
  const found = sizes.get(0x0111) ?? sizes.get(0x0100) ?? null;
  return found && found[0] > 0 && found[1] > 0 ? found : null;
}

/**
 * Canon CR3 (ISO media): metadata in CMT1 (IFD0), CMT2 (EXIF) and CMT4 (GPS) TIFF boxes, a
 * 160x120 THMB thumbnail, a PRVW preview in its own uuid box, and a full-size JPEG in the first
 * track (found by the stream scan).
 */
function readCr3(buf: Buffer): RawInfo {
  const moov = findBox(buf, 'moov', 0);
  const uuidOf = (box: Box): string => buf.toString('hex', box.content, box.content + 16);
  const meta = moov
    ? listBoxes(buf, moov.content, moov.end).find(
        (b) => b.type === 'uuid' && uuidOf(b) === CR3_METADATA_UUID,
      )
    : undefined;
  const metaBoxes = meta ? listBoxes(buf, meta.content + 16, meta.end) : [];
  const tiffIn = (type: string): { reader: TiffReader; ifd0: Ifd | null } | null => {
    const box = metaBoxes.find((b) => b.type === type);
    const reader = box ? TiffReader.open(buf, box.content) : null;
    return reader ? { reader, ifd0: reader.readIfd(reader.firstIfdOffset) } : null;
  };
  const cmt1 = tiffIn('CMT1');
  const cmt2 = tiffIn('CMT2');
  const cmt4 = tiffIn('CMT4');
  const tags: TagBlocks = cmt1 ? readTiffTagBlocks(cmt1.reader, cmt1.ifd0) : {};
  if (cmt2) tags.exif = readTiffTagBlocks(cmt2.reader, cmt2.ifd0).ifd0;
  if (cmt4) tags.gps = readTiffTagBlocks(cmt4.reader, cmt4.ifd0).ifd0;

  const jpegInside = (box: Box | undefined): JpegStream | null => {
    if (!box) return null;
    const at = buf.indexOf(Buffer.from([0xff, 0xd8, 0xff]), box.content);
    return at >= 0 && at < box.end ? scanJpeg(buf, at, box.end) : null;
  };
  const previewUuid = listBoxes(buf, 0).find(
    (b) => b.type === 'uuid' && uuidOf(b) === CR3_PREVIEW_UUID,
  );
  const pointed = [jpegInside(metaBoxes.find((b) => b.type === 'THMB')), jpegInside(previewUuid)];

  const dim = (part: typeof cmt1, wTag: number, hTag: number): [number, number] | null => {
    const w = part?.reader.uint(part.ifd0?.entries.get(wTag));
    const h = part?.reader.uint(part.ifd0?.entries.get(hTag));
    return w && h ? [w, h] : null;
  };
  const sensor =
    dim(cmt1, TAG.IMAGE_WIDTH, TAG.IMAGE_LENGTH) ??
    dim(cmt2, TAG.EXIF_IMAGE_WIDTH, TAG.EXIF_IMAGE_HEIGHT);
  return {
    kind: 'CR3',
    sensorWidth: sensor?.[0] ?? null,
    sensorHeight: sensor?.[1] ?? null,
    previews: rankPreviews(buf, pointed),
    exifSource: null,
    tags: cmt1 || cmt2 ? tags : null,
  };
}

/**
 * Minolta MRW: a chain of blocks after an 8-byte header; PRD holds the image size, TTW a TIFF
 * with the camera's IFD0 and EXIF.
 */
function readMrw(buf: Buffer): RawInfo {
  const end = buf.length >= 8 ? Math.min(buf.length, 8 + buf.readUInt32BE(4)) : 0;
  let sensor: [number, number] | null = null;
  let tags: TagBlocks | null = null;
  for (let p = 8; p + 8 <= end;) {
    const name = buf.toString('latin1', p, p + 4);
    const length = buf.readUInt32BE(p + 4);
    const data = p + 8;
    if (name === '\0PRD' && data + 16 <= buf.length) {
      // Image size (the sensor's active area) at 12/14, as height then width.
      sensor = [buf.readUInt16BE(data + 14), buf.readUInt16BE(data + 12)];
    } else if (name === '\0TTW') {
      const reader = TiffReader.open(buf, data);
      if (reader) tags = readTiffTagBlocks(reader, reader.readIfd(reader.firstIfdOffset));
    }
    p = data + length;
  }
  return {
    kind: 'MRW',
    sensorWidth: sensor?.[0] || null,
    sensorHeight: sensor?.[1] || null,
    previews: rankPreviews(buf, []),
    exifSource: null,
    tags,
  };
}
